"""The embedded default needs neither extra: with redis-py and psycopg missing, every product
module imports and the demo answers (the README's first Quickstart command installs no extra)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SUBPROCESS_TIMEOUT_S = 120

# Runs in a child: imports of the extras' packages fail as if they were not installed.
_WITHOUT_EXTRAS = """
import importlib.abc, pkgutil, runpy, sys

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("redis", "psycopg", "psycopg_pool"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NotInstalled())
for package in ("core", "messages", "resilience", "supervision", "market", "storage", "users",
                "cluster", "ops", "chat", "actors"):
    module = __import__(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        __import__(info.name)
sys.argv = ["bot.py", "demo"]
runpy.run_path("bot.py", run_name="__main__")
"""


def test_without_redis_py_or_psycopg_the_product_imports_and_the_demo_answers() -> None:
    result = subprocess.run([sys.executable, "-c", _WITHOUT_EXTRAS], cwd=REPO_ROOT,
                            input="/price btc\n/actors\n", capture_output=True, text=True,
                            timeout=SUBPROCESS_TIMEOUT_S)

    assert result.returncode == 0, result.stderr[-2000:]
    assert "BTCUSDT" in result.stdout
    assert "ModuleNotFoundError" not in result.stderr

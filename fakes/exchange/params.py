"""Query-parameter validation with Binance's error codes, kept apart from the HTTP server.

A client is only as good as its handling of the answers it gets when it is wrong, so the
simulator rejects what Binance rejects, with the same ``{"code", "msg"}`` bodies: an illegal
character is -1100 (including a lower-case symbol, which is *not* -1121), a missing mandatory
parameter -1102, an unknown symbol -1121, ``symbol`` together with ``symbols`` -1128, and so on.
The regular expressions are the ones Binance quotes back in its -1100 messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from fakes.loopback import ApiError

__all__ = [
    "BinanceError",
    "Params",
    "SYMBOLS_PATTERN",
    "SYMBOL_PATTERN",
]

SYMBOL_PATTERN = r"^[A-Z0-9-_.]{1,20}$"
SYMBOLS_PATTERN = r'^\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\]$'
_DIGITS_PATTERN = r"^[0-9]{1,20}$"
_SYMBOL_RE = re.compile(SYMBOL_PATTERN)
_SYMBOLS_RE = re.compile(SYMBOLS_PATTERN)
_DIGITS_RE = re.compile(_DIGITS_PATTERN)


class BinanceError(ApiError):
    """A request Binance would refuse; carries the HTTP status and the error body."""

    def __init__(self, code: int, msg: str, *, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}

    @classmethod
    def illegal_chars(cls, name: str, pattern: str) -> BinanceError:
        return cls(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is '{pattern}'."
        )

    @classmethod
    def mandatory(cls, name: str) -> BinanceError:
        return cls(
            -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        )

    @classmethod
    def not_valid(cls, name: str) -> BinanceError:
        return cls(-1130, f"Data sent for parameter '{name}' is not valid.")

    @classmethod
    def invalid_symbol(cls) -> BinanceError:
        return cls(-1121, "Invalid symbol.")

    @classmethod
    def symbol_and_symbols(cls) -> BinanceError:
        return cls(
            -1128,
            "Combination of optional parameters invalid. "
            "Recommendation: 'symbol' and 'symbols' cannot both be sent.",
        )


class Params:
    """The query of one request, with typed, Binance-validated accessors."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        self._duplicated = False
        for name, value in pairs:
            if name in self._values:
                self._duplicated = True
            self._values[name] = value

    @property
    def values(self) -> Mapping[str, str]:
        return dict(self._values)

    def check_no_duplicates(self) -> None:
        if self._duplicated:
            raise BinanceError(-1101, "Duplicate values for a parameter detected.")

    def has(self, name: str) -> bool:
        return name in self._values

    def text(self, name: str, *, mandatory: bool = False) -> str | None:
        """The raw value; absent optional parameters are None, empty ones are refused."""
        value = self._values.get(name)
        if value is None:
            if mandatory:
                raise BinanceError.mandatory(name)
            return None
        if value == "":
            if mandatory:
                raise BinanceError.mandatory(name)
            raise BinanceError(-1105, f"Parameter '{name}' was empty.")
        return value

    def symbol(self, *, mandatory: bool = False) -> str | None:
        value = self.text("symbol", mandatory=mandatory)
        if value is not None and not _SYMBOL_RE.match(value):
            raise BinanceError.illegal_chars("symbol", SYMBOL_PATTERN)
        return value

    def symbols(self) -> list[str] | None:
        """The ``symbols`` JSON array, which must be upper-case and free of spaces."""
        value = self.text("symbols")
        if value is None:
            return None
        if not _SYMBOLS_RE.match(value):
            raise BinanceError.illegal_chars("symbols", SYMBOLS_PATTERN)
        names = [str(name) for name in json.loads(value)]
        if not names:
            raise BinanceError.mandatory("symbols")
        if len(set(names)) != len(names):
            raise BinanceError(-1151, "Symbol is present multiple times in the list.")
        return names

    def symbol_or_symbols(self) -> tuple[str | None, list[str] | None]:
        """The usual optional pair of ticker endpoints, which may not be sent together."""
        if self.has("symbol") and self.has("symbols"):
            raise BinanceError.symbol_and_symbols()
        return self.symbol(), self.symbols()

    def count_symbols_leniently(self) -> int | None:
        """How many symbols ``symbols`` names, without validating (weight is charged anyway)."""
        value = self._values.get("symbols")
        if value is None:
            return None
        try:
            names = json.loads(value)
        except ValueError:
            return 1
        return len(names) if isinstance(names, list) else 1

    def integer(self, name: str, *, default: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        if not _DIGITS_RE.match(value):
            raise BinanceError.illegal_chars(name, _DIGITS_PATTERN)
        return int(value)

    def choice(
        self, name: str, allowed: tuple[str, ...], *, default: str | None = None, code: int = -1130
    ) -> str | None:
        value = self.text(name)
        if value is None:
            return default
        if value not in allowed:
            raise BinanceError(code, f"Data sent for parameter '{name}' is not valid.")
        return value

    def utc_time_zone(self) -> None:
        """Accept only ``timeZone`` values meaning UTC; other offsets are not simulated."""
        value = self.text("timeZone")
        if value is None:
            return
        match = re.fullmatch(r"([+-]?)(\d{1,2})(?::(\d{2}))?", value)
        if match is None or int(match.group(2)) != 0 or int(match.group(3) or 0) != 0:
            raise BinanceError.not_valid("timeZone")

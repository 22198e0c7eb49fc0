"""Webhook mode's settings and the check that its plain-HTTP listener is not exposed.

Why a module of its own: what a webhook listens on and whether that is safe is decided from
configuration before any event loop exists (``actors.telegram_io`` builds and checks it), and
none of it needs PTB; :mod:`actors.telegram_loop` only consumes the finished settings.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

__all__ = ["WebhookSettings", "exposure_warning"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSettings:
    """Where PTB's webhook server listens, the public URL Telegram posts to, and its secret.

    Why a secret is required: anyone who can reach the URL could otherwise post an update
    with any ``from.id`` (an admin's) and act as that user. setWebhook hands the secret to
    Telegram, which sends it as ``X-Telegram-Bot-Api-Secret-Token`` with every update; PTB's
    server answers 403 to a request without the matching header.
    """

    listen: str
    port: int
    url: str
    secret_token: str
    """1-256 characters of ``A-Za-z0-9_-`` (Telegram's rule); never logged."""
    behind_tls_proxy: bool = False
    """A TLS-terminating proxy forwards to ``listen`` (silences :func:`exposure_warning`)."""

    def __post_init__(self) -> None:
        if not _SECRET_TOKEN.fullmatch(self.secret_token):
            raise ValueError("a webhook needs a secret token of 1-256 characters A-Za-z0-9_-")


_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def exposure_warning(webhook: WebhookSettings) -> str | None:
    """Why this webhook listener may be exposed in plain HTTP, or None when it is not.

    PTB's server speaks plain HTTP here. On loopback only a local proxy reaches it; on any
    other address the secret and every update cross the network in clear unless a TLS
    proxy is in front, which only the operator knows (``webhook_behind_tls_proxy``).
    """
    if webhook.behind_tls_proxy or _is_loopback(webhook.listen):
        return None
    return (f"the webhook server listens on {webhook.listen}:{webhook.port} in plain HTTP; "
            f"listen on 127.0.0.1 behind a TLS-terminating proxy, or set "
            f"webhook_behind_tls_proxy = true if one is already in front")


def _is_loopback(listen: str) -> bool:
    if listen.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(listen.strip().strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False

"""A checked /alert request + the user's settings + the price now → what storage will keep.

Why pure: the handler (``actors/chat_storage.py``) only gathers the inputs (the resolved
coin, the user's settings, the current price for a percentage move, the clock) and sends the
result to the writer; the arithmetic and the defaults are decided here, where tests can reach
them without threads:

* percent: the level is the price when set moved by the percentage (+5% from 65,000 is above
  68,250), and that price is kept as ``base_price``; with no price there is no alert
  (:class:`NoBasePrice`), never a level guessed from nothing;
* rsi: no interval given means the user's default interval (their settings);
* every: the cool-down is the user's setting at the time the alert is set;
* for: the alert ends at now + the duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chat.arguments import AlertKind, AlertRequest, Direction
from core.errors import BotError
from messages.storage import AddAlert

if TYPE_CHECKING:
    import pykka

    from users.settings import UserSettings

__all__ = ["AlertPlan", "NoBasePrice", "plan_alert"]


class NoBasePrice(BotError):
    """A percentage alert was asked for, but the current price to measure from is missing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertPlan:
    """One alert ready to store, with what its confirmation tells the user."""

    symbol: str
    """Exchange symbol, e.g. BTCUSDT."""
    kind: AlertKind
    """price, percent or rsi."""
    direction: Direction
    """above or below."""
    level: float
    """The price level (percent: computed from ``base_price``); rsi: the RSI level."""
    percent: float | None = None
    """percent: the signed move asked for (+5.0, -10.0); None otherwise."""
    base_price: float | None = None
    """percent: the price the move is measured from."""
    interval: str | None = None
    """rsi: the interval whose closed candles give RSI(14)."""
    recurring: bool = False
    """Re-arms after the condition clears."""
    cooldown_s: float = 0.0
    """recurring: least seconds between two firings; 0 for a one-shot alert."""
    expires_at: float | None = None
    """Epoch seconds it ends unfired; None: never."""

    def message(self, *, request_id: str, user_id: int, chat_id: int,
                reply_to: pykka.Future[Any] | None) -> AddAlert:
        """The writer's message for this alert."""
        return AddAlert(request_id=request_id, user_id=user_id, chat_id=chat_id,
                        symbol=self.symbol, direction=self.direction, price=self.level,
                        kind=self.kind, interval=self.interval, base_price=self.base_price,
                        recurring=self.recurring, cooldown_s=self.cooldown_s,
                        expires_at=self.expires_at, reply_to=reply_to)


def plan_alert(wanted: AlertRequest, symbol: str, settings: UserSettings, *, now: float,
               price: float | None = None) -> AlertPlan:
    """The alert to store; raises :class:`NoBasePrice` for a percentage without a ``price``."""
    common: dict[str, Any] = {
        "symbol": symbol, "direction": wanted.direction, "recurring": wanted.recurring,
        "cooldown_s": settings.cooldown_s if wanted.recurring else 0.0,
        "expires_at": None if wanted.expires_in_s is None else now + wanted.expires_in_s,
    }
    match wanted.kind:
        case "percent":
            if price is None or not price > 0:
                raise NoBasePrice(f"no price for {symbol} to measure {wanted.price}% from")
            signed = wanted.price if wanted.direction == "above" else -wanted.price
            return AlertPlan(kind="percent", level=price * (1 + signed / 100), percent=signed,
                             base_price=price, **common)
        case "rsi":
            return AlertPlan(kind="rsi", level=wanted.price,
                             interval=wanted.interval or settings.interval, **common)
        case _:
            return AlertPlan(kind="price", level=wanted.price, **common)

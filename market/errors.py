"""Errors raised on purpose by the market package.

Hierarchy (extends ``core.errors``)::

    BotError
    └── MarketError                 market.errors: anything about market data
        ├── InvalidCandles          candle data breaks an invariant (shape, finiteness, order)
        ├── InvalidSymbolFormat     the text cannot be a symbol at all ("$$$", "")   permanent
        ├── UnknownSymbol           no such live pair; carries did-you-mean suggestions  permanent
        └── ExchangeError           a call to the exchange did not give a usable answer
            ├── BadRequest          another 4xx (-11xx code): our request was wrong   permanent
            ├── MalformedResponse   bad JSON or the wrong shape: never a crash or a wrong number
            ├── Throttled           no request may go out for ``retry_after_s``
            │   ├── RateLimited            429 from Binance (and the quiet period after it)
            │   ├── IpBanned               418: banned until ``until_ms`` (Binance's wall clock)
            │   └── WeightBudgetExhausted  our own weight budget is spent for now
            └── ExchangeUnavailable  no answer from any base URL (failover exhausted)
                ├── ExchangeConnectionError  refused, reset or dropped connection
                ├── ExchangeTimeout          connect or read timeout
                ├── ExchangeRefused          403/451, or a 4xx that is not Binance's
                └── UpstreamError            5xx after urllib3's retries

Errors carry their data as attributes so callers never parse messages: ``permanent = True``
means never retry, and a numeric ``retry_after_s`` is how long to wait.
"""

from __future__ import annotations

from typing import ClassVar

from core.errors import BotError

__all__ = [
    "BadRequest",
    "ExchangeConnectionError",
    "ExchangeError",
    "ExchangeRefused",
    "ExchangeTimeout",
    "ExchangeUnavailable",
    "InvalidCandles",
    "InvalidSymbolFormat",
    "IpBanned",
    "MalformedResponse",
    "MarketError",
    "RateLimited",
    "Throttled",
    "UnknownSymbol",
    "UpstreamError",
    "WeightBudgetExhausted",
    "user_reason",
]


class MarketError(BotError):
    """Base class of the market package's errors."""


class InvalidCandles(MarketError):
    """Candle data was rejected; ``index`` is the first offending row when one is to blame."""

    def __init__(self, reason: str, index: int | None = None) -> None:
        self.reason = reason
        self.index = index
        where = "" if index is None else f" (row {index})"
        super().__init__(f"invalid candles{where}: {reason}")


class InvalidSymbolFormat(MarketError):
    """``text`` cannot be read as a symbol; ``reason`` is a hint fit to show the user."""

    permanent: ClassVar[bool] = True

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"{text!r} is not a symbol: {reason}")


class UnknownSymbol(MarketError):
    """No live pair matches ``text``; ``suggestions`` are close live symbols, best first.

    ``status`` is set when the pair exists but is not TRADING (HALT, BREAK, ...); ``code`` is
    Binance's error code (-1121 or -1100) when the exchange itself refused the symbol.
    """

    permanent: ClassVar[bool] = True

    def __init__(
        self,
        text: str,
        suggestions: tuple[str, ...] = (),
        *,
        status: str | None = None,
        code: int | None = None,
    ) -> None:
        self.text = text
        self.suggestions = suggestions
        self.status = status
        self.code = code
        if status is not None:
            detail = f"{text!r} is not trading (status {status})"
        else:
            detail = f"unknown symbol {text!r}"
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(detail + hint)


class ExchangeError(MarketError):
    """A request to the exchange did not give a usable answer."""


class BadRequest(ExchangeError):
    """Binance refused the request as malformed (4xx with a -11xx ``code``); never retried."""

    permanent: ClassVar[bool] = True

    def __init__(self, url: str, status: int, code: int | None, msg: str) -> None:
        self.url = url
        self.status = status
        self.code = code
        self.msg = msg
        super().__init__(f"HTTP {status} (code {code}) from {url}: {msg}")


_MAX_REASON = 300


class MalformedResponse(ExchangeError):
    """The answer was not JSON, or not the shape the endpoint documents."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        # The reason quotes the offending value; a hostile 1 MB value must not become a 1 MB
        # log line or exception text.
        self.reason = reason if len(reason) <= _MAX_REASON else reason[:_MAX_REASON] + "…"
        super().__init__(f"malformed response from {url}: {self.reason}")


class Throttled(ExchangeError):
    """No request may be sent for ``retry_after_s`` seconds."""

    def __init__(self, retry_after_s: float, message: str) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class RateLimited(Throttled):
    """Binance answered 429: every request is held back until ``retry_after_s`` has passed."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(retry_after_s, f"rate limited by the exchange for {retry_after_s:.1f} s")


class IpBanned(Throttled):
    """Binance answered 418: the IP is banned; ``until_ms`` is the end in epoch ms if given."""

    def __init__(self, retry_after_s: float, until_ms: int | None = None) -> None:
        self.until_ms = until_ms
        until = "" if until_ms is None else f" (until {until_ms} ms)"
        message = f"IP banned by the exchange for {retry_after_s:.1f} s{until}"
        super().__init__(retry_after_s, message)


class WeightBudgetExhausted(Throttled):
    """Our request-weight budget has no room for this request for ``retry_after_s`` seconds."""

    def __init__(self, retry_after_s: float, weight: int) -> None:
        self.weight = weight
        super().__init__(
            retry_after_s, f"no request weight left for {weight}; retry in {retry_after_s:.2f} s"
        )


class ExchangeUnavailable(ExchangeError):
    """Every base URL failed; this is the last failure, ``attempts`` lists all of them.

    ``attempts`` holds ``(url, reason)`` pairs in the order they were tried.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        self.attempts: tuple[tuple[str, str], ...] = ((url, reason),)
        super().__init__(f"{url}: {reason}")


class ExchangeConnectionError(ExchangeUnavailable):
    """The connection was refused, reset or closed without an answer."""


class ExchangeTimeout(ExchangeUnavailable):
    """Connecting or reading took longer than the configured timeout."""


class ExchangeRefused(ExchangeUnavailable):
    """This host refused us rather than our request: 403 (WAF), 451 (restricted location) or a
    4xx without Binance's ``{"code": ...}`` body (something that is not Binance answered)."""

    def __init__(self, url: str, status: int, msg: str = "") -> None:
        self.status = status
        self.msg = msg
        super().__init__(url, f"HTTP {status} {msg}".rstrip())


class UpstreamError(ExchangeUnavailable):
    """Binance (or a gateway in front of it) answered 5xx, still after urllib3's retries.

    ``retry_after_s`` is set when the answer carried a ``Retry-After`` header.
    """

    def __init__(
        self,
        url: str,
        status: int,
        code: int | None = None,
        msg: str = "",
        retry_after_s: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.msg = msg
        self.retry_after_s = retry_after_s
        super().__init__(url, f"HTTP {status} (code {code}) {msg}".rstrip())


def user_reason(error: BaseException) -> str:
    """A short reason for a failed exchange call, fit to show a user.

    Never the exception's text: that holds the base URL (which may carry credentials) and up
    to 120 bytes of whatever the upstream answered (an HTML error page). The log keeps the
    details, with credentials masked.
    """
    if isinstance(error, RateLimited | IpBanned):
        return "the exchange asks us to slow down"
    if isinstance(error, WeightBudgetExhausted):
        return "too many requests to the exchange right now"
    if isinstance(error, UpstreamError | ExchangeRefused):
        return f"the exchange answered {error.status}"
    if isinstance(error, BadRequest):
        return f"the exchange refused the request ({error.status})"
    if isinstance(error, ExchangeTimeout):
        return "the exchange did not answer in time"
    if isinstance(error, ExchangeConnectionError):
        return "the exchange cannot be reached"
    if isinstance(error, MalformedResponse):
        return "the exchange sent an answer I could not read"
    return "the exchange is not answering properly"

"""Lists, error texts and the admin cards: readable, escaped, and honest about problems."""

from __future__ import annotations

from chat.cards import (
    WatchRow,
    actors_tree,
    health_text,
    symbol_error_text,
    unavailable_text,
    watchlist,
)
from chat import cards
from chat.html import is_balanced, visible_text
from market.analysis import MarketUnavailable
from market.errors import InvalidSymbolFormat, UnknownSymbol
from resilience.breaker import BreakerSnapshot
from supervision.snapshot import ActorSnapshot



def shown(text: str) -> list[str]:
    assert is_balanced(text), text
    return visible_text(text).split("\n")


def test_unavailable_says_why_and_when_to_retry() -> None:
    text = unavailable_text(MarketUnavailable("BTCUSDT", "the exchange is not answering.", 90))
    assert shown(text) == [
        "⚠️ No data for BTCUSDT right now: the exchange is not answering.",
        "Try again in 2 min.",
    ]


def test_an_unknown_coin_gets_suggestions() -> None:
    text = symbol_error_text(UnknownSymbol("BTX", ("BTCUSDT", "BTTCUSDT")))
    assert shown(text) == ["⚠️ I don't know the coin BTX. Did you mean BTCUSDT, BTTCUSDT?"]
    assert shown(symbol_error_text(UnknownSymbol("ZZZ"))) == ["⚠️ I don't know the coin ZZZ."]


def test_a_halted_pair_and_a_bad_format_are_explained() -> None:
    halted = symbol_error_text(UnknownSymbol("LUNAUSDT", status="BREAK"))
    assert shown(halted) == ["⚠️ LUNAUSDT is not trading right now (status BREAK)."]
    bad = symbol_error_text(InvalidSymbolFormat("<$$>", "use only letters and digits"))
    assert "&lt;$$&gt;" in bad
    assert shown(bad) == ["⚠️ <$$> is not a coin: use only letters and digits."]


def test_the_watchlist_is_a_monospace_table() -> None:
    text = watchlist([
        WatchRow("BTCUSDT", 65_000.0, 2.35),
        WatchRow("ETHUSDT", 3_100.0, -1.2, note="stale: 5 min old"),
        WatchRow("NEWUSDT", None, None, note="no data <yet>"),
    ])
    assert text.startswith("<b>Watchlist</b>\n<pre>") and text.endswith("</pre>")
    assert shown(text) == [
        "Watchlist",
        "BTCUSDT    ▲   +2.35%  65,000.00",
        "ETHUSDT    ▼   -1.20%  3,100.00  (stale: 5 min old)",
        "NEWUSDT           n/a  n/a  (no data <yet>)",
    ]


def test_an_empty_watchlist_shows_how_to_add() -> None:
    assert shown(watchlist([])) == ["Your watchlist is empty. Add a coin with /watch btc."]


def tree() -> ActorSnapshot:
    breaker = BreakerSnapshot(name="binance", state="open", consecutive_failures=5,
                              failure_rate=1.0, calls_in_window=5, trips=1,
                              reset_timeout_s=30.0, retry_after_s=12.4)
    fetcher = ActorSnapshot(name="fetcher<1>", state="restarting", kind="worker", restarts=2,
                            last_failure="handle: TimeoutError", breakers=(breaker,))
    cache = ActorSnapshot(name="cache", state="running", kind="worker")
    charts = ActorSnapshot(name="charts", state="lazy", kind="worker")
    return ActorSnapshot(name="root", state="running", kind="supervisor",
                         strategy="one_for_one", children=(fetcher, cache, charts))


def test_actors_tree_is_escaped_inside_pre() -> None:
    text = actors_tree(tree())
    assert text.startswith("<b>Actors</b>\n<pre>") and text.endswith("</pre>")
    assert "fetcher&lt;1&gt;" in text
    assert "● cache  running" in visible_text(text)


def test_health_names_every_unhealthy_actor_and_open_breaker() -> None:
    assert shown(health_text(tree())) == [
        "⚠️ degraded: 2 actors running, 1 waiting for a first message, 2 restarts so far",
        "• fetcher<1> is restarting (last failure: handle: TimeoutError)",
        "• breaker binance is open, retry in 12 s (fetcher<1>)",
    ]


def test_health_is_failing_when_an_essential_actor_is_given_up() -> None:
    gone = ActorSnapshot(name="root", state="running", kind="supervisor",
                         children=(ActorSnapshot(name="db_writer", state="stopped",
                                                 kind="worker"),))
    assert shown(health_text(gone)) == ["🛑 failing: 1 actor running",
                                        "• db_writer is stopped"]


def test_health_is_ok_when_everything_runs() -> None:
    healthy = ActorSnapshot(name="root", state="running", kind="supervisor",
                            children=(ActorSnapshot(name="cache", state="running", kind="worker"),))
    assert shown(health_text(healthy)) == ["✅ ok: 2 actors running"]


def test_a_huge_unknown_coin_is_quoted_cut_short_not_echoed_whole() -> None:
    text = symbol_error_text(InvalidSymbolFormat("x" * 5000, "too long"))
    assert len(text) < 100 and "x" * 23 + "…" in text


def test_a_watchlist_note_says_why_figures_are_missing_or_how_old_they_are() -> None:
    assert cards.watch_note() is None
    assert cards.watch_note(stale_age_s=300) == "stale: 5 min old"
    assert cards.watch_note(missing="exchange down") == "exchange down"
    assert cards.watch_note(missing="") == "unavailable"


def test_the_price_card_labels_stale_figures_and_lists_coins_not_understood() -> None:
    text = cards.quotes_text([], [("btcc", "unknown coin")], stale_age_s=90, reason="slow")
    assert text.startswith("⚠️ Stale: 2 min old — slow")
    assert "<code>btcc</code>: unknown coin" in text
    assert cards.quotes_text([]) == "No prices to show."


def test_a_refused_write_says_why_escaped() -> None:
    assert cards.not_saved_text("not saved, nothing changed: <limit> reached") == \
        "⚠️ not saved, nothing changed: &lt;limit&gt; reached"

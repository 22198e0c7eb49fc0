"""The conversation and command workers end to end (real market actors, simulator on
loopback), with a recording transport in place of Telegram."""

from __future__ import annotations


from chat.callbacks import ShowAnalysis, encode
from messages.chat import RequestClosed
from tests.actors.chat_fixtures import ADMIN, USER, make_chat  # noqa: F401 (fixture)



def texts(replies) -> str:
    return "\n".join(r.text for r in replies)


def test_help_and_start_are_answered_at_once_from_the_command_table(make_chat):
    chat = make_chat()
    assert "/price SYM [SYM...]" in texts(chat.ask("/help"))
    assert "Hi!" in texts(chat.ask("/start"))


def test_price_for_several_symbols_is_one_message(make_chat):
    chat = make_chat()
    replies = chat.ask("/price btc eth,sol")
    final = [r for r in replies if r.final]
    assert len(final) == 1
    assert all(s in final[0].text for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT"))


def test_analysis_is_a_compact_card_with_buttons_and_details_expand_in_place(make_chat):
    chat = make_chat()
    card = [r for r in chat.ask("/a eth 4h") if r.final][-1]
    assert "ETHUSDT" in card.text and "RSI" in card.text
    labels = [b.text for row in card.buttons for b in row]
    assert "Details" in labels and "Chart" in labels and "Refresh" in labels
    details = chat.press(encode(ShowAnalysis("ETHUSDT", "4h", True), USER), message_id=42)[-1]
    assert details.edit_message_id == 42 and details.callback_id is not None
    assert "Support" in details.text or "support" in details.text.lower()


def test_bad_input_gets_usage_and_unknown_symbols_get_suggestions(make_chat):
    chat = make_chat()
    assert "Example:" in texts(chat.ask("/analysis btc 7h"))
    assert "BTCUSDT" in texts(chat.ask("/price btcc"))
    assert "/help" in texts(chat.ask("hello there"))
    assert "Did you mean /price?" in texts(chat.ask("/prcie btc"))


def test_a_forged_button_gets_a_polite_answer_not_a_crash(make_chat):
    chat = make_chat()
    answer = chat.press("9|zz|<script>")[-1]
    assert answer.callback_id is not None and "out of date" in (answer.toast or "")
    assert chat.tree.snapshot().find("command_worker_0").restarts == 0


def test_admin_commands_are_refused_neutrally_to_others(make_chat):
    chat = make_chat()
    assert texts(chat.ask("/actors", user=USER)) == "/actors is not available."
    assert "root" in texts(chat.ask("/actors", user=ADMIN))


def test_a_user_over_the_rate_limit_is_warned_once_then_ignored(make_chat):
    chat = make_chat(user_rate_limit_count=2, user_rate_limit_window_s=600)
    chat.ask("/help")
    chat.ask("/help")
    warning = chat.ask("/help")
    assert "faster than I can answer" in texts(warning)
    silent_id = chat.send("/help")
    marker = chat.ask("/help", user=ADMIN)  # FIFO: by now the silent one was handled
    assert marker and not [r for r in chat.outbox.replies if r.request_id == silent_id]


def test_a_slow_answer_shows_a_loading_message_that_is_then_edited(make_chat):
    chat = make_chat()
    chat.simulator.inject("slow", endpoint="/api/v3/klines", delay_s=1.0)
    replies = chat.ask("/analysis sol")
    loading = [r for r in replies if not r.final]
    final = [r for r in replies if r.final]
    assert loading and loading[0].slot is not None and "Working" in loading[0].text
    assert final[-1].edit_slot == loading[0].slot and "SOLUSDT" in final[-1].text


def test_a_private_bot_answers_strangers_with_one_neutral_line(make_chat):
    chat = make_chat(allowed_users=(ADMIN,))
    assert texts(chat.ask("/price btc", user=USER)) == "Sorry, this bot is private."


def test_actors_and_health_name_the_instance_answering(make_chat):
    from core.instance import this_instance

    chat = make_chat(instance_name="eu-1")
    me = this_instance()
    for command in ("/actors", "/health"):
        first = texts(chat.ask(command, user=ADMIN)).split("\n", 1)[0]
        assert first.startswith(f"🖥 <b>eu-1</b> ({me.host}, pid {me.pid}) · up since ")


def _closed_after_replies(chat, request_id: str) -> bool:
    with chat.outbox.changed:
        chat.outbox.changed.wait_for(
            lambda: any(isinstance(m, RequestClosed) and m.request_id == request_id
                        for m in chat.outbox.told), 15.0)
        told = [m for m in chat.outbox.told if getattr(m, "request_id", None) == request_id]
    return bool(told) and isinstance(told[-1], RequestClosed) and len(
        [m for m in told if isinstance(m, RequestClosed)]) == 1


def test_with_redis_each_request_is_closed_once_after_its_last_reply(make_chat, redis_url):
    """The shared update stream acks an update once its request is closed and its replies
    are out; the close comes through the transport's mailbox after every reply of it."""
    chat = make_chat(redis_url=redis_url, user_rate_limit_count=1,
                     user_rate_limit_window_s=600)
    answered = chat.send("/analysis sol")
    assert _closed_after_replies(chat, answered)
    warned = chat.send("/help")  # over the limit: a warning, then silence
    silent = chat.send("/help")
    assert _closed_after_replies(chat, warned)
    assert _closed_after_replies(chat, silent)
    assert not [r for r in chat.outbox.replies if r.request_id == silent]


def test_without_redis_no_request_is_closed(make_chat):
    chat = make_chat()
    chat.ask("/help")
    assert not [m for m in chat.outbox.told if isinstance(m, RequestClosed)]

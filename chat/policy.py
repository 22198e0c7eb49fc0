"""The conversation's rules as a pure state machine: what to do with each message, and when.

Why: who may ask what, how often, which worker does it, when a loading message appears and
when we give up and apologise are the bot's manners; they are easy to get subtly wrong and
slow to test through threads. Here they are plain decisions from an injected clock, tested
with a manual one (tests/chat/test_policy.py); ``actors/conversation.py`` only feeds messages in
and carries the decisions out (tell the transport, tell a worker, log).

Every text message or button press ends in exactly one of the decisions in
:mod:`chat.decisions`: an answer now (``AnswerNow``), a worker's final replies (``Deliver``),
an apology after ``command_timeout_s`` (``TimeOut``), or silence on purpose (``Ignore``).
``Dispatch`` and ``ShowLoading`` happen on the way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from chat.callbacks import (
    DeleteAlertButton,
    InvalidCallback,
    OwnedAction,
    RearmAlertButton,
    RefreshAnalysis,
    RefreshWatchlist,
    SettingButton,
    ShowAnalysis,
    ShowChart,
    decode_owned,
    is_admin_action,
    is_market_action,
)
from chat.decisions import AnswerNow, Decision, Deliver, Dispatch, Ignore, ShowLoading, TimeOut
from chat.parsing import PLAIN_TEXT_REPLY, InvalidArguments, Invocation, NotACommand, UnknownCommand
from chat.ratelimit import Admission, RateLimiter, UserRateLimiter
from chat.replies import (
    ALREADY_RUNNING,
    BUTTON_NOT_AVAILABLE,
    LOADING_TEXT,
    NOT_YOURS,
    PRIVATE_TEXT,
    SORRY,
    not_available_text,
    rate_limited_text,
    reply,
)
from messages.chat import ButtonPressed, ChatAction, ChatCommand, ChatReply, CommandDone, RunCommand

__all__ = [
    "COMMAND_TIMEOUT_S",
    "LOADING_AFTER_S",
    "PRESS_COSTS",
    "TOAST_PRESS_COST",
    "ConversationPolicy",
]

LOADING_AFTER_S = 0.3
"""An answer slower than this gets a loading message first (then edited into the answer)."""
COMMAND_TIMEOUT_S = 30.0
"""A worker that has not answered by then crashed on the request: apologise instead."""
PRESS_COSTS: Mapping[type, float] = MappingProxyType({
    ShowChart: 1.0, RefreshAnalysis: 1.0, RefreshWatchlist: 1.0,
    ShowAnalysis: 0.5, DeleteAlertButton: 0.5, RearmAlertButton: 0.5, SettingButton: 0.5,
})
"""What a press spends of the per-user budget (a command spends 1): a chart is drawn and a
refresh refetches like their commands; Details/Less and timeframes mostly hit the cache, and
a delete, re-arm or setting is one small write."""
TOAST_PRESS_COST = 0.25
"""A press answered with a toast only: refused, outdated, or a duplicate still running."""


Request = ChatCommand | ButtonPressed


_PressKey = tuple[int, int, int, str]
"""(chat, message, presser, data): presses that would do the same work."""


@dataclass(slots=True)
class _Pending:
    request: Request
    command: str
    worker: str
    started: float
    loading_sent: bool = False
    press_key: _PressKey | None = None


class ConversationPolicy:
    """Access, rate limits, dispatch, loading messages and timeouts; no threads, no I/O.

    ``counts`` and ``pending`` are the live figures behind the conversation's stats.
    """

    def __init__(
        self,
        *,
        workers: Sequence[str],
        admins: frozenset[int] = frozenset(),
        allowed: frozenset[int] = frozenset(),
        rate_limit_count: int,
        rate_limit_window_s: float,
        loading_after_s: float = LOADING_AFTER_S,
        command_timeout_s: float = COMMAND_TIMEOUT_S,
        clock: Callable[[], float],
        limiter: RateLimiter | None = None,
    ) -> None:
        if not workers:
            raise ValueError("the conversation needs at least one command worker")
        self._admins = admins
        self._allowed = allowed
        self._limiter: RateLimiter = (
            limiter if limiter is not None
            else UserRateLimiter(rate_limit_count, rate_limit_window_s, clock=clock))
        self._busy = dict.fromkeys(workers, 0)
        self._loading_after_s = loading_after_s
        self._command_timeout_s = command_timeout_s
        self._clock = clock
        self.pending: dict[str, _Pending] = {}
        """Requests at a worker, by request id."""
        self._running_presses: dict[_PressKey, str] = {}
        """Presses at a worker, to answer their duplicates with a toast."""
        self.counts = {"commands": 0, "buttons": 0, "rate_limited": 0, "denied": 0,
                       "not_owner": 0, "coalesced": 0, "loading_shown": 0, "timed_out": 0,
                       "reply_failed": 0}
        """What happened so far (the conversation's stats)."""

    def busy(self, worker: str) -> int:
        """Requests ``worker`` has and has not reported on yet."""
        return self._busy[worker]

    # -- inbound ---------------------------------------------------------------------------------

    def on_command(self, command: ChatCommand) -> tuple[Decision, ...]:
        """A text message: answer it now, dispatch it, or ignore it."""
        self.counts["commands"] += 1
        parsed = command.parsed
        # Silence first: what is not for us costs nothing and answers nobody, strangers included.
        match parsed:
            case NotACommand(addressed_elsewhere=True):
                return (Ignore(command.request_id, "a command for another bot"),)
            case NotACommand() if command.chat_type != "private":
                return (Ignore(command.request_id, "plain text in a group"),)
        refusal = self._refusal(command)
        if refusal is not None:
            return (refusal,)
        is_admin = command.user_id in self._admins
        match parsed:
            case NotACommand():
                return (self._answer(command, "text", PLAIN_TEXT_REPLY),)
            case UnknownCommand():
                return (self._answer(command, "unknown", parsed.html),)
            case InvalidArguments() | Invocation() if parsed.spec.admin and not is_admin:
                self.counts["denied"] += 1
                name = parsed.spec.name
                return (self._answer(command, name, not_available_text(name)),)
            case InvalidArguments():
                return (self._answer(command, parsed.spec.name, parsed.html, outcome="usage"),)
            case Invocation(spec=spec) if spec.answer is not None:
                return (self._answer(command, spec.name, spec.answer(parsed.args, is_admin)),)
            case Invocation(spec=spec):
                action = (None if spec.chat_action is None
                          else ChatAction(chat_id=command.chat_id, action=spec.chat_action))
                return (self._dispatch(RunCommand(request=command, invocation=parsed), action),)
        raise TypeError(f"not a reading of a message: {parsed!r}")

    def on_button(self, pressed: ButtonPressed) -> tuple[Decision, ...]:
        """A button press: an allowed press of the presser's own button goes to a worker.

        Every press spends the presser's rate budget like a command (a chart costs what a
        /chart does, Details/Less half), and a press answered with a toast only (refused,
        or a duplicate of one still running) a quarter, so a flood of presses is bounded
        like a flood of commands. A press identical to one still running on the same
        message is not run twice: its duplicate gets a toast.
        """
        self.counts["buttons"] += 1
        try:
            owned: OwnedAction | InvalidCallback = decode_owned(pressed.data)
        except InvalidCallback as error:  # forged, garbled or from an older bot
            owned = error
        key = (pressed.chat_id, pressed.message_id, pressed.user_id, pressed.data)
        refusal = self._press_answer(pressed, owned, key)
        cost = (TOAST_PRESS_COST if refusal is not None or isinstance(owned, InvalidCallback)
                else PRESS_COSTS.get(type(owned.action), 1.0))
        limited = self._rate_limited(pressed, cost, logged=not self._stranger(pressed))
        if limited is not None:
            return (limited,)
        if refusal is not None:
            return (refusal,)
        assert not isinstance(owned, InvalidCallback)
        dispatch = self._dispatch(RunCommand(request=pressed))
        self._running_presses[key] = pressed.request_id
        self.pending[pressed.request_id].press_key = key
        return (dispatch,)

    def _press_answer(self, pressed: ButtonPressed, owned: OwnedAction | InvalidCallback,
                      key: _PressKey) -> AnswerNow | None:
        """The toast that answers ``pressed`` without a worker, or None to run it."""
        if self._stranger(pressed):
            self.counts["denied"] += 1
            return self._toast(pressed, "denied", PRIVATE_TEXT, logged=False)
        if isinstance(owned, InvalidCallback):
            return self._toast(pressed, "button", owned.user_text, outcome="usage")
        if is_admin_action(owned.action) and pressed.user_id not in self._admins:
            self.counts["denied"] += 1  # an admin's button, pressed by whoever is no admin now
            return self._toast(pressed, "button", BUTTON_NOT_AVAILABLE, outcome="denied")
        refusal = _press_refusal(owned, pressed)
        if refusal == NOT_YOURS:
            self.counts["not_owner"] += 1
            return self._toast(pressed, "button", refusal, outcome="denied")
        if refusal is not None:
            return self._toast(pressed, "button", refusal, outcome="usage")
        if key in self._running_presses:
            self.counts["coalesced"] += 1
            return self._toast(pressed, "button", ALREADY_RUNNING, outcome="coalesced")
        return None

    def on_done(self, done: CommandDone) -> tuple[Decision, ...]:
        """A worker's report: deliver it (also when it comes after the apology)."""
        completed, latency_ms = self._complete(done)
        return (Deliver(completed, latency_ms),)

    def on_tick(self) -> tuple[Decision, ...]:
        """The conversation's timer: loading messages for slow requests, apologies for lost ones."""
        now = self._clock()
        decisions: list[Decision] = []
        for request_id, pending in list(self.pending.items()):
            age = now - pending.started
            if age >= self._command_timeout_s:
                self.counts["timed_out"] += 1
                apology = CommandDone(request_id=request_id, command=pending.command,
                                      outcome="error", worker=pending.worker,
                                      replies=(reply(pending.request, SORRY),),
                                      user_id=pending.request.user_id)
                decisions.append(TimeOut(*self._complete(apology)))
            elif (not pending.loading_sent and age >= self._loading_after_s
                  and isinstance(pending.request, ChatCommand)):
                pending.loading_sent = True
                self.counts["loading_shown"] += 1
                request = pending.request
                decisions.append(ShowLoading(
                    ChatAction(chat_id=request.chat_id, action="typing"),
                    reply(request, LOADING_TEXT, slot=request_id, final=False)))
        return tuple(decisions)

    def on_reply_failed(self) -> None:
        """The transport gave up on a reply (it logged why); only counted."""
        self.counts["reply_failed"] += 1

    # -- helpers -----------------------------------------------------------------------------------

    def _stranger(self, request: Request) -> bool:
        return bool(self._allowed) and request.user_id not in self._allowed

    def _refusal(self, command: ChatCommand) -> Decision | None:
        """Over the rate limit, or outside ``allowed_users``: the answer (or silence)."""
        stranger = self._stranger(command)
        limited = self._rate_limited(command, 1.0, logged=not stranger)
        if limited is not None or not stranger:
            return limited
        self.counts["denied"] += 1
        return self._answer(command, "denied", PRIVATE_TEXT, logged=False)

    def _rate_limited(self, request: Request, cost: float, *,
                      logged: bool = True) -> Decision | None:
        """None when ``request`` fits its sender's budget; else one warning, then silence."""
        match self._limiter.admit(request.user_id, cost):
            case Admission.ALLOW:
                return None
            case Admission.WARN:
                self.counts["rate_limited"] += 1
                text = rate_limited_text(self._limiter.retry_after_s(request.user_id))
                if isinstance(request, ButtonPressed):
                    return self._toast(request, "rate_limited", text, logged=logged)
                return self._answer(request, "rate_limited", text, logged=logged)
        self.counts["rate_limited"] += 1
        return Ignore(request.request_id, "rate limited", "chat.rate_limited", request.user_id)

    def _answer(self, command: ChatCommand, name: str, text: str,
                outcome: str = "ok", *, logged: bool = True) -> AnswerNow:
        return self._finished_now(command, name, reply(command, text), outcome, logged=logged)

    def _toast(self, pressed: ButtonPressed, name: str, text: str,
               outcome: str = "ok", *, logged: bool = True) -> AnswerNow:
        """Answer a press with a short toast only (the message stays as it is)."""
        return self._finished_now(pressed, name, reply(pressed, "", edit_message_id=None,
                                                       toast=text), outcome, logged=logged)

    def _finished_now(self, request: Request, name: str, answer: ChatReply,
                      outcome: str = "ok", *, logged: bool = True) -> AnswerNow:
        done = CommandDone(request_id=request.request_id, command=name, outcome=outcome,
                           replies=(answer,), user_id=request.user_id)
        received = request.received_at
        return AnswerNow(done, (self._clock() - received) * 1000 if received else 0.0,
                         logged=logged)

    def _dispatch(self, run: RunCommand, action: ChatAction | None = None) -> Dispatch:
        worker = min(self._busy, key=self._busy.__getitem__)
        self._busy[worker] += 1
        self.pending[run.request_id] = _Pending(run.request, run.command, worker, self._clock())
        return Dispatch(worker, run, action)

    def _complete(self, done: CommandDone) -> tuple[CommandDone, float]:
        pending = self.pending.pop(done.request_id, None)
        if pending is not None and pending.press_key is not None:
            self._running_presses.pop(pending.press_key, None)
        if done.worker in self._busy:
            self._busy[done.worker] = max(0, self._busy[done.worker] - 1)
        if pending is None:
            return done, 0.0
        replies = done.replies
        if pending.loading_sent and replies:
            replies = _replace_loading(done.request_id, replies)
        return (dataclasses.replace(done, replies=replies),
                (self._clock() - pending.started) * 1000)


def _press_refusal(owned: OwnedAction, pressed: ButtonPressed) -> str | None:
    """Why ``pressed`` may not run ``owned``, or None when it may.

    A button answers the identity its message was made for. In a private chat only its user
    can press, so version-1 buttons (no owner) are fine there. In a group a client may send
    any data for any message, so the owner counts only when the data is on the message
    (Telegram's copy of it says so); otherwise the press is refused as outdated, like a
    version-1 button. A message made for an anonymous admin or a channel (a negative owner)
    cannot know who presses on their behalf, so its market buttons (public data, charged to
    the presser) answer anyone in that chat, and its alert and watchlist buttons nobody.
    """
    owner = owned.owner
    private = pressed.chat_type == "private" and pressed.chat_id == pressed.user_id
    if owner is None or not (private or pressed.data_on_message):
        return None if private else InvalidCallback.user_text
    if owner == pressed.user_id:
        return None
    if owner < 0 and is_market_action(owned.action):
        return None
    return NOT_YOURS


def _replace_loading(request_id: str, replies: tuple[ChatReply, ...]) -> tuple[ChatReply, ...]:
    """The first reply edits the loading message, or points below it when it cannot."""
    first = replies[0]
    if first.photo is None and first.document is None and first.edit_message_id is None:
        return (dataclasses.replace(first, edit_slot=request_id), *replies[1:])
    # A photo or a document cannot replace a text message: turn the loading text into a pointer.
    pointer = dataclasses.replace(first, text="👇", photo=None, document=None, buttons=(),
                                  edit_slot=request_id, final=False)
    return (pointer, *replies)

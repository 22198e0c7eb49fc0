"""Pushed alerts decided on a fake clock: transitions, merging, de-dup, cool-down, cap, mute."""

from __future__ import annotations

from ops.alerting import AlertSettings, AlertState, Decision, Observation, decide, mute, observe
from ops.slo import SloWindows
from resilience.breaker import BreakerSnapshot
from supervision.snapshot import ActorSnapshot, ChildState

SETTINGS = AlertSettings(cooldown_s=300.0, max_per_minute=3, confirm_samples=2)
BREAKER = "breaker:market/fetcher:exchange"
OK = Observation(health="ok", reasons=(), topics=())
OPEN = Observation(health="degraded", reasons=("breaker exchange is open",),
                   topics=((BREAKER, "open, retry in 3 s, 1 trips"),))


class Run:
    """Samples fed to decide() one after another, on a clock the test moves."""

    def __init__(self, settings: AlertSettings = SETTINGS) -> None:
        self.state = AlertState()
        self.now = 1000.0
        self.settings = settings
        self.sent: list[Decision] = []

    def sample(self, observation: Observation, *, after_s: float = 5.0) -> Decision:
        self.now += after_s
        decision = decide(self.state, observation, self.now, self.settings)
        self.state = decision.state
        if decision.notification is not None:
            self.sent.append(decision)
        return decision


def test_a_healthy_bot_sends_nothing():
    run = Run()
    for _ in range(10):
        run.sample(OK)
    assert run.sent == []


def test_a_breaker_opening_and_health_degrading_together_make_one_message_then_one_recovery():
    run = Run()
    run.sample(OK)
    assert run.sample(OPEN).notification is None  # not confirmed yet: one sample
    opened = run.sample(OPEN).notification
    assert opened is not None and opened.level == "degraded"
    assert [(c.topic, c.bad) for c in opened.changes] == [("health", True), (BREAKER, True)]
    for _ in range(6):
        assert run.sample(OPEN).notification is None  # de-duplicated
    recovered = run.sample(OK).notification
    assert recovered is not None and recovered.level == "ok"
    assert {(c.topic, c.bad) for c in recovered.changes} == {("health", False), (BREAKER, False)}
    assert len(run.sent) == 2


def test_a_problem_that_clears_before_it_is_confirmed_is_never_told():
    run = Run()
    run.sample(OPEN)
    run.sample(OK)
    assert run.sent == []


def test_a_flapping_breaker_gives_one_message_per_cool_down_with_the_count_of_changes():
    run = Run()
    run.sample(OPEN), run.sample(OPEN), run.sample(OK)  # told, then recovered
    assert len(run.sent) == 2
    for _ in range(5):  # flaps inside the cool-down: silence
        run.sample(OPEN), run.sample(OPEN), run.sample(OK)
    assert len(run.sent) == 2
    run.sample(OPEN, after_s=300.0)
    again = run.sample(OPEN).notification
    assert again is not None
    breaker = next(c for c in again.changes if c.topic == BREAKER)
    assert breaker.bad and breaker.changes >= 10


def test_a_retry_delay_counting_down_is_not_news():
    run = Run()
    run.sample(OPEN), run.sample(OPEN)
    later = Observation(health="degraded", reasons=(),
                        topics=((BREAKER, "open, retry in 1 s, 3 trips"),))
    assert all(run.sample(later).notification is None for _ in range(5))
    assert len(run.sent) == 1


def test_escalation_to_failing_is_told_even_inside_the_cool_down():
    run = Run()
    run.sample(OPEN), run.sample(OPEN)
    failing = Observation(health="failing", reasons=("no fetch worker is running",),
                          topics=OPEN.topics)
    run.sample(failing)
    told = run.sample(failing).notification
    assert told is not None and told.level == "failing"
    assert [c.topic for c in told.changes] == ["health"]


def test_never_more_than_the_cap_per_minute_and_what_the_cap_held_comes_next():
    run = Run(AlertSettings(cooldown_s=0.0, max_per_minute=2, confirm_samples=1))
    for _ in range(3):
        run.sample(OPEN, after_s=1.0), run.sample(OK, after_s=1.0)
    assert len(run.sent) == 2 and run.state.held >= 1
    late = run.sample(OPEN, after_s=60.0).notification
    assert late is not None and late.level == "degraded"


def test_muted_sends_nothing_and_after_the_mute_tells_only_what_differs_from_the_last_message():
    run = Run()
    run.state = mute(run.state, run.now, 3600.0)
    run.sample(OPEN), run.sample(OPEN)
    assert run.sent == [] and run.sample(OPEN).held_by == "mute"
    run.sample(OPEN, after_s=3600.0)
    told = run.sent[-1].notification
    assert told is not None and told.level == "degraded"
    run.state = mute(run.state, run.now, 600.0)
    run.sample(OK), run.sample(OPEN), run.sample(OPEN)
    run.state = mute(run.state, run.now, 0.0)  # /mute off
    assert run.sample(OPEN).notification is None  # still what admins were last told
    assert len(run.sent) == 1


def test_a_source_that_did_not_answer_never_makes_a_false_recovery():
    run = Run()
    run.sample(OPEN), run.sample(OPEN)
    busy = Observation(health="degraded", reasons=(), topics=(),
                       unknown=("breaker:market/fetcher:",))
    assert run.sample(busy).notification is None
    assert len(run.sent) == 1


def test_a_supervisor_whose_restart_count_rises_gave_up_on_a_child_and_is_told_once():
    run = Run()
    before = Observation(health="ok", reasons=(), topics=(), restarts=(("market", 0),))
    after = Observation(health="ok", reasons=(), topics=(), restarts=(("market", 1),))
    run.sample(before)
    told = run.sample(after).notification
    assert told is not None and told.changes[0].topic == "gave_up:market"
    run.sample(Observation(health="ok", reasons=(), topics=(), restarts=(("market", 2),)))
    assert len(run.sent) == 1  # the second within the cool-down is only counted


def test_error_rate_and_p95_over_their_thresholds_are_topics_once_enough_commands_counted():
    slo = SloWindows()
    for _ in range(10):
        slo.record("price", "unavailable", 9000.0, at=0.0)
    root = ActorSnapshot(name="root", state=ChildState.RUNNING, kind="supervisor", children=(
        ActorSnapshot(name="slo", state=ChildState.RUNNING, kind="worker",
                      stats=slo.stats(now=0.0)),))
    topics = dict(observe(root, AlertSettings(error_rate=0.2, p95_ms=5000.0,
                                              min_commands=10)).topics)
    assert "100%" in topics["error_rate"] and "p95" in topics["latency"]
    few = dict(observe(root, AlertSettings(min_commands=11)).topics)
    assert "error_rate" not in few


def test_observe_reads_breakers_and_knows_what_it_could_not_see():
    breaker = BreakerSnapshot(name="exchange", state="half_open", consecutive_failures=5,
                              failure_rate=1.0, calls_in_window=5, trips=2, reset_timeout_s=3.0,
                              retry_after_s=0.0)
    market = ActorSnapshot(name="market", state=ChildState.RUNNING, kind="supervisor", children=(
        ActorSnapshot(name="fetcher", state=ChildState.RUNNING, kind="worker",
                      breakers=(breaker,)),))
    seen = observe(ActorSnapshot(name="root", state=ChildState.RUNNING, kind="supervisor",
                                 children=(market,)), SETTINGS)
    assert seen.health == "degraded"
    assert dict(seen.topics)[BREAKER].startswith("open")
    assert {"memory", "error_rate", "latency"} <= set(seen.unknown)


def test_news_nobody_can_receive_yet_is_kept_for_the_first_admin_who_turns_up():
    run = Run()
    run.now += 5
    first = decide(run.state, OPEN, run.now, SETTINGS, reachable=False)
    second = decide(first.state, OPEN, run.now + 5, SETTINGS, reachable=False)
    assert second.notification is None and second.held_by == "no_admin"
    run.state = second.state
    told = run.sample(OPEN).notification
    assert told is not None and told.level == "degraded"

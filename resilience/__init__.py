"""Resilience utilities: a circuit breaker and backoff arithmetic, pure and clock-driven.

* :mod:`resilience.breaker`: :class:`~resilience.breaker.CircuitBreaker` stops calling a
  failing upstream for a while and probes it once before trusting it again; it refuses calls
  with :class:`~resilience.errors.CircuitOpenError`.
* :mod:`resilience.backoff`: ``full_jitter_delay`` (how long to wait before retrying) and
  ``RestartBackoff`` (the per-child restart delay a supervisor keeps).

Nothing here sleeps, starts a thread or does I/O: time and randomness are injected, the caller
waits. The package imports only the standard library and ``core`` (for ``BotError`` and
``ConfigError``), so the market client, the actors and the supervision runtime can all use it;
it never imports any of them.
"""

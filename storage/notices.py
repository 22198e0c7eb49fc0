"""Claiming outbox notices, so that one instance sends each (several instances, one database).

The outbox (``queries.outbox``) is every firing or expiry whose owner was not told yet. One
instance reads it, but so may another: before sending, the alerts actor claims the notices it
is about to send, in the writer's transaction, with one conditional UPDATE per notice. A notice
is claimable while it is still unnotified and either unclaimed, claimed by the same instance,
or its claim has run out; on PostgreSQL the second of two concurrent claims waits for the
first's row lock and then finds the row claimed, so exactly one instance gets each notice. Its
``MarkNotified`` follows the send; an instance that died in between leaves a claim that runs
out (``NOTICE_CLAIM_S``), and the notice goes out from another instance then: at least once,
never twice while the sender lives.

The sweep clears the claim whenever an alert fires or expires again (a new notice). On SQLite
(one instance) the same path runs with one fixed claimant, ``LOCAL_CLAIMANT``: every claim is
the bot's own, so a restarted bot resends at once what it claimed before dying, as it always
did, instead of waiting for its old claims to run out.
"""

from __future__ import annotations

from messages.storage import ClaimedNotices, ClaimNotices
from storage.engine import Connection
from storage.queries import UNNOTIFIED_WHERE

__all__ = ["CLAIM_NOTICE", "LOCAL_CLAIMANT", "NOTICE_CLAIM_S", "claim_notices"]

NOTICE_CLAIM_S = 60.0
"""How long a claim holds: far longer than a send and its MarkNotified take."""
LOCAL_CLAIMANT = "local"
"""The claimant of a bot alone on its database (SQLite): whichever process it is."""

CLAIM_NOTICE = (
    "UPDATE alerts SET notice_claimed_by = :claimant, notice_claimed_until = :until"
    f" WHERE id = :alert_id AND {UNNOTIFIED_WHERE}"
    " AND (notice_claimed_until IS NULL OR notice_claimed_until <= :now"
    " OR notice_claimed_by = :claimant) RETURNING id"
)


def claim_notices(conn: Connection, message: ClaimNotices) -> ClaimedNotices:
    """Claim what is still free of ``message.alert_ids``; the ids claimed, sorted."""
    claimed = []
    for alert_id in sorted(set(message.alert_ids)):
        row = conn.execute(CLAIM_NOTICE, {
            "alert_id": alert_id, "claimant": message.claimant, "until": float(message.until),
            "now": float(message.now)}).fetchone()
        if row is not None:
            claimed.append(int(row[0]))
    return ClaimedNotices(alert_ids=tuple(claimed))

"""Writing a batch's outcome back in a few statements: message statuses with provider ids, one
follow-up record per message that went (its status follows the message), suppressions for
recipients the provider says opted out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.campaigns.bulk_sql import as_json
from hub.campaigns.delivery import Outcome
from hub.campaigns.models import CampaignState
from hub.channels import suppressions
from hub.channels.base import RecipientRefused, RetryLater, Unconfirmed
from hub.channels.models import Message, MessageStatus
from hub.core.bulk import one_of
from hub.crm.followups.models import FollowUp

if TYPE_CHECKING:
    from hub.campaigns.sender import Prepared

# Where a provider's callbacks can take a message before its send job has recorded it (Twilio
# calls back within a second; a batch is recorded when the whole batch is done). Such a message
# still holds its claim's lease, and its send job still records it: provider id, text, follow-up.
REACHED_BY_CALLBACKS = (
    MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.FAILED,
    MessageStatus.BOUNCED, MessageStatus.DROPPED, MessageStatus.OPENED, MessageStatus.CLICKED,
)
SENDING = MessageStatus.SENDING.value
MAX_ATTEMPTS = 8  # requests tried for one message (each with its own quick retries) before failing
T = Message.__table__


def retry_delay(attempts: int) -> timedelta:
    """How long a message waits after its `attempts`-th failed try: 30 s, 60 s, ... up to 30 min."""
    return timedelta(seconds=min(1800, 30 * 2 ** max(0, attempts - 1)))


PG_ARRAYS = {"mid": "int[]", "provider_id": "text[]", "subject": "text[]", "body": "text[]",
             "attempts": "int[]", "follow_up_id": "int[]"}


def bulk_update(
    db: Session, rows: list[tuple[Any, ...]], keys: tuple[str, ...], fixed: dict[str, Any],
    only_sending: bool = True, where: list[Any] | None = None,
) -> None:
    """Set `keys[1:]` per row (matched on `mid`) and `fixed` on all, in one statement on
    PostgreSQL (UPDATE ... FROM VALUES) and one executemany on SQLite, which lacks the alias form."""
    if not rows:
        return
    guard = ([T.c.status == SENDING] if only_sending else []) + (where or [])
    if db.get_bind().dialect.name == "postgresql" and not where:
        # One array per column, unnested server-side: five parameters however long the batch
        # (a VALUES list of thousands of parameters costs more to compile than to run).
        # Column names come from this module's constants, never from input.
        names = ", ".join(keys)
        arrays = ", ".join(f"CAST(:a_{k} AS {PG_ARRAYS[k]})" for k in keys)
        sets = [f"{k} = v.{k}" for k in keys[1:]] + [f"{k} = :f_{k}" for k in fixed]
        where = "messages.id = v.mid" + (f" AND messages.status = '{SENDING}'" if only_sending else "")
        params = {f"a_{k}": [row[i] for row in rows] for i, k in enumerate(keys)}
        params.update({f"f_{k}": value for k, value in fixed.items()})
        db.execute(
            sa.text(f"UPDATE messages SET {', '.join(sets)} FROM unnest({arrays}) AS v({names}) WHERE {where}"),  # noqa: S608
            params,
        )
        return
    # A provider id a callback already set stays when this row brings none (recovery may not know it).
    values = {k: sa.func.coalesce(sa.bindparam(f"b_{k}"), T.c.provider_id) if k == "provider_id"
              else sa.bindparam(f"b_{k}") for k in keys[1:]}
    stmt = T.update().where(T.c.id == sa.bindparam("b_mid"), *guard).values(**values, **fixed)
    db.execute(stmt, [{f"b_{k}": value for k, value in zip(keys, row, strict=True)} for row in rows])


def _held(lease: datetime | None) -> list[Any]:
    """A send job writes only the rows its claim still holds: the claim's lease, exactly. A job
    that outlived its lease finds its messages taken back by recovery, maybe claimed again by
    another job, and still `sending`: its late outcome must not touch them."""
    return [] if lease is None else [T.c.lease_until == lease]


def _update(db: Session, rows: list[dict[str, Any]], lease: datetime | None, **values: Any) -> None:
    """Executemany UPDATE of rows still `sending` (a row recovery moved on is left alone)."""
    if not rows:
        return
    stmt = (
        T.update()
        .where(T.c.id == sa.bindparam("mid"), T.c.status == SENDING, *_held(lease))
        .values(lease_until=None, **{k: sa.bindparam(k) for k in values})
    )
    db.execute(stmt, [{"mid": r["mid"], **{k: r[k] for k in values}} for r in rows])


def record_outcomes(
    db: Session,
    campaign_id: int,
    campaign_name: str,
    ids: list[int],
    prepared: Prepared,
    outcomes: list[Outcome],
    now: datetime,
    state: str,
    settle: timedelta = timedelta(seconds=30),
    lease: datetime | None = None,
) -> list[int]:
    """Apply everything one send job learned about its claimed messages, only those still under
    the claim's `lease`; returns their ids. A message whose request went unanswered stays
    `sending` until `settle` has passed, then the sweep asks the provider."""
    held = ids if lease is None else held_ids(db, ids, lease)
    by_id = {o.message_id: o for o in outcomes}
    attempts = prepared.attempts
    waiting = [
        {**w, "attempts": attempts.get(w["mid"], 0) if w["attempts"] is None else w["attempts"]}
        for w in prepared.waiting
    ]
    sent, failed, unsent, unconfirmed = [], list(prepared.closed), [], []
    refused_to_suppress: list[tuple[int, RecipientRefused]] = []
    for msg in prepared.outbound:
        outcome = by_id.get(msg.message_id)
        subject, body = prepared.rendered[msg.message_id]
        tries = attempts.get(msg.message_id, 0) + 1
        if outcome is None:
            unsent.append({"mid": msg.message_id})
        elif isinstance(outcome.error, Unconfirmed):
            unconfirmed.append({"mid": msg.message_id, "subject": subject, "body": body, "error": outcome.error.reason[:500]})
        elif outcome.error is None:
            sent.append({"mid": msg.message_id, "provider_id": outcome.provider_id, "subject": subject, "body": body, "attempts": tries})
        elif isinstance(outcome.error, RetryLater) and tries < MAX_ATTEMPTS:
            waiting.append({"mid": msg.message_id, "due_at": now + retry_delay(tries), "quiet_wait": False, "attempts": tries, "error": outcome.error.reason[:500]})
        else:
            reason = outcome.error.reason
            if isinstance(outcome.error, RetryLater):
                reason = f"gave up after {tries} tries: {reason}"
            failed.append({"mid": msg.message_id, "status": MessageStatus.FAILED.value, "error": reason[:500], "status_at": now, "subject": subject, "body": body, "code": outcome.error.code})
            if isinstance(outcome.error, RecipientRefused) and outcome.error.suppress:
                refused_to_suppress.append((msg.message_id, outcome.error))
    if lease is not None and len(held) < len(ids):
        mine = set(held)
        sent, failed, waiting, unsent, unconfirmed = only_held(mine, sent, failed, waiting, unsent, unconfirmed)
        refused_to_suppress = [(i, e) for i, e in refused_to_suppress if i in mine]
    apply_rows(db, campaign_id, campaign_name, now, state, sent, failed, waiting, unsent, lease)
    if unconfirmed:
        # Still `sending`, with the text it was sent with; the sweep asks the provider once the
        # short lease is over (the claim time in status_at names the request).
        db.execute(
            T.update()
            .where(T.c.id == sa.bindparam("mid"), T.c.status == SENDING, *_held(lease))
            .values(lease_until=now + settle, subject=sa.bindparam("subject"),
                    body=sa.bindparam("body"), error=sa.bindparam("error")),
            unconfirmed,
        )
    for message_id, error in refused_to_suppress:
        message = db.get(Message, message_id)
        if message is not None:
            suppressions.suppress(db, message.channel, message.to_address, "provider_opt_out", source=error.reason)
    return held


def held_ids(db: Session, ids: list[int], lease: datetime) -> list[int]:
    """The messages of `ids` still under `lease`. On PostgreSQL they are locked until the
    transaction commits, so that recovery cannot take them between this read and the writes; the
    lease is compared here, not in SQL: `lease_until = <constant>` has the planner scan the table
    for the few rows it guesses match, instead of looking the batch up by id."""
    if db.get_bind().dialect.name == "postgresql":
        return [i for i, until in locked_leases(db, ids).items() if until == lease]
    return list(db.scalars(sa.select(T.c.id).where(T.c.id.in_(ids), T.c.lease_until == lease)))


def locked_leases(db: Session, ids: list[int]) -> dict[int, datetime | None]:
    """PostgreSQL: the messages' leases, their rows locked (in id order) until the transaction
    ends; found by id, so the planner never guesses from a lease value."""
    pick = sa.select(T.c.id, T.c.lease_until).where(one_of(db, T.c.id, ids)).order_by(T.c.id).with_for_update()
    return {i: until for i, until in db.execute(pick)}


def only_held(held: set[int], *lists: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [[row for row in rows if row["mid"] in held] for rows in lists]


def apply_rows(
    db: Session,
    campaign_id: int,
    campaign_name: str,
    now: datetime,
    state: str,
    sent: list[dict[str, Any]],
    failed: list[dict[str, Any]],
    waiting: list[dict[str, Any]],
    unsent: list[dict[str, Any]],
    lease: datetime | None = None,
) -> None:
    """The statements themselves, shared by send jobs and recovery. With a `lease`, the rows are
    those `held_ids` returned (on PostgreSQL locked by it); on SQLite, whose single writer may
    come between that read and these writes, every statement checks the lease again."""
    postgres = db.get_bind().dialect.name == "postgresql"
    if sent and postgres:
        record_sent(db, campaign_name, sent, now)  # with their follow-up records
    elif sent:
        keys = ("mid", "provider_id", "subject", "body", "attempts")
        rows = [tuple(r[k] for k in keys) for r in sent]
        # Callbacks that came first moved some on: they keep their status, and get the rest.
        # (an OR of equalities: executemany cannot expand an IN list)
        ahead = [T.c.lease_until.is_not(None), sa.or_(*(T.c.status == st for st in REACHED_BY_CALLBACKS))]
        bulk_update(db, rows, keys, {"lease_until": None, "sent_at": now}, only_sending=False,
                    where=ahead + _held(lease))
        fixed = {"status": MessageStatus.SENT.value, "lease_until": None, "sent_at": now, "status_at": now, "error": None}
        bulk_update(db, rows, keys, fixed, where=_held(lease))
    plain_failed = [r for r in failed if "body" not in r]
    provider_failed = [r for r in failed if "body" in r]
    _update(db, plain_failed, lease, status=None, error=None, status_at=None)
    if provider_failed:
        stmt = (
            T.update()
            .where(T.c.id == sa.bindparam("mid"), T.c.status == SENDING, *_held(lease))
            .values(
                status=MessageStatus.FAILED.value, lease_until=None, error=sa.bindparam("error"),
                error_code=sa.bindparam("code"), status_at=now,
                subject=sa.bindparam("subject"), body=sa.bindparam("body"),
            )
        )
        db.execute(stmt, [{k: r.get(k) for k in ("mid", "error", "code", "subject", "body")} for r in provider_failed])
    # Back to the queue (or cancelled with the campaign): a retry or quiet hours wait in
    # `pending` with a due time; left `sending` with no lease, nothing would ever take them.
    back = MessageStatus.CANCELLED.value if state == CampaignState.CANCELLED else MessageStatus.PENDING.value
    waiting = [{"error": None, **row, "status": back} for row in waiting]
    _update(db, waiting, lease, status=None, due_at=None, quiet_wait=None, attempts=None, error=None)
    _update(db, [{**r, "status": back} for r in unsent], lease, status=None)
    followed = [] if postgres else [r["mid"] for r in sent]
    write_follow_ups(db, campaign_name, followed + [r["mid"] for r in provider_failed], now)


# Sent messages and their follow-up records in one PostgreSQL statement: the update takes a
# follow-up id from the sequence for each message it moves that has none (`o` is the row as the
# statement found it), and the insert writes exactly those records, so a message recovery moved
# on gets none and none is written twice. The foreign key from the message to its record is
# checked at the end of the statement, when both rows exist.
_REACHED_SQL = ", ".join(f"'{s}'" for s in REACHED_BY_CALLBACKS)  # constants, never input
RECORD_SENT = sa.text(
    "WITH v AS (SELECT * FROM json_to_recordset(CAST(:rows AS json))"  # noqa: S608 (our status constants only)
    " AS v(mid int, provider_id text, subject text, body text, attempts int)),"
    " upd AS (UPDATE messages SET"
    f" status = CASE WHEN messages.status = '{SENDING}' THEN '{MessageStatus.SENT}' ELSE messages.status END,"
    f" status_at = CASE WHEN messages.status = '{SENDING}' THEN :now ELSE messages.status_at END,"
    f" error = CASE WHEN messages.status = '{SENDING}' THEN NULL ELSE messages.error END,"
    " lease_until = NULL, sent_at = :now,"
    " provider_id = COALESCE(v.provider_id, messages.provider_id), subject = v.subject, body = v.body,"
    " attempts = v.attempts, follow_up_id = CASE WHEN messages.follow_up_id IS NULL"
    " AND messages.customer_id IS NOT NULL THEN nextval('follow_ups_id_seq')"
    " ELSE messages.follow_up_id END"
    " FROM v JOIN messages o ON o.id = v.mid"
    f" WHERE messages.id = v.mid AND (messages.status = '{SENDING}' OR (messages.lease_until"
    f" IS NOT NULL AND messages.status IN ({_REACHED_SQL})))"
    " RETURNING messages.id, messages.follow_up_id, o.follow_up_id IS NULL AS fresh,"
    " messages.customer_id, messages.contact_id, messages.channel, messages.status,"
    " messages.subject, messages.body)"
    " INSERT INTO follow_ups (id, customer_id, contact_id, channel, direction, occurred_at, summary,"
    " status, message_ref, created_at)"
    " SELECT upd.follow_up_id, upd.customer_id, upd.contact_id, upd.channel, 'outbound', :now,"
    " :prefix || COALESCE(upd.subject, left(upd.body, 300)), upd.status, upd.id::text, :now"
    " FROM upd WHERE upd.fresh AND upd.follow_up_id IS NOT NULL"
)


def record_sent(db: Session, campaign_name: str, sent: list[dict[str, Any]], now: datetime) -> None:
    """PostgreSQL: statuses, provider ids and follow-up records of sent messages, one statement."""
    keys = ("mid", "provider_id", "subject", "body", "attempts")
    rows = as_json([{k: r[k] for k in keys} for r in sent])
    db.execute(RECORD_SENT, {"rows": rows, "now": now, "prefix": f"{campaign_name}: "})


def write_follow_ups(db: Session, campaign_name: str, message_ids: list[int], now: datetime) -> None:
    """One follow-up record per message, in two statements, linked both ways: for the messages
    this recording moved (sent or failed at `now`), not for one its guards left to another claim."""
    if not message_ids:
        return
    if db.get_bind().dialect.name == "postgresql":
        # Written and linked server-side in one statement: nothing travels but the ids.
        db.execute(
            sa.text(
                "WITH ins AS (INSERT INTO follow_ups (customer_id, contact_id, channel, direction,"
                " occurred_at, summary, status, message_ref, created_at)"
                " SELECT m.customer_id, m.contact_id, m.channel, 'outbound', :now,"
                " :prefix || COALESCE(m.subject, left(m.body, 300)), m.status, m.id::text, :now"
                " FROM messages m WHERE m.id = ANY(:ids) AND m.follow_up_id IS NULL"
                " AND m.customer_id IS NOT NULL AND (m.sent_at = :now OR m.status_at = :now)"
                " RETURNING id, message_ref)"
                " UPDATE messages SET follow_up_id = ins.id FROM ins"
                " WHERE messages.id = ins.message_ref::int"
            ),
            {"now": now, "prefix": f"{campaign_name}: ", "ids": list(message_ids)},
        )
        return
    rows = db.execute(
        sa.select(Message.id, Message.customer_id, Message.contact_id, Message.channel,
                  Message.status, Message.subject, Message.body)
        .where(Message.id.in_(message_ids), Message.follow_up_id.is_(None),
               Message.customer_id.is_not(None), sa.or_(Message.sent_at == now, Message.status_at == now))
    ).all()
    if not rows:
        return
    values = [
        {
            "customer_id": r.customer_id,
            "contact_id": r.contact_id,
            "channel": r.channel,
            "direction": "outbound",
            "occurred_at": now,
            "summary": f"{campaign_name}: {r.subject or (r.body or '')[:300]}",
            "status": r.status,
            "message_ref": str(r.id),
            "created_at": now,
        }
        for r in rows
    ]
    created = db.execute(
        sa.insert(FollowUp).returning(FollowUp.id, FollowUp.message_ref, sort_by_parameter_order=True),
        values,
    ).all()
    bulk_update(db, [(int(ref), fid) for fid, ref in created], ("mid", "follow_up_id"), {}, only_sending=False)

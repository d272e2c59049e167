"""Likely duplicates: customers scored alike by company key and city, or by person and company
(rapidfuzz), queued for a person to review; and the scheduled job that finds new ones."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from rapidfuzz import fuzz
from redis import Redis
from sqlalchemy.orm import Session, joinedload

from hub.core import services
from hub.core.auth import User
from hub.core.bulk import one_of, prefer_btree_lookups
from hub.core.clock import utcnow
from hub.core.db import session_scope
from hub.core.pagination import Page, paginate
from hub.core.refusals import Conflict, Forbidden, NotFound
from hub.crm.customers.duplicate_models import CandidateStatus, DuplicateCandidate
from hub.crm.customers.merge import can_merge
from hub.crm.customers.models import Contact, CrmSetting, Customer

QUEUE_AT = 85  # a pair scoring this or more is queued for review
SIMILAR_KEY = 88  # company keys this alike (rapidfuzz ratio) may be one company
PERSON_COMPANY = 75  # with the same contact person, companies this alike may be one
BATCH = 500
COMMON_NAME = 20  # contacts sharing a name beyond this are not matched by it
CHECKPOINT = "duplicates.checked_through"


@dataclass(frozen=True)
class _Entry:
    id: int
    key: str
    city: str
    block: str = ""


def score_company_city(a_key: str, a_city: str, b_key: str, b_city: str) -> int | None:
    """Same company (by key, or keys this alike) in the same city; a missing city counts as
    the same one, a different city does not (a chain's branches are separate customers)."""
    if not a_key or not b_key:
        return None
    if a_city and b_city and a_city != b_city:
        return None
    ratio = 100 if a_key == b_key else int(fuzz.ratio(a_key, b_key))
    if ratio < SIMILAR_KEY:
        return None
    # A missing city is weaker evidence than the same one.
    return ratio if (a_city and b_city) else ratio - 10


def score_person_company(a_key: str, b_key: str) -> int | None:
    """The same contact person at two companies this alike."""
    ratio = int(fuzz.ratio(a_key, b_key))
    if ratio < PERSON_COMPANY:
        return None
    return round(40 + 0.6 * ratio)


def find_likely_duplicates(db: Session, customer_ids: Sequence[int]) -> int:
    """Score these customers against all others; queue new pairs at or over QUEUE_AT. A pair
    already queued, merged or dismissed is not queued again. Returns how many were queued."""
    if not customer_ids:
        return 0
    prefer_btree_lookups(db)
    batch = [
        _Entry(r.id, r.company_key, r.city or "", r.match_block)
        for r in db.execute(
            sa.select(Customer.id, Customer.company_key, Customer.city, Customer.match_block).where(
                one_of(db, Customer.id, customer_ids)
            )
        )
    ]
    found: dict[tuple[int, int], tuple[int, str]] = {}

    def keep(a: int, b: int, score: int | None, reason: str) -> None:
        if a == b or score is None or score < QUEUE_AT:
            return
        pair = (min(a, b), max(a, b))
        if pair not in found or found[pair][0] < score:
            found[pair] = (score, reason)

    for other, entries in _neighbours(db, batch):
        for e in entries:
            keep(
                e.id, other.id, score_company_city(e.key, e.city, other.key, other.city), "company"
            )
    for a, a_key, b, b_key in _same_person(db, [e.id for e in batch]):
        keep(a, b, score_person_company(a_key, b_key), "person")
    if not found:
        return 0
    ids = {i for pair in found for i in pair}
    known = {
        (r[0], r[1])
        for r in db.execute(
            sa.select(DuplicateCandidate.first_id, DuplicateCandidate.second_id).where(
                DuplicateCandidate.first_id.in_(ids), DuplicateCandidate.second_id.in_(ids)
            )
        )
    }
    new = [(pair, sr) for pair, sr in found.items() if pair not in known]
    db.add_all(
        DuplicateCandidate(first_id=a, second_id=b, score=score, reason=reason)
        for (a, b), (score, reason) in new
    )
    db.flush()
    return len(new)


def _neighbours(db: Session, batch: list[_Entry]) -> Iterable[tuple[_Entry, list[_Entry]]]:
    """(other customer, batch entries it may duplicate): the same key anywhere, and keys alike
    within the same city and match block (an indexed pair), so the work per customer stays
    small however many customers a city has. Two joins for the whole batch; rapidfuzz scores
    only the pairs they return."""
    mine = {e.id: e for e in batch if e.key}
    if not mine:
        return
    n, o = sa.orm.aliased(Customer), sa.orm.aliased(Customer)
    for r in db.execute(
        sa.select(n.id, o.id, o.company_key, o.city)
        .join(o, o.company_key == n.company_key)
        .where(one_of(db, n.id, mine))
    ):
        yield _Entry(r[1], r[2], r[3] or ""), [mine[r[0]]]
    # Keys alike in the same city and block: the best ten at or over SIMILAR_KEY per customer
    # (equal keys came from the join above).
    alike: dict[int, list[tuple[float, int, _Entry]]] = defaultdict(list)
    for r in db.execute(
        sa.select(n.id, o.id, o.company_key, o.city)
        .join(
            o,
            sa.and_(
                o.city == n.city, o.match_block == n.match_block, o.company_key != n.company_key
            ),
        )
        .where(one_of(db, n.id, mine), n.city != "", n.match_block != "")
    ):
        e = mine[r[0]]
        score = fuzz.ratio(e.key, r[2], score_cutoff=SIMILAR_KEY)
        if score:
            alike[e.id].append((-score, r[1], _Entry(r[1], r[2], r[3])))
    for eid, candidates in alike.items():
        for _score, _id, other in sorted(candidates)[:10]:
            yield other, [mine[eid]]


def _same_person(db: Session, ids: list[int]) -> list[tuple[int, str, int, str]]:
    """(customer, key, other customer, key) where both have a contact of the same name. A name
    many contacts share (张伟) says little about who is who, and is left out."""
    mine = (
        sa.select(Contact.name, Contact.customer_id)
        .where(one_of(db, Contact.customer_id, ids))
        .subquery()
    )
    # Whether a name is rare is decided by counting at most COMMON_NAME + 1 of its contacts, so
    # a common name costs a short index range, not all of its thousands of rows.
    same_name = sa.orm.aliased(Contact)
    counted = (
        sa.select(sa.literal(1))
        .where(same_name.name == mine.c.name)
        .limit(COMMON_NAME + 1)
        .correlate(mine)
        .subquery()
    )
    # One subquery answering "rare?" (a BETWEEN on the count would run the count twice).
    rare = sa.select(sa.func.count().between(2, COMMON_NAME)).select_from(counted)
    is_rare = rare.scalar_subquery()
    a, b = sa.orm.aliased(Customer), sa.orm.aliased(Customer)
    rows = db.execute(
        sa.select(mine.c.customer_id, a.company_key, Contact.customer_id, b.company_key)
        .join(Contact, Contact.name == mine.c.name)
        .join(a, a.id == mine.c.customer_id)
        .join(b, b.id == Contact.customer_id)
        .where(Contact.customer_id != mine.c.customer_id, is_rare)
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


# --- the scheduled finder -------------------------------------------------------------------


def find_new_duplicates(db: Session, batches: int | None = None) -> int:
    """Check customers added since the last run, in keyset batches, moving the checkpoint."""
    setting = db.get(CrmSetting, CHECKPOINT)
    last = int(setting.value) if setting else 0
    queued = 0
    done = 0
    while batches is None or done < batches:
        ids = list(
            db.scalars(
                sa.select(Customer.id).where(Customer.id > last).order_by(Customer.id).limit(BATCH)
            )
        )
        if not ids:
            break
        queued += find_likely_duplicates(db, ids)
        last = ids[-1]
        if setting is None:
            setting = CrmSetting(key=CHECKPOINT, value=last)
            db.add(setting)
        setting.value = last
        db.flush()
        done += 1
    return queued


def duplicates_job() -> int:
    """RQ job: queue likely duplicates among customers added since the last run."""
    with session_scope() as s:
        return find_new_duplicates(s)


def enqueue_duplicates_job(connection: Redis) -> list[str]:
    """For the periodic schedule."""
    job = services.queue("bulk", connection).enqueue(duplicates_job, result_ttl=86400)
    return [job.id]


# --- the review queue -----------------------------------------------------------------------


def review_queue(db: Session, user: User, query: str = "", page: int = 1) -> Page:
    """Open pairs, the likeliest first; `query` finds a name on either side."""
    stmt = open_pairs(user, query).order_by(DuplicateCandidate.score.desc(), DuplicateCandidate.id)
    return paginate(db, stmt, page, 25)


def open_pairs(user: User, query: str = "") -> sa.Select[tuple[DuplicateCandidate]]:
    """The open pairs (unordered), both customers loaded; `query` finds a name on either side."""
    if not can_merge(user):
        raise Forbidden(_("Only a director or an admin may merge customers."))
    stmt = (
        sa.select(DuplicateCandidate)
        .where(DuplicateCandidate.status == CandidateStatus.OPEN.value)
        .options(joinedload(DuplicateCandidate.first), joinedload(DuplicateCandidate.second))
    )
    text = query.strip().lower()
    if text:
        names = sa.select(Customer.id).where(
            sa.func.lower(Customer.name).contains(text, autoescape=True)
        )
        stmt = stmt.where(
            sa.or_(DuplicateCandidate.first_id.in_(names), DuplicateCandidate.second_id.in_(names))
        )
    return stmt


def open_count(db: Session) -> int:
    return (
        db.scalar(
            sa.select(sa.func.count())
            .select_from(DuplicateCandidate)
            .where(DuplicateCandidate.status == CandidateStatus.OPEN.value)
        )
        or 0
    )


def load_candidate(db: Session, user: User, candidate_id: int) -> DuplicateCandidate:
    if not can_merge(user):
        raise Forbidden(_("Only a director or an admin may merge customers."))
    candidate = db.get(DuplicateCandidate, candidate_id) if 0 < candidate_id < 2**31 else None
    if candidate is None:
        raise NotFound(_("There is no such pair of likely duplicates."))
    return candidate


def dismiss(db: Session, user: User, candidate: DuplicateCandidate) -> None:
    """Reviewed: two different customers. The pair is not queued again."""
    if candidate.status != CandidateStatus.OPEN:
        raise Conflict(_("This pair has already been reviewed."))
    candidate.status = CandidateStatus.DISMISSED.value
    candidate.reviewed_by_id = user.id
    candidate.reviewed_at = utcnow()

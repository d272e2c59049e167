"""Likely duplicates: customers scored alike by company key and city, or by person and company
(rapidfuzz), queued for a person to review; and the scheduled job that finds new ones."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from rapidfuzz import fuzz, process
from redis import Redis
from sqlalchemy.orm import Session, joinedload

from hub import services
from hub.auth import User
from hub.crm.bulk import prefer_btree_lookups
from hub.crm.duplicate_models import CandidateStatus, DuplicateCandidate
from hub.crm.merge import can_merge
from hub.crm.models import Contact, CrmSetting, Customer
from hub.db import session_scope, utcnow
from hub.pagination import Page, paginate
from hub.validation import Conflict, Forbidden, NotFound

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
                Customer.id.in_(customer_ids)
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
    small however many customers a city has."""
    by_key: dict[str, list[_Entry]] = defaultdict(list)
    by_block: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
    for e in batch:
        if e.key:
            by_key[e.key].append(e)
            if e.city and e.block:
                by_block[(e.city, e.block)].append(e)
    if by_key:
        for r in db.execute(
            sa.select(Customer.id, Customer.company_key, Customer.city).where(
                Customer.company_key.in_(list(by_key))
            )
        ):
            yield _Entry(r.id, r.company_key, r.city or ""), by_key[r.company_key]
    if not by_block:
        return
    # One query per city of the batch, for its blocks: an index range each, never a scan.
    blocks_by_city: dict[str, list[str]] = defaultdict(list)
    for city, block in by_block:
        blocks_by_city[city].append(block)
    others: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
    for city, blocks in blocks_by_city.items():
        for r in db.execute(
            sa.select(Customer.id, Customer.company_key, Customer.match_block).where(
                Customer.city == city, Customer.match_block.in_(blocks)
            )
        ):
            others[(city, r.match_block)].append(_Entry(r.id, r.company_key, city))
    for group, entries in by_block.items():
        candidates = others[group]
        choices = [o.key for o in candidates]
        for e in entries:
            for _key, _score, i in process.extract(
                e.key, choices, scorer=fuzz.ratio, score_cutoff=SIMILAR_KEY, limit=10
            ):
                if candidates[i].key != e.key:  # equal keys came from the query above
                    yield candidates[i], [e]


def _same_person(db: Session, ids: list[int]) -> list[tuple[int, str, int, str]]:
    """(customer, key, other customer, key) where both have a contact of the same name. A name
    many contacts share (张伟) says little about who is who, and is left out."""
    names = set(db.scalars(sa.select(Contact.name).where(Contact.customer_id.in_(ids))))
    if not names:
        return []
    rare = [
        name
        for name, n in db.execute(
            sa.select(Contact.name, sa.func.count())
            .where(Contact.name.in_(names))
            .group_by(Contact.name)
        )
        if 1 < n <= COMMON_NAME
    ]
    if not rare:
        return []
    mine = (
        sa.select(Contact.name, Contact.customer_id)
        .where(Contact.customer_id.in_(ids), Contact.name.in_(rare))
        .subquery()
    )
    a, b = sa.orm.aliased(Customer), sa.orm.aliased(Customer)
    rows = db.execute(
        sa.select(mine.c.customer_id, a.company_key, Contact.customer_id, b.company_key)
        .join(Contact, Contact.name == mine.c.name)
        .join(a, a.id == mine.c.customer_id)
        .join(b, b.id == Contact.customer_id)
        .where(Contact.customer_id != mine.c.customer_id)
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

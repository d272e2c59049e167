"""Realistic demo data: staff, and customers with Chinese and English names, numbers and owners."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.core.auth import Role, User, create_user, generate_password
from hub.core.clock import business_today, business_zone, utcnow
from hub.crm.customers.models import Contact, Customer
from hub.crm.followups.models import FollowUp

DEMO_STAFF = [
    ("director@demo.contact-hub.example", "王丽 Wang Li", Role.DIRECTOR),
    ("specialist@demo.contact-hub.example", "Emma Clarke", Role.SPECIALIST),
    ("agent1@demo.contact-hub.example", "张伟 Zhang Wei", Role.AGENT),
    ("agent2@demo.contact-hub.example", "Lucas Meyer", Role.AGENT),
    ("agent3@demo.contact-hub.example", "刘洋 Liu Yang", Role.AGENT),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文玉兰晨宇浩然子轩欣怡梓涵"
CN_CITIES = ["北京", "上海", "广州", "深圳", "郑州", "杭州", "南京", "成都", "武汉", "苏州", "洛阳"]
CN_WORDS = ["华信", "宏达", "金石", "恒通", "瑞丰", "新源", "天成", "鼎盛", "嘉禾", "中联", "博远"]
CN_TRADES = ["科技", "贸易", "机械", "食品", "医药", "建材", "电子", "物流", "服饰", "农业"]
CN_SUFFIXES = ["有限公司", "有限责任公司", "股份有限公司"]
EN_FIRST = ["Oliver", "Amelia", "James", "Sophia", "Noah", "Isla", "Ethan", "Mia", "Leo", "Grace"]
EN_LAST = [
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Evans",
    "Walker",
    "Hughes",
    "Lee",
    "Khan",
]
EN_WORDS = ["Northwind", "Blue Harbor", "Redwood", "Summit", "Silverline", "Brightway", "Oakfield"]
EN_TRADES = ["Trading", "Logistics", "Foods", "Machinery", "Textiles", "Electronics", "Supplies"]
EN_SUFFIXES = ["Co., Ltd.", "Inc.", "LLC", "Ltd."]
REGIONS = ["Beijing", "Shanghai", "Guangdong", "Henan", "Zhejiang", "Jiangsu", "Sichuan", "Hubei"]
LEAD_SOURCES = ["website", "import", "referral", "exhibition", "call", "manual"]
CN_TITLES = ["总经理", "采购经理", "财务主管", "销售总监", "行政主管"]
EN_TITLES = ["Purchasing Manager", "CEO", "Finance Lead", "Operations Manager"]
ACTIVITIES = [
    ("call", "outbound", "Called about the spring order; asked for updated prices.", "reached"),
    ("call", "outbound", "No answer; left a voicemail.", "no answer"),
    ("email", "outbound", "Sent the catalogue and price list.", "sent"),
    ("visit", "outbound", "拜访客户，介绍新产品，客户对 B 系列感兴趣。", "interested"),
    ("meeting", "internal", "Reviewed the account with the director.", None),
    ("call", "inbound", "客户来电询问交货时间。", "answered"),
    ("note", "internal", "Prefers WeChat in the afternoon.", None),
]
INDUSTRIES = [
    "manufacturing",
    "retail",
    "wholesale",
    "healthcare",
    "logistics",
    "food",
    "education",
]


@dataclass(frozen=True)
class DemoResult:
    customers: int
    staff_created: list[str]
    staff_password: str | None


def _valid(number: str) -> str | None:
    parsed = phonenumbers.parse(number, None)
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _phone(rng: random.Random, chinese: bool) -> str:
    while True:
        if chinese:
            prefix = rng.choice(["138", "139", "150", "186", "177", "135", "188"])
            candidate = f"+86{prefix}{rng.randrange(10**8):08d}"
        else:
            area = rng.choice(["212", "415", "312", "617", "206"])
            candidate = f"+1{area}{rng.randrange(200, 1000)}{rng.randrange(10**4):04d}"
        number = _valid(candidate)
        if number:
            return number


def _person_name(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
    return f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"


def _customer(rng: random.Random, owners: list[int], seq: int, today: date) -> dict[str, object]:
    chinese = rng.random() < 0.7
    person = rng.random() < 0.3
    if person:
        name = _person_name(rng, chinese)
    elif chinese:
        name = (
            rng.choice(CN_CITIES)
            + rng.choice(CN_WORDS)
            + rng.choice(CN_TRADES)
            + rng.choice(CN_SUFFIXES)
        )
    else:
        name = f"{rng.choice(EN_WORDS)} {rng.choice(EN_TRADES)} {rng.choice(EN_SUFFIXES)}"
    now = utcnow()
    stage = rng.choices(["lead", "prospect", "customer", "inactive"], weights=[2, 2, 10, 1])[0]
    cls = rng.choices("ABC", weights=[2, 3, 5])[0]
    return {
        "kind": "person" if person else "organization",
        "name": name,
        "stage": stage,
        "lead_source": rng.choice(LEAD_SOURCES),
        "phone": _phone(rng, chinese),
        # Numbered so that generated addresses never collide, and on a domain that cannot exist.
        "email": f"customer{seq}@example.{'cn' if chinese else 'com'}",
        "customer_class": cls,
        "region": rng.choice(REGIONS) if chinese else "Overseas",
        "city": rng.choice(CN_CITIES) if chinese else rng.choice(["New York", "Boston", "Seattle"]),
        "industry": rng.choice(INDUSTRIES),
        "size": rng.choice(["1-10", "11-50", "51-200", "201-1000", "1000+"])
        if not person
        else None,
        "credit_limit": Decimal(rng.choice([50_000, 100_000, 300_000, 1_000_000]))
        if not person
        else None,
        "credit_term_days": rng.choice([30, 45, 60, 90]) if not person else None,
        "next_credit_review": today + timedelta(days=rng.randint(-20, 180)) if not person else None,
        "owner_id": rng.choice(owners) if owners else None,
        # Spread around today, so that every rep has something due and something overdue.
        "next_contact_on": today + timedelta(days=rng.randint(-5, 14)),
        "last_contact_at": now - timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 9)),
        "created_at": now - timedelta(days=rng.randint(60, 720)),
        "updated_at": now,
    }


def _contacts(
    rng: random.Random, customer_id: int, customer: dict[str, object]
) -> list[dict[str, object]]:
    chinese = str(customer["region"]) != "Overseas"
    if customer["kind"] == "person":
        people: list[tuple[str, str | None]] = [(str(customer["name"]), None)]
    else:
        titles = CN_TITLES if chinese else EN_TITLES
        people = [
            (_person_name(rng, chinese), rng.choice(titles)) for _ in range(rng.randint(1, 3))
        ]
    rows = []
    for i, (name, title) in enumerate(people):
        rows.append(
            {
                "customer_id": customer_id,
                "name": name,
                "title": title,
                "phone": _phone(rng, chinese),
                "email": f"c{customer_id}.{i}@example.{'cn' if chinese else 'com'}",
                "is_decision_maker": i == 0,
                "birthday": date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28)),
                "language": "zh_Hans" if chinese else "en",
                "timezone": "Asia/Shanghai" if chinese else "America/New_York",
                "created_at": customer["created_at"],
                "updated_at": customer["updated_at"],
            }
        )
    return rows


def _follow_ups(
    rng: random.Random, customer_id: int, customer: dict[str, object]
) -> list[dict[str, object]]:
    rows = []
    last = customer["last_contact_at"]
    assert isinstance(last, datetime)
    for n in range(rng.randint(1, 4)):
        channel, direction, summary, outcome = rng.choice(ACTIVITIES)
        rows.append(
            {
                "customer_id": customer_id,
                "user_id": customer["owner_id"],
                "channel": channel,
                "direction": direction,
                "summary": summary,
                "outcome": outcome,
                "occurred_at": last - timedelta(days=n * rng.randint(3, 20)),
                "created_at": last,
                "next_contact_on": customer["next_contact_on"] if n == 0 else None,
            }
        )
    return rows


def ensure_demo_staff(db: Session) -> tuple[list[User], list[str], str | None]:
    """The demo staff, creating the missing ones with one shared new password.

    Demo accounts are exempt from choosing their own password at first sign-in: they exist to
    walk through the roles with one password, and have no place on an instance with real data.
    """
    password = generate_password()
    created: list[str] = []
    users = []
    for email, name, role in DEMO_STAFF:
        user = db.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = create_user(db, email, role.value, password, name=name)
            created.append(email)
        users.append(user)
    return users, created, password if created else None


def generate_demo(
    db: Session,
    customers: int,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int = 1000,
) -> DemoResult:
    """Add demo customers with contacts and a follow-up history, owned by the demo agents,
    opportunities, orders and complaints on some of them, and campaigns, survey answers, calls
    and messages for the dashboards (added alongside existing data)."""
    if customers < 0:
        raise ValueError("the number of customers cannot be negative")
    rng = random.Random(seed)
    staff, created, password = ensure_demo_staff(db)
    owners = [u.id for u in staff if u.role == Role.AGENT]
    start = (db.scalar(sa.select(sa.func.max(Customer.id))) or 0) + 1
    today = business_today()
    new_ids: list[int] = []
    done = 0
    while done < customers:
        size = min(chunk, customers - done)
        rows = [_customer(rng, owners, start + done + i, today) for i in range(size)]
        ids = list(
            db.scalars(
                sa.insert(Customer).returning(Customer.id, sort_by_parameter_order=True), rows
            )
        )
        contacts = [c for cid, row in zip(ids, rows, strict=True) for c in _contacts(rng, cid, row)]
        db.execute(sa.insert(Contact), contacts)
        history = [
            f for cid, row in zip(ids, rows, strict=True) for f in _follow_ups(rng, cid, row)
        ]
        db.execute(sa.insert(FollowUp), history)
        new_ids.extend(ids)
        done += size
        if progress:
            progress(size)
    if new_ids:
        _demo_sales(db, rng, new_ids, staff)
        from hub.insight.demo_activity import demo_activity

        demo_activity(db, rng, new_ids, staff, today)
        # Older activity than the five-minute refresh covers: the dashboards see it at once.
        from hub.insight.summaries import refresh_all

        refresh_all(db, business_zone())
    return DemoResult(customers=customers, staff_created=created, staff_password=password)


def _demo_sales(db: Session, rng: random.Random, ids: list[int], staff: list[User]) -> None:
    """Opportunities, orders and complaints on a sample of the new customers."""
    try:
        from hub.crm.sales.demo import demo_sales
    except ImportError:  # the sales records are not part of this build yet
        return
    sample = sorted(rng.sample(ids, min(len(ids), 2000)))
    customers = list(db.scalars(sa.select(Customer).where(Customer.id.in_(sample))))
    demo_sales(db, rng, customers, staff)

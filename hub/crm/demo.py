"""Realistic demo data: staff, and customers with Chinese and English names, numbers and owners."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.auth import Role, User, create_user, generate_password
from hub.crm.models import Customer
from hub.db import utcnow

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


def _customer(rng: random.Random, owners: list[int], seq: int) -> dict[str, object]:
    chinese = rng.random() < 0.7
    person = rng.random() < 0.3
    if chinese and person:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
    elif chinese:
        name = (
            rng.choice(CN_CITIES)
            + rng.choice(CN_WORDS)
            + rng.choice(CN_TRADES)
            + rng.choice(CN_SUFFIXES)
        )
    elif person:
        name = f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"
    else:
        name = f"{rng.choice(EN_WORDS)} {rng.choice(EN_TRADES)} {rng.choice(EN_SUFFIXES)}"
    now = utcnow()
    return {
        "kind": "person" if person else "organization",
        "name": name,
        "phone": _phone(rng, chinese),
        # Numbered so that generated addresses never collide, and on a domain that cannot exist.
        "email": f"customer{seq}@example.{'cn' if chinese else 'com'}",
        "customer_class": rng.choices("ABC", weights=[2, 3, 5])[0],
        "region": rng.choice(REGIONS) if chinese else "Overseas",
        "industry": rng.choice(INDUSTRIES),
        "owner_id": rng.choice(owners) if owners else None,
        "created_at": now,
        "updated_at": now,
    }


def ensure_demo_staff(db: Session) -> tuple[list[User], list[str], str | None]:
    """The demo staff, creating the missing ones with one shared new password."""
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
    """Add `customers` demo customers owned by the demo agents (added alongside existing data)."""
    if customers < 0:
        raise ValueError("the number of customers cannot be negative")
    rng = random.Random(seed)
    staff, created, password = ensure_demo_staff(db)
    owners = [u.id for u in staff if u.role == Role.AGENT]
    start = (db.scalar(sa.select(sa.func.max(Customer.id))) or 0) + 1
    done = 0
    while done < customers:
        size = min(chunk, customers - done)
        rows = [_customer(rng, owners, start + done + i) for i in range(size)]
        db.execute(sa.insert(Customer), rows)
        done += size
        if progress:
            progress(size)
    return DemoResult(customers=customers, staff_created=created, staff_password=password)

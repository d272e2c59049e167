"""Demo sales records: opportunities in every stage, 18 months of orders where a few customers buy
most, and complaints at several steps, in Chinese and English."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.core.auth import Role, User
from hub.core.clock import business_today, utcnow
from hub.crm.customers.models import Customer
from hub.crm.sales.models import Order, OrderLine
from hub.crm.sales.opportunity_changes import create_opportunity
from hub.crm.sales.opportunity_pipeline import ladder, move_stage, pipeline_stages
from hub.crm.sales.order_fields import clean_lines
from hub.crm.service.complaint_changes import create_complaint
from hub.crm.service.complaint_steps import advance_step
from hub.crm.service.models import STEPS

# (name, lowest unit price, highest unit price)
PRODUCTS = [
    ("不锈钢球阀 Stainless ball valve DN50", 180, 420),
    ("铜闸阀 Brass gate valve DN25", 60, 150),
    ("离心泵 Centrifugal pump 7.5 kW", 3200, 6800),
    ("变频器 Frequency inverter 11 kW", 2400, 4100),
    ("PVC 管材 PVC pipe 4 m", 18, 45),
    ("法兰垫片 Flange gasket", 2, 9),
    ("压力表 Pressure gauge 0-1.6 MPa", 35, 90),
    ("电磁流量计 Electromagnetic flowmeter", 5200, 9800),
    ("Stainless steel bolts M12 (box of 100)", 40, 85),
    ("Industrial hose 25 m", 260, 540),
]
OPPORTUNITY_TITLES = [
    "年度采购框架协议",
    "新厂区管网改造",
    "备件年度供应",
    "Pump replacement programme",
    "Annual valve supply",
    "Water treatment upgrade",
    "二期项目设备采购",
    "Spare parts contract renewal",
]
LOST_REASONS = [
    "价格高于竞争对手",
    "预算推迟到明年",
    "Chose a local supplier",
    "Project cancelled",
    "交期无法满足",
]
COMPLAINTS = [
    ("阀门使用两周后漏水。", "密封圈老化", "不锈钢球阀 Stainless ball valve DN50"),
    ("到货包装破损，两台泵外壳有凹痕。", "运输破损", "离心泵 Centrifugal pump 7.5 kW"),
    ("The inverter trips under full load.", "Wrong parameter set", "变频器 Frequency inverter"),
    ("Delivery arrived five days late.", "Carrier delay", None),
    ("发票金额与合同不符。", "开票错误", None),
]
CHANNELS = ["call", "call", "email", "wechat", "visit", "web", "sms"]


def demo_sales(
    db: Session, rng: random.Random, customers: list[Customer], staff: list[User]
) -> None:
    """Add opportunities, orders and complaints for `customers`, worked by `staff`."""
    if not customers:
        return
    director = next((u for u in staff if u.role in (Role.DIRECTOR, Role.ADMIN)), None)
    by_id = {u.id: u for u in staff}

    def actor(customer: Customer) -> User | None:
        # The rep who owns the customer works it; a director covers for customers without one.
        owner = by_id.get(customer.owner_id) if customer.owner_id else None
        return owner if owner is not None and owner.role == Role.AGENT else director

    _opportunities(db, rng, customers, actor)
    buyers = _orders(db, rng, customers)
    _complaints(db, rng, buyers or customers, actor)
    from hub.crm.sales.receivable_demo import demo_receivables

    # An rng of its own, seeded from the shared one's state without drawing from it, so the
    # rest of the demo stays what a seed made it before receivables existed.
    demo_receivables(
        db, random.Random(hash(rng.getstate())), buyers or customers, director, business_today()
    )
    db.flush()


Actor = Callable[[Customer], User | None]


def _opportunities(
    db: Session, rng: random.Random, customers: list[Customer], actor: Actor
) -> None:
    stages = pipeline_stages(db)
    targets = list(stages)  # every stage at least once, then a spread
    weights = [2 if s in ("won", "lost") else 5 for s in stages]
    count = max(len(targets), len(customers) // 3)
    targets += rng.choices(stages, weights=weights, k=count - len(targets))
    today = business_today()
    for stage in targets:
        customer = rng.choice(customers)
        user = actor(customer)
        if user is None:
            continue
        opp = create_opportunity(
            db,
            user,
            customer,
            {
                "title": rng.choice(OPPORTUNITY_TITLES),
                "amount": str(rng.randrange(20, 800) * 1000),
                "expected_close": (today + timedelta(days=rng.randrange(-20, 120))).isoformat(),
                "probability": rng.choice([10, 20, 40, 60, 80]),
            },
        )
        # Climb to the target; a lost deal drops out somewhere before it would be won.
        climb = ladder(stages)[1:-1] if stage == "lost" else ladder(stages)[1:]
        for step in climb:
            if opp.stage == stage or (stage == "lost" and rng.random() < 0.4):
                break
            move_stage(db, user, opp, step)
        if stage == "lost":
            move_stage(db, user, opp, "lost", rng.choice(LOST_REASONS))


def _orders(db: Session, rng: random.Random, customers: list[Customer]) -> list[Customer]:
    """Orders over the last 18 months; a Pareto weight per buyer, so a few buy most."""
    today = business_today()
    buyers = rng.sample(customers, k=max(1, int(len(customers) * 0.4)))
    seq = (db.scalar(sa.select(sa.func.max(Order.id))) or 0) + 1
    for customer in buyers:
        # Alpha 1.4: the top fifth of buyers brings about 80% of the revenue.
        weight = min(rng.paretovariate(1.4), 20.0)
        for _ in range(max(1, int(weight * 1.5))):
            order_date = today - timedelta(days=rng.randrange(0, 548))
            lines = clean_lines(
                [
                    {
                        "product": name,
                        "quantity": str(int(rng.randrange(1, 20) * (1 + weight / 4))),
                        "unit_price": str(rng.randrange(low * 100, high * 100 + 1) / 100),
                    }
                    for name, low, high in rng.sample(PRODUCTS, k=rng.randrange(1, 4))
                ]
            )
            order = Order(
                customer_id=customer.id,
                contract_number=f"HT-{order_date:%Y%m}-{seq:06d}",
                order_date=order_date,
                currency="CNY",
                amount=sum((ln["amount"] for ln in lines), Decimal("0.00")),
                lines=[OrderLine(**ln) for ln in lines],
            )
            seq += 1
            _order_status(rng, order, today)
            db.add(order)
    db.flush()
    return buyers


def _order_status(rng: random.Random, order: Order, today: date) -> None:
    """A status that fits the order's age: old ones delivered (a few cancelled), new ones moving."""
    age = (today - order.order_date).days
    if rng.random() < 0.05:
        order.status = "cancelled"
        return
    if age < 3:
        order.status = rng.choice(["pending", "confirmed"])
        return
    ship = order.order_date + timedelta(days=rng.randrange(1, 6))
    if age < 6 or ship >= today:
        order.status = "confirmed"
        return
    order.ship_date = ship
    delivered = ship + timedelta(days=rng.randrange(2, 8))
    if delivered >= today:
        order.status = "shipped"
    else:
        order.status = "delivered"
        order.delivered_on = delivered


def _complaints(db: Session, rng: random.Random, customers: list[Customer], actor: Actor) -> None:
    now = utcnow()
    for i in range(max(len(STEPS), len(customers) // 10)):
        customer = rng.choice(customers)
        user = actor(customer)
        if user is None:
            continue
        content, reason, product = rng.choice(COMPLAINTS)
        order_id = db.scalar(
            sa.select(Order.id).where(Order.customer_id == customer.id).order_by(Order.id).limit(1)
        )
        complaint = create_complaint(
            db,
            user,
            customer,
            {
                "channel": rng.choice(CHANNELS),
                "content": content,
                "reason": reason,
                "product": product,
                "order_id": order_id,
                "ask_compensation": str(rng.choice([0, 500, 1200, 3000])) if i % 3 == 0 else None,
                "ask_discount_percent": str(rng.choice([5, 10])) if i % 3 == 1 else None,
                "ask_return_quantity": rng.randrange(1, 10) if i % 3 == 2 else None,
            },
        )
        # Every step at least once, then a spread; a third of the open ones are overdue.
        target = STEPS[i] if i < len(STEPS) else rng.choice(STEPS)
        for step in STEPS[1 : STEPS.index(target) + 1]:
            advance_step(db, user, complaint, step)
        if complaint.step_due_at is not None and rng.random() < 0.33:
            complaint.step_due_at = now - timedelta(hours=rng.randrange(1, 96))

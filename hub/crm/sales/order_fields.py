"""What an order body may hold: its declared fields (for forms, the API and its schemas), lines
whose amounts are computed, and the cleaning of a body into values or every problem in it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hub.core.refusals import FieldError, ValidationError
from hub.core.validation import MAX_ID, Field, parse, unknown_keys
from hub.crm.sales.models import ORDER_STATUSES
from hub.crm.sales.opportunities import check_currency, control_characters
from hub.crm.sales.orders import CENT, MAX_MONEY

ORDER_FIELDS: tuple[Field, ...] = (
    Field("contract_number", "str", _l("Contract number"), required=True, max_length=60),
    Field("order_date", "date", _l("Order date"), required=True),
    Field("currency", "str", _l("Currency"), max_length=3, description="ISO 4217, default CNY"),
    Field(
        "status",
        "choice",
        _l("Status"),
        choices=ORDER_STATUSES,
        description="Default pending; moves forward only (pending, confirmed, shipped, "
        "delivered) or to cancelled before shipping",
    ),
    Field("ship_date", "date", _l("Ship date"), description="Required once shipped"),
    Field(
        "delivered_on",
        "date",
        _l("Delivered on"),
        description="Default: today, when the status becomes delivered",
    ),
    Field("notes", "text", _l("Notes")),
)
ORDER_CREATE: tuple[Field, ...] = (
    Field("customer_id", "int", _l("Customer"), required=True, minimum=1, maximum=MAX_ID),
    *ORDER_FIELDS,
)
LINE_FIELDS: tuple[Field, ...] = (
    Field("product", "str", _l("Product"), required=True, max_length=200),
    Field(
        "quantity",
        "decimal",
        _l("Quantity"),
        required=True,
        minimum=0.001,
        maximum=1_000_000_000,
        description="Up to three decimal places",
    ),
    Field("unit_price", "decimal", _l("Unit price"), required=True, minimum=0, maximum=1e11),
)
LINE_READ_ONLY: tuple[Field, ...] = (
    Field("id", "int", read_only=True),
    Field("amount", "decimal", read_only=True, description="quantity × unit price"),
)
ORDER_READ_ONLY: tuple[Field, ...] = (
    Field("id", "int", read_only=True),
    Field("customer_id", "int", read_only=True),
    Field("amount", "decimal", read_only=True, description="The sum of the line amounts"),
    Field("created_at", "str", read_only=True),
    Field("updated_at", "str", read_only=True),
)


def _line(item: Any, i: int) -> dict[str, Any]:
    prefix = f"lines.{i}."
    if not isinstance(item, Mapping):
        raise ValidationError([FieldError(f"lines.{i}", _("Expected a line object."))])
    unknown = sorted(k for k in item if k not in {f.name for f in LINE_FIELDS})
    if unknown:
        raise ValidationError([FieldError(prefix + k, _("Unknown field.")) for k in unknown])
    values = parse(LINE_FIELDS, item, prefix=prefix)
    if control_characters(values, prefix):
        raise ValidationError(control_characters(values, prefix))
    # Parsing rounds decimals to cents; what is typed is never rounded silently instead: a
    # quantity keeps three places, a price two, and more is refused.
    errors = []
    for name, places, message in (
        ("quantity", Decimal("0.001"), _("At most three decimal places.")),
        ("unit_price", CENT, _("At most two decimal places.")),
    ):
        exact = Decimal(str(item[name]).strip().replace(",", ""))
        if exact != exact.quantize(places):
            errors.append(FieldError(prefix + name, message))
        values[name] = exact.quantize(places)
    if errors:
        raise ValidationError(errors)
    values["amount"] = (values["quantity"] * values["unit_price"]).quantize(
        CENT, rounding=ROUND_HALF_UP
    )
    if values["amount"] > MAX_MONEY:
        raise ValidationError([FieldError(f"lines.{i}", _("The line amount is too large."))])
    return values


def clean_lines(items: Any) -> list[dict[str, Any]]:
    """Validated lines with their amounts; every bad cell is named (`lines.2.quantity`)."""
    if items is None:
        raise ValidationError([FieldError("lines", _("An order needs at least one line."))])
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise ValidationError([FieldError("lines", _("Expected a list of order lines."))])
    if not items:
        raise ValidationError([FieldError("lines", _("An order needs at least one line."))])
    errors: list[FieldError] = []
    lines = []
    for i, item in enumerate(items):
        try:
            lines.append(_line(item, i))
        except ValidationError as exc:
            errors.extend(exc.errors)
    if not errors and sum(line["amount"] for line in lines) > MAX_MONEY:
        errors.append(FieldError("lines", _("The order amount is too large.")))
    if errors:
        raise ValidationError(errors)
    return lines


def parse_order(
    data: Mapping[str, Any], partial: bool = False, with_customer: bool = False
) -> dict[str, Any]:
    """Clean values of an order body with its lines, or every problem in it at once."""
    fields = ORDER_CREATE if with_customer else ORDER_FIELDS
    unknown_keys(fields, data, allowed=("lines",))
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    try:
        values = parse(fields, data, partial=partial)
    except ValidationError as exc:
        errors.extend(exc.errors)
    if "lines" in data or not partial:
        try:
            values["lines"] = clean_lines(data.get("lines"))
        except ValidationError as exc:
            errors.extend(exc.errors)
    errors.extend(control_characters({k: v for k, v in values.items() if k != "lines"}))
    try:
        check_currency(values)
    except ValidationError as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationError(errors)
    return values

"""Message templates rendered in a Jinja2 sandbox with a fixed set of variables and filters, and
the SMS segment count of a text (GSM-7 or UCS-2)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from hub.core.refusals import FieldError

VARIABLES = ("contact", "customer", "owner", "unsubscribe_url", "survey_url", "receivable")
FILTERS = (
    "capitalize", "date", "default", "e", "escape", "first", "int", "join", "last", "length",
    "lower", "replace", "round", "title", "trim", "truncate", "upper",
)


def _date(value: Any, fmt: str = "%Y-%m-%d") -> str:
    """Format a date; anything else (an empty birthday) renders as it is."""
    if isinstance(value, date):
        return value.strftime(fmt[:40])
    return "" if value is None else str(value)


# Bounds on what one expression may build: a message is a few kilobytes, and a template that
# multiplies a string by a billion must fail, not take the worker's memory with it.
MAX_BUILT = 100_000
MAX_EXPONENT = 64


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent above {MAX_EXPONENT} is not allowed")
        if operator == "*":
            for sized, times in ((left, right), (right, left)):
                if (
                    isinstance(sized, str | list | tuple)
                    and isinstance(times, int)
                    and len(sized) * times > MAX_BUILT
                ):
                    raise SecurityError(f"a result over {MAX_BUILT:,} characters is not allowed")
        return super().call_binop(context, operator, left, right)


def _replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    """`replace`, bounded: chained replacements cannot grow a text past MAX_BUILT."""
    text = str(value)
    out = text.replace(str(old), str(new)) if count is None else text.replace(old, new, count)
    if len(out) > MAX_BUILT:
        raise SecurityError(f"a result over {MAX_BUILT:,} characters is not allowed")
    return out


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = _BoundedEnvironment(
        autoescape=autoescape, undefined=StrictUndefined, auto_reload=False, cache_size=0
    )
    # Only the listed filters and no globals (range, lipsum, cycler...): a template cannot loop
    # a million times or reach anything but the variables it is given.
    kept = {name: env.filters[name] for name in FILTERS if name in env.filters}
    kept["date"] = _date
    kept["replace"] = _replace
    env.filters = kept
    env.globals = {}
    env.tests = {k: v for k, v in env.tests.items() if k in ("defined", "none", "number", "string")}
    return env


TEXT_ENV = _environment(autoescape=False)
HTML_ENV = _environment(autoescape=True)


class RenderError(Exception):
    """A template failed for one recipient; `reason` says why, for the failed-recipients list."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_source(field: str, source: str, html: bool = False) -> list[FieldError]:
    """Syntax errors, unknown filters and unknown variables of one part, naming field and line."""
    env = HTML_ENV if html else TEXT_ENV
    try:
        tree = env.parse(source)
        env.from_string(source)  # an unknown filter is found only when compiling
        names = meta.find_undeclared_variables(tree)
    except TemplateSyntaxError as exc:
        message = exc.message or str(exc)
        return [FieldError(field, _("Line %(line)d: %(error)s", line=exc.lineno or 0, error=message))]
    unknown = sorted(names - set(VARIABLES))
    if unknown:
        return [
            FieldError(
                field,
                _(
                    "Unknown variable(s) %(names)s; the variables are: %(choices)s.",
                    names=", ".join(unknown),
                    choices=", ".join(VARIABLES),
                ),
            )
        ]
    return []


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    body: str
    html: str | None


class CompiledTemplate:
    """A template's parts compiled once, rendered for many recipients."""

    def __init__(self, subject: str | None, body: str, html: str | None):
        self.subject = TEXT_ENV.from_string(subject) if subject else None
        self.body = TEXT_ENV.from_string(body)
        self.html = HTML_ENV.from_string(html) if html else None

    def render(self, context: dict[str, Any]) -> Rendered:
        """The parts for one recipient, or RenderError with the reason."""
        try:
            subject = self.subject.render(context).strip() if self.subject else None
            body = self.body.render(context)
            html = self.html.render(context) if self.html else None
        except TemplateError as exc:
            raise RenderError(_("Template error: %(error)s", error=str(exc))) from None
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise RenderError(_("Template error: %(error)s", error=str(exc))) from None
        if subject is not None and not subject:
            raise RenderError(_("The subject is empty for this recipient."))
        if not body.strip():
            raise RenderError(_("The message is empty for this recipient."))
        return Rendered(subject=subject[:300] if subject else None, body=body, html=html)


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    # None would render as "None"; an empty string is what a template author expects.
    return {k: ("" if v is None else v) for k, v in values.items()}


def receivable_vars(receivable: Any, today: date) -> dict[str, Any]:
    """What a template may say about an amount due: plain values, never the ORM object."""
    return {
        "amount": f"{receivable.amount:.2f}",
        "outstanding": f"{receivable.outstanding:.2f}",
        "currency": receivable.currency,
        "due_on": receivable.due_on.isoformat(),
        "days_overdue": max(0, (today - receivable.due_on).days),
        "description": receivable.description or "",
        "promised_on": receivable.promised_on.isoformat() if receivable.promised_on else "",
    }


# Outside a payment reminder (a campaign, another care rule) `receivable` is there but blank, so
# a template saved with it still renders instead of failing for every recipient.
NO_RECEIVABLE: dict[str, Any] = {
    "amount": "", "outstanding": "", "currency": "", "due_on": "", "days_overdue": 0,
    "description": "", "promised_on": "",
}


def context_for(
    contact: Any, customer: Any, owner: Any, unsubscribe_url: str = "", survey_url: str = "",
    receivable: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The fixed variables for one recipient: plain values, never the ORM objects themselves."""
    return {
        "contact": _clean(
            {
                "name": contact.name,
                "title": contact.title,
                "email": contact.email,
                "phone": contact.phone,
                "birthday": contact.birthday,
                "language": contact.language,
            }
        ),
        "customer": _clean(
            {
                "name": customer.name,
                "class": customer.customer_class,
                "region": customer.region,
                "city": customer.city,
                "industry": customer.industry,
            }
        ),
        "owner": _clean(
            {
                "name": owner.display_name if owner else "",
                "email": owner.email if owner else "",
            }
        ),
        "unsubscribe_url": unsubscribe_url,
        "survey_url": survey_url,
        "receivable": receivable if receivable is not None else dict(NO_RECEIVABLE),
    }


# GSM 03.38: the basic set costs one septet a character, the extension set two.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def sms_size(text: str) -> SmsSize:
    """How an SMS text is encoded and how many segments it takes (160/153 or 70/67)."""
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        units = sum(2 if c in GSM_EXTENDED else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else math.ceil(units / multi)
    return SmsSize(encoding, units, segments)

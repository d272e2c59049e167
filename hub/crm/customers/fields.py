"""The declared fields of customers and contacts: forms, the API and OpenAPI all read these."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from hub.core.validation import Field
from hub.crm.customers.models import CustomerKind, LeadSource, Stage

SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
CUSTOMER_GROUPS = {
    "basic": _l("Basic"),
    "credit": _l("Credit"),
    "business": _l("Business"),
    "other": _l("Other"),
}

CUSTOMER_FIELDS: tuple[Field, ...] = (
    Field("name", "str", _l("Name"), required=True, max_length=200, group="basic"),
    Field(
        "kind", "choice", _l("Kind"), choices=tuple(k.value for k in CustomerKind), group="basic"
    ),
    Field("stage", "choice", _l("Stage"), choices=tuple(s.value for s in Stage), group="basic"),
    Field(
        "lead_source",
        "choice",
        _l("Lead source"),
        choices=tuple(s.value for s in LeadSource),
        group="basic",
    ),
    Field("phone", "phone", _l("Phone"), group="basic"),
    Field("fax", "phone", _l("Fax"), group="basic"),
    Field("email", "email", _l("Email"), max_length=254, group="basic"),
    Field("website", "url", _l("Website"), max_length=200, group="basic"),
    Field("address", "str", _l("Address"), max_length=300, group="basic"),
    Field("postcode", "str", _l("Postcode"), max_length=20, group="basic"),
    Field("city", "str", _l("City"), max_length=80, group="basic"),
    Field("region", "str", _l("Region"), max_length=80, group="basic"),
    Field("industry", "str", _l("Industry"), max_length=80, group="basic"),
    Field("size", "choice", _l("Size (staff)"), choices=SIZES, group="basic"),
    Field("tax_number", "str", _l("Tax number"), max_length=40, group="basic"),
    Field("registration_number", "str", _l("Registration number"), max_length=40, group="basic"),
    Field("registered_capital", "decimal", _l("Registered capital"), minimum=0, group="credit"),
    Field("year_founded", "int", _l("Year founded"), minimum=1800, maximum=2100, group="credit"),
    Field("credit_limit", "decimal", _l("Credit limit"), minimum=0, group="credit"),
    Field(
        "credit_term_days", "int", _l("Credit term (days)"), minimum=0, maximum=3650, group="credit"
    ),
    Field("payment_terms", "str", _l("Payment terms"), max_length=200, group="credit"),
    Field("credit_rating", "str", _l("Credit rating"), max_length=20, group="credit"),
    Field("last_credit_review", "date", _l("Last credit review"), group="credit"),
    Field("next_credit_review", "date", _l("Next credit review"), group="credit"),
    Field("staff_count", "int", _l("Staff"), minimum=0, group="business"),
    Field("sales_staff_count", "int", _l("Sales staff"), minimum=0, group="business"),
    Field("coverage_area", "str", _l("Coverage area"), max_length=200, group="business"),
    Field("delivery_method", "str", _l("Delivery method"), max_length=100, group="business"),
    Field("competing_products", "text", _l("Competing products"), group="business"),
    Field("purchase_plans", "text", _l("Purchase plans"), group="other"),
    Field("purchase_timing", "str", _l("Purchase timing"), max_length=100, group="other"),
    Field("competitors", "text", _l("Competitors"), group="other"),
    Field("past_suppliers", "text", _l("Past suppliers"), group="other"),
    Field("notes", "text", _l("Notes"), group="other"),
    Field(
        "tags",
        "tags",
        _l("Tags"),
        group="other",
        description="A list of tag names; a comma-separated string in forms",
    ),
)

# Set through their own actions (classify, assign, follow-up), shown but not edited in the form.
CUSTOMER_READ_ONLY: tuple[Field, ...] = (
    Field("id", "int", read_only=True),
    Field("customer_class", "choice", _l("Class"), choices=("A", "B", "C"), read_only=True),
    Field("owner_id", "int", _l("Owner"), read_only=True),
    Field("next_contact_on", "date", _l("Next contact"), read_only=True),
    Field("last_contact_at", "str", _l("Last contact"), read_only=True),
    Field("created_at", "str", read_only=True),
    Field("updated_at", "str", read_only=True),
)

# What a create may set besides the form: an owner and a class chosen up front.
CUSTOMER_CREATE_EXTRA: tuple[Field, ...] = (
    Field("owner_id", "int", _l("Owner"), minimum=1, description="Default: the creating user"),
    Field("customer_class", "choice", _l("Class"), choices=("A", "B", "C")),
)

CONTACT_FIELDS: tuple[Field, ...] = (
    Field("name", "str", _l("Name"), required=True, max_length=120),
    Field("title", "str", _l("Title"), max_length=120),
    Field("phone", "phone", _l("Phone"), extension="phone_ext"),
    Field(
        "phone_ext",
        "str",
        _l("Extension"),
        max_length=10,
        description="Digits dialled after the number; read from the phone when written there",
    ),
    Field("email", "email", _l("Email"), max_length=254),
    Field("is_decision_maker", "bool", _l("Decision maker")),
    Field("birthday", "date", _l("Birthday")),
    Field("preferences", "text", _l("Preferences")),
    Field(
        "timezone",
        "str",
        _l("Time zone"),
        max_length=64,
        description="IANA name, e.g. Asia/Shanghai",
    ),
    Field("language", "choice", _l("Language"), choices=("en", "zh_Hans")),
)

CONTACT_READ_ONLY: tuple[Field, ...] = (
    Field("id", "int", read_only=True),
    Field("customer_id", "int", read_only=True),
)

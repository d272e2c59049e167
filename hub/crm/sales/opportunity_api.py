"""/api/v1/opportunities: the pipeline through the API."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from hub.core import db
from hub.core.apikit import document, fields_schema, json_body, query_int, serialize
from hub.core.auth import Role, login_required, require_user, roles_required
from hub.crm.customers.lookup import load_customer
from hub.crm.record_routes import (
    changed,
    created,
    deleted,
    document_list,
    list_page,
    query_bool,
    query_choice,
)
from hub.crm.sales import opportunities as svc
from hub.crm.sales import opportunity_changes as changes
from hub.crm.sales import sales_api_bp as bp
from hub.crm.sales.models import Opportunity
from hub.crm.sales.opportunity_pipeline import pipeline_stages

TAG = "opportunities"
OUT = fields_schema(
    svc.OPPORTUNITY_READ_ONLY + svc.OPPORTUNITY_FIELDS,
    output=True,
    customer_name={"type": "string"},
)
CREATE = fields_schema(svc.OPPORTUNITY_CREATE)
PATCH = fields_schema(svc.OPPORTUNITY_FIELDS)
PATCH.pop("required", None)
FILTERS = (
    ("stage", "string", "Only this pipeline stage"),
    ("owner_id", "integer", "Only this owner's"),
    ("customer_id", "integer", "Only this customer's"),
    ("nurture", "boolean", "true: only those in the nurture pool; false: only those outside it"),
)


def opportunity_json(opp: Opportunity) -> dict[str, Any]:
    return serialize(
        opp, svc.OPPORTUNITY_READ_ONLY + svc.OPPORTUNITY_FIELDS, customer_name=opp.customer.name
    )


document_list(
    "/opportunities",
    "List opportunities on customers the token's user may see",
    TAG,
    OUT,
    FILTERS,
    search="Search text: the title or the customer's name",
)


@bp.get("/opportunities")
@login_required
def list_opportunities() -> Response:
    s = db.session()
    stmt = svc.filtered_opportunities(
        require_user(),
        request.args.get("q", ""),
        query_choice("stage", pipeline_stages(s)),
        query_int("owner_id"),
        query_int("customer_id"),
    )
    nurture = query_bool("nurture")
    if nurture is not None:
        pool = Opportunity.nurture_since
        stmt = stmt.where(pool.is_not(None) if nurture else pool.is_(None))
    return list_page(stmt, Opportunity.id, "sales_api.list_opportunities", opportunity_json)


document(
    "post",
    "/opportunities",
    "Open an opportunity on a customer (a closed stage takes effect as a move)",
    TAG,
    body=CREATE,
    response=OUT,
    status=201,
    roles="admin, director, the owning agent",
)


@bp.post("/opportunities")
@login_required
def create_opportunity() -> tuple[Response, int, dict[str, str]]:
    s = db.session()
    user = require_user()
    data = json_body()
    customer_id = changes.parse_opportunity(data, with_customer=True)["customer_id"]
    customer = load_customer(s, user, customer_id, edit=True)
    opp = changes.create_opportunity(
        s, user, customer, {k: v for k, v in data.items() if k != "customer_id"}
    )
    return created(opp, opportunity_json, "sales_api.get_opportunity", "opportunity_id")


document("get", "/opportunities/{id}", "Read an opportunity", TAG, response=OUT)


@bp.get("/opportunities/<int:opportunity_id>")
@login_required
def get_opportunity(opportunity_id: int) -> Response:
    return jsonify(
        opportunity_json(svc.load_opportunity(db.session(), require_user(), opportunity_id))
    )


document(
    "patch",
    "/opportunities/{id}",
    "Change some fields; a new `stage` moves the deal (lost needs `lost_reason`)",
    TAG,
    body=PATCH,
    response=OUT,
    roles="admin, director, the owning agent",
)


@bp.patch("/opportunities/<int:opportunity_id>")
@login_required
def update_opportunity(opportunity_id: int) -> tuple[Response, int]:
    opp = svc.load_opportunity(db.session(), require_user(), opportunity_id, edit=True)
    return changed(opp, changes.update_opportunity, opportunity_json)


document(
    "delete",
    "/opportunities/{id}",
    "Delete an opportunity",
    TAG,
    status=204,
    roles="admin, director",
)


@bp.delete("/opportunities/<int:opportunity_id>")
@roles_required(Role.DIRECTOR)
def delete_opportunity(opportunity_id: int) -> tuple[str, int]:
    opp = svc.load_opportunity(db.session(), require_user(), opportunity_id)
    return deleted(opp, changes.delete_opportunity)

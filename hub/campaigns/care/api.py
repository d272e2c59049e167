"""/api/v1/care-rules: the automatic care messages (the scheduler runs them daily at 10:00)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, url_for
from flask_babel import gettext as _

from hub.campaigns import campaigns_api_bp as bp
from hub.campaigns.care.models import CareRule
from hub.campaigns.care.rules import RULE_FIELDS, save_rule
from hub.campaigns.staff import ROLES, STAFF, TAG
from hub.core import db
from hub.core.apikit import LIST_QUERY, document, fields_schema, json_body, keyset_page, serialize
from hub.core.auth import require_user, roles_required
from hub.core.refusals import NotFound
from hub.core.validation import MAX_ID, unknown_keys

OUT = fields_schema(RULE_FIELDS, output=True, id={"type": "integer"})


def rule_json(rule: CareRule) -> dict[str, Any]:
    return serialize(rule, RULE_FIELDS, id=rule.id)


document("get", "/care-rules", "List care-message rules", TAG, response=OUT, list_of=True,
         query=LIST_QUERY[1:], roles=ROLES)


@bp.get("/care-rules")
@roles_required(*STAFF)
def list_care_rules() -> Response:
    from sqlalchemy import select

    return jsonify(keyset_page(db.session(), select(CareRule), CareRule.id,
                               "campaigns_api.list_care_rules", rule_json))


document("post", "/care-rules", "Add a care-message rule", TAG, body=fields_schema(RULE_FIELDS),
         response=OUT, status=201, roles=ROLES)


@bp.post("/care-rules")
@roles_required(*STAFF)
def create_care_rule() -> tuple[Response, int, dict[str, str]]:
    data = json_body()
    unknown_keys(RULE_FIELDS, data)
    s = db.session()
    rule = save_rule(s, data, user_id=require_user().id)
    s.commit()
    return jsonify(rule_json(rule)), 201, {"Location": url_for("campaigns_api.update_care_rule", rule_id=rule.id)}


PATCH = fields_schema(RULE_FIELDS)
PATCH.pop("required", None)
document("patch", "/care-rules/{id}", "Change a rule, or switch it off with active: false", TAG,
         body=PATCH, response=OUT, roles=ROLES)


@bp.patch("/care-rules/<int:rule_id>")
@roles_required(*STAFF)
def update_care_rule(rule_id: int) -> Response:
    s = db.session()
    rule = s.get(CareRule, rule_id) if 0 < rule_id <= MAX_ID else None
    if rule is None:
        raise NotFound(_("There is no care rule %(id)s.", id=rule_id))
    data = json_body()
    unknown_keys(RULE_FIELDS, data)
    save_rule(s, data, rule)
    s.commit()
    return jsonify(rule_json(rule))

"""/api/v1/care-rules: the automatic care messages (the scheduler runs them daily at 10:00)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hub import db
from hub.apikit import LIST_QUERY, document, fields_schema, json_body, keyset_page, serialize
from hub.auth import require_user, roles_required
from hub.campaigns.api import ROLES, STAFF, TAG, bp
from hub.campaigns.models import CHANNELS, OCCASIONS, CareRule, MessageTemplate
from hub.validation import (
    MAX_ID,
    Field,
    FieldError,
    NotFound,
    ValidationError,
    parse,
    unknown_keys,
)

RULE_FIELDS = (
    Field("name", "str", label=_l("Name"), required=True, max_length=120),
    Field("occasion", "choice", required=True, choices=OCCASIONS,
          description="birthday; order_shipped, complaint_resolved: `days` after; lead_welcome: "
          "website leads of the last `days` (at least 1); no_contact: `days` without contact"),
    Field("days", "int", minimum=0, maximum=3650),
    Field("channel", "choice", required=True, choices=CHANNELS),
    Field("template_id", "int", required=True, minimum=1, maximum=MAX_ID),
    Field("active", "bool"),
)
OUT = fields_schema(RULE_FIELDS, output=True, id={"type": "integer"})


def rule_json(rule: CareRule) -> dict[str, Any]:
    return serialize(rule, RULE_FIELDS, id=rule.id)


def _check_template(clean: dict[str, Any], rule: CareRule | None = None) -> None:
    template_id = clean.get("template_id", rule.template_id if rule else None)
    channel = clean.get("channel", rule.channel if rule else None)
    template = db.session().get(MessageTemplate, template_id) if template_id else None
    if template is None:
        raise ValidationError([FieldError("template_id", _("There is no template %(id)s.", id=template_id))])
    if template.channel != channel:
        raise ValidationError([FieldError(
            "template_id",
            _("This template is for %(channel)s, not %(wanted)s.", channel=template.channel, wanted=channel),
        )])


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
    clean = parse(RULE_FIELDS, data)
    _check_template(clean)
    rule = CareRule(**{k: v for k, v in clean.items() if v is not None}, created_by=require_user().id)
    s = db.session()
    s.add(rule)
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
    clean = parse(RULE_FIELDS, data, partial=True)
    _check_template(clean, rule)
    for key, value in clean.items():
        if value is not None:
            setattr(rule, key, value)
    s.commit()
    return jsonify(rule_json(rule))

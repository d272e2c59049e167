"""Custom field definitions: validated, renamed, deleted with their values after a confirmation."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.core.auth import User
from hub.core.refusals import Forbidden, ValidationError
from hub.crm.customers import custom_fields as svc
from hub.crm.customers.models import AuditEntry, Customer, CustomField, CustomFieldValue
from tests.conftest import csrf_token


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.fixture
def admin(ctx, db, make_user):
    return db.get(User, make_user("admin").id)


def errors_of(call):
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.as_dict()


def test_a_choice_field_keeps_its_choices_in_order(db, admin):
    field = svc.create_field(
        db,
        admin,
        {
            "key": "credit_grade",
            "label": " Credit  grade ",
            "kind": "choice",
            "choices": "AAA\nAA, B",
        },
    )
    assert (field.key, field.label, field.kind) == ("credit_grade", "Credit grade", "choice")
    assert field.choices == ["AAA", "AA", "B"]
    entry = db.scalar(sa.select(AuditEntry).where(AuditEntry.entity == "custom_field"))
    assert entry.action == "create" and entry.changes["key"] == "credit_grade"


def test_definitions_are_validated_and_every_problem_named(db, admin):
    svc.create_field(db, admin, {"key": "region_code", "label": "Region code", "kind": "text"})
    assert errors_of(
        lambda: svc.create_field(
            db, admin, {"key": "region_code", "label": "Again", "kind": "text"}
        )
    ) == {"key": "A field with the key region_code exists."}
    assert errors_of(
        lambda: svc.create_field(db, admin, {"key": "grade", "label": "Grade", "kind": "choice"})
    ) == {"choices": "A choice field needs at least one choice."}
    both = errors_of(
        lambda: svc.create_field(
            db, admin, {"key": "Credit Grade", "label": "", "kind": "colour", "choices": ""}
        )
    )
    assert set(both) == {"key", "label", "kind"}
    assert "credit_grade" in both["key"]
    assert errors_of(
        lambda: svc.create_field(
            db, admin, {"key": "size", "label": "Size", "kind": "number", "choices": "1, 2"}
        )
    ) == {"choices": "Only a choice field has choices."}
    assert errors_of(
        lambda: svc.create_field(
            db, admin, {"key": "tier", "label": "Tier", "kind": "choice", "choices": "x, y, x"}
        )
    ) == {"choices": "Each choice may appear only once."}
    assert db.scalar(sa.select(sa.func.count(CustomField.id))) == 1


def test_only_an_admin_defines_fields(ctx, db, make_user):
    director = db.get(User, make_user("director").id)
    with pytest.raises(Forbidden):
        svc.create_field(db, director, {"key": "x", "label": "X", "kind": "text"})


def test_renaming_keeps_the_key_and_values(db, admin):
    field = svc.create_field(db, admin, {"key": "turnover", "label": "Turnover", "kind": "number"})
    c = Customer(name="Summit Foods")
    c.custom_values.append(CustomFieldValue(field=field, value_number=Decimal("12.5")))
    db.add(c)
    db.flush()
    svc.rename_field(db, admin, field.id, "Annual turnover")
    assert (field.key, field.label) == ("turnover", "Annual turnover")
    assert c.custom_values[0].value == Decimal("12.5")
    assert errors_of(lambda: svc.rename_field(db, admin, field.id, "  ")) == {
        "label": "This field is required."
    }


def test_the_admin_page_adds_renames_and_refuses_bad_input(client, db, signed_in):
    signed_in("admin")
    token = csrf_token(client, "/admin/custom-fields")
    form = {"csrf_token": token, "key": "grade", "label": "Grade", "kind": "choice", "choices": ""}
    r = client.post("/admin/custom-fields", data=form)
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert 'id="choices-error">A choice field needs at least one choice.' in body
    assert 'value="grade"' in body  # the form keeps what was typed

    r = client.post("/admin/custom-fields", data={**form, "choices": "Gold\nSilver"})
    assert r.status_code == 302
    field = db.scalar(sa.select(CustomField))
    assert field.choices == ["Gold", "Silver"]
    r = client.post("/admin/custom-fields", data={**form, "choices": "Gold"})
    assert r.status_code == 422
    assert "A field with the key grade exists." in r.get_data(as_text=True)

    r = client.post(
        f"/admin/custom-fields/{field.id}/label",
        data={"csrf_token": token, "label": "<i>Tier</i>"},
    )
    assert r.status_code == 302
    page = client.get("/admin/custom-fields").get_data(as_text=True)
    assert "&lt;i&gt;Tier&lt;/i&gt;" in page and "<i>Tier" not in page
    r = client.post(f"/admin/custom-fields/{field.id}/label", data={"csrf_token": token})
    assert r.status_code == 422
    assert f'id="label-{field.id}-error">This field is required.' in r.get_data(as_text=True)


def test_deleting_asks_first_then_removes_the_values(client, db, signed_in):
    signed_in("admin")
    field = CustomField(key="grade", label="Grade", kind="text", choices=[])
    keep = CustomField(key="note", label="Note", kind="text", choices=[])
    c = Customer(name="Oakfield Ltd.")
    c.custom_values.append(CustomFieldValue(field=field, value_text="gold"))
    c.custom_values.append(CustomFieldValue(field=keep, value_text="call after 3"))
    db.add(c)
    db.commit()
    field_id, keep_id = field.id, keep.id
    token = csrf_token(client, "/admin/custom-fields")

    confirm = client.get(f"/admin/custom-fields/{field.id}/delete").get_data(as_text=True)
    assert "1 customer has a value in this field" in confirm
    unconfirmed = client.post(f"/admin/custom-fields/{field.id}/delete", data={"csrf_token": token})
    assert unconfirmed.status_code == 302
    assert unconfirmed.headers["Location"].endswith(f"/admin/custom-fields/{field.id}/delete")
    assert db.get(CustomField, field.id) is not None

    r = client.post(
        f"/admin/custom-fields/{field.id}/delete", data={"csrf_token": token, "confirm": "yes"}
    )
    assert r.status_code == 302
    db.expire_all()
    assert db.scalars(sa.select(CustomField.id)).all() == [keep_id]
    values = db.execute(sa.select(CustomFieldValue.field_id, CustomFieldValue.value_text)).all()
    assert values == [(keep_id, "call after 3")]
    assert db.scalar(sa.select(Customer.name)) == "Oakfield Ltd."
    audit = db.scalar(sa.select(AuditEntry).where(AuditEntry.action == "delete"))
    assert audit.changes["values_deleted"] == 1
    assert client.get(f"/admin/custom-fields/{field_id}/delete").status_code == 404


def test_only_admins_reach_the_custom_fields_page(client, signed_in):
    signed_in("director")
    assert client.get("/admin/custom-fields").status_code == 403

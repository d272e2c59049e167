"""Message templates: the sandbox, the fixed variables and filters, SMS size, per-contact preview."""

import pytest

from hub.campaigns.templates.rendering import CompiledTemplate, RenderError, context_for, sms_size
from tests.campaign_helpers import add_customer
from tests.crm_helpers import api, token_for


def test_sms_size_gsm_and_ucs2():
    assert sms_size("Hello " * 26) == sms_size("x" * 156)  # 156 septets: one segment
    assert sms_size("x" * 160).segments == 1
    assert sms_size("x" * 161).segments == 2
    assert sms_size("[" * 80).units == 160  # the extension set costs two septets
    chinese = sms_size("您好" * 35)
    assert chinese.encoding == "UCS-2" and chinese.segments == 1
    assert sms_size("您好" * 36).segments == 2  # 72 code units > 70: 67 a segment
    assert sms_size("x" * 200).encoding == "GSM-7"


def test_the_sandbox_refuses_reaching_outside(db):
    customer = add_customer(db, "Acme", contacts=[{"name": "Li Na"}])
    context = context_for(customer.contacts[0], customer, None)
    for source in (
        "{{ contact.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.nickname }}",
    ):
        with pytest.raises(RenderError):
            CompiledTemplate(None, source, None).render(context)
    html = CompiledTemplate(None, "x", "<p>{{ customer.name }}</p>")
    customer.name = "<script>alert(1)</script>"
    rendered = html.render(context_for(customer.contacts[0], customer, None))
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html


def test_api_refuses_errors_by_line_and_previews_for_a_contact(app, make_user, client, db):
    owner = make_user("agent", name="Zhang San")
    customer = add_customer(
        db, "郑州钢铁", owner_id=owner.id,
        contacts=[{"name": "王伟", "phone": "+8613800000001"}, {"name": "Li"}],
    )
    db.commit()
    http = api(client, token_for(app, make_user("specialist")))
    bad = http.post("/templates", json={
        "name": "bad", "channel": "sms", "body": "Hi {{ contact.name }\n{{ oops }}",
    })
    assert bad.status_code == 422
    assert "Line 1" in bad.json["errors"][0]["message"]
    unknown = http.post("/templates", json={"name": "x", "channel": "sms", "body": "{{ password }}"})
    assert "password" in unknown.json["errors"][0]["message"]
    no_filter = http.post("/templates", json={"name": "x", "channel": "sms", "body": "{{ contact.name|attr('x') }}"})
    assert no_filter.status_code == 422 and no_filter.json["errors"][0]["field"] == "body"
    no_subject = http.post("/templates", json={"name": "x", "channel": "email", "body": "hi"})
    assert no_subject.json["errors"] == [{"field": "subject", "message": no_subject.json["errors"][0]["message"]}]

    created = http.post("/templates", json={
        "name": "Launch", "channel": "sms",
        "body": "{{ contact.name }}您好，{{ customer.name }}的专属新品已上线。{{ owner.name }}",
    })
    assert created.status_code == 201, created.json
    assert created.json["sms"] == {"encoding": "UCS-2", "segments": 1}
    tid = created.json["id"]
    shown = http.post(f"/templates/{tid}/preview", json={"contact_id": customer.contacts[0].id}).json
    assert shown["body"] == "王伟您好，郑州钢铁的专属新品已上线。Zhang San"
    assert shown["encoding"] == "UCS-2" and shown["segments"] == 1 and shown["error"] is None

    strict = http.post("/templates", json={
        "name": "Title", "channel": "email", "subject": "Dear {{ contact.title|upper }}",
        "body": "{{ 100 / contact.title|length }}",
    }).json
    failed = http.post(f"/templates/{strict['id']}/preview", json={"contact_id": customer.contacts[1].id}).json
    assert failed["body"] is None and "Template error" in failed["error"]
    missing = http.post(f"/templates/{tid}/preview", json={"contact_id": 99999})
    assert missing.status_code == 422 and missing.json["errors"][0]["field"] == "contact_id"
    assert http.get("/templates?channel=sms").json["items"][0]["id"] == tid


def test_template_pages_show_sms_size_and_preview(app, client, signed_in, db):
    from tests.conftest import csrf_token

    customer = add_customer(db, "Acme <Ltd>", contacts=[{"name": "Li Na"}])
    db.commit()
    signed_in("specialist")
    token = csrf_token(client, "/campaigns/templates/new?channel=sms")
    saved = client.post("/campaigns/templates/new", data={
        "csrf_token": token, "name": "Hi", "channel": "sms", "body": "Hi {{ contact.name }} of {{ customer.name }}",
    })
    assert saved.status_code == 302
    page = client.get(saved.headers["Location"] + f"?contact_id={customer.contacts[0].id}").get_data(as_text=True)
    assert "GSM-7, 1 segment(s)" in page
    assert "Hi Li Na of Acme &lt;Ltd&gt;" in page
    bad = client.post(saved.headers["Location"], data={"csrf_token": token, "name": "Hi", "channel": "sms", "body": "{% for %}"})
    assert bad.status_code == 422 and "Line 1" in bad.get_data(as_text=True)

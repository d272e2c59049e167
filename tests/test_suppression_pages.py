"""The suppression list page: search in any phone format, filters, admins adding and lifting
addresses (validated, confirmed, audited), directors looking only."""

import re

import pytest
import sqlalchemy as sa

from hub.channels import suppressions
from hub.channels.models import Suppression
from hub.core import db as hubdb
from hub.crm.customers.models import AuditEntry
from hub.web.app import create_app
from tests.conftest import csrf_token, login

PATH = "/admin/suppressions"


@pytest.fixture
def pages_app(app, app_config):
    """The app (a fresh one: tests here sign in several users), on the tests' database."""
    return create_app(app_config)


@pytest.fixture
def browser(pages_app, make_user):
    """A test client of `pages_app`, signed in as a new user of the given role."""

    def sign_in(role="admin", **kw):
        client = pages_app.test_client()
        user = make_user(role, **kw)
        assert login(client, user.email).status_code == 302
        return client, user

    return sign_in


def _add(client, channel, address):
    return client.post(
        PATH,
        data={"channel": channel, "address": address, "csrf_token": csrf_token(client, PATH)},
    )


def _seed(app, rows):
    with hubdb.session_scope(app) as s:
        for channel, address, reason in rows:
            suppressions.suppress(s, channel, address, reason, source="seeded")


def _text(response):
    return response.get_data(as_text=True)


def test_an_admin_adds_a_phone_in_any_format_and_it_is_stored_as_e164(browser, pages_app, db):
    client, admin = browser("admin", name="Ops Admin")
    response = _add(client, "sms", "138 0013 8000")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(PATH)
    row = db.scalar(sa.select(Suppression))
    assert (row.channel, row.address, row.reason) == ("sms", "+8613800138000", "manual")
    assert row.source == "added by Ops Admin"
    assert row.created_by == admin.id
    page = _text(client.get(PATH))
    assert "+8613800138000 was added to the suppression list" in page
    assert "+86 138 0013 8000" in page and "Added by hand" in page
    entry = db.scalar(sa.select(AuditEntry).where(AuditEntry.entity == "suppression"))
    assert (entry.action, entry.user_id, entry.entity_id) == ("create", admin.id, row.id)


def test_emails_are_stored_lower_cased_and_found_without_case(browser, db):
    client, _ = browser()
    assert _add(client, "email", "  Li.Wei@Example.COM ").status_code == 302
    assert db.scalar(sa.select(Suppression.address)) == "li.wei@example.com"
    for q in ("LI.WEI@example.com", "Example.Com", "li.wei"):
        page = _text(client.get(PATH, query_string={"q": q}))
        assert "li.wei@example.com" in page, q
    assert "li.wei@example.com" not in _text(client.get(PATH, query_string={"q": "zhang"}))


@pytest.mark.parametrize(
    "q", ["+86 138-0013-8000", "8613800138000", "１３８ ００１３ ８０００", "0013 8000"]
)
def test_a_phone_is_found_however_it_is_typed(browser, pages_app, q):
    _seed(pages_app, [("sms", "+8613800138000", "stop"), ("sms", "+8613900139000", "stop")])
    client, _ = browser("director")
    page = _text(client.get(PATH, query_string={"q": q}))
    assert "+86 138 0013 8000" in page
    assert "+86 139 0013 9000" not in page


@pytest.mark.parametrize(
    "channel, address, field, message",
    [
        ("sms", "12345", "address", "is not a"),
        ("sms", "li@example.com", "address", "is not a"),
        ("email", "not an email", "address", "is not a valid email address"),
        ("email", "", "address", "This field is required."),
        ("fax", "+8613800138000", "channel", "Choose one of: sms, email."),
    ],
)
def test_bad_input_is_refused_naming_the_field(browser, db, channel, address, field, message):
    client, _ = browser()
    response = _add(client, channel, address)
    assert response.status_code == 422
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', _text(response))
    assert error and message in error.group(1)
    assert db.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0


def test_an_address_already_listed_is_refused_with_its_reason(browser, pages_app, db):
    _seed(pages_app, [("email", "gone@example.com", "bounce")])
    client, _ = browser()
    response = _add(client, "email", "Gone@Example.com")
    assert response.status_code == 422
    assert "gone@example.com is already on the list (Bounced, since" in _text(response)
    assert db.scalar(sa.select(Suppression.reason)) == "bounce"


def test_filters_by_channel_and_reason_and_pages(browser, pages_app):
    rows = [("email", f"u{i}@example.com", "bounce") for i in range(30)]
    rows += [("sms", "+8613800138000", "stop"), ("email", "spam@example.com", "spamreport")]
    _seed(pages_app, rows)
    client, _ = browser("director")
    page = _text(client.get(PATH, query_string={"channel": "sms"}))
    assert "1 address" in page and "+86 138 0013 8000" in page
    assert "@example.com</td>" not in page
    page = _text(client.get(PATH, query_string={"reason": "spamreport"}))
    assert "spam@example.com" in page and "u1@example.com</td>" not in page
    first = _text(client.get(PATH, query_string={"channel": "email", "reason": "bounce"}))
    assert "30 addresses" in first and "Page 1 of 2" in first
    assert "channel=email" in first and "reason=bounce" in first  # the next page keeps them
    second = _text(client.get(PATH, query_string={"reason": "bounce", "page": "2"}))
    assert second.count("@example.com</td>") == 5
    assert client.get(PATH, query_string={"page": "x"}).status_code == 200


def test_an_unknown_filter_value_is_named_not_a_500(browser, pages_app):
    _seed(pages_app, [("sms", "+8613800138000", "stop")])
    client, _ = browser("director")
    response = client.get(PATH, query_string={"channel": "fax", "reason": "<script>"})
    assert response.status_code == 200
    page = _text(response)
    assert 'id="channel-error">Choose one of: sms, email.' in page
    assert 'id="reason-error">Choose one of: stop, unsubscribe' in page
    assert "+86 138 0013 8000" in page  # the list unfiltered
    assert "<script>" not in page


def test_removing_asks_first_then_lifts_and_audits(browser, pages_app, db):
    _seed(pages_app, [("email", "back@example.com", "unsubscribe")])
    row_id = db.scalar(sa.select(Suppression.id))
    client, admin = browser()
    url = f"{PATH}/{row_id}/remove"
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Remove back@example.com from the suppression list?" in _text(confirm)
    token = csrf_token(client, url)
    unconfirmed = client.post(url, data={"csrf_token": token})
    assert unconfirmed.status_code == 302 and unconfirmed.headers["Location"].endswith(url)
    assert db.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 1
    done = client.post(url, data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith(PATH)
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0
    assert "back@example.com was removed from the suppression list" in _text(client.get(PATH))
    entry = db.scalar(sa.select(AuditEntry).where(AuditEntry.action == "delete"))
    assert entry.user_id == admin.id and entry.changes["address"] == ["back@example.com", None]
    again = client.post(url, data={"csrf_token": token, "confirm": "yes"})
    assert again.status_code == 404


def test_directors_look_but_do_not_change_and_agents_do_not_see(browser, pages_app, db):
    _seed(pages_app, [("sms", "+8613800138000", "stop")])
    row_id = db.scalar(sa.select(Suppression.id))
    director, _ = browser("director")
    page = director.get(PATH)
    assert page.status_code == 200
    assert 'name="address"' not in _text(page) and "/remove" not in _text(page)
    token = csrf_token(director, PATH)
    forbidden = director.post(
        PATH, data={"channel": "sms", "address": "+8613900139000", "csrf_token": token}
    )
    assert forbidden.status_code == 403
    assert director.get(f"{PATH}/{row_id}/remove").status_code == 403
    removal = director.post(f"{PATH}/{row_id}/remove", data={"csrf_token": token, "confirm": "yes"})
    assert removal.status_code == 403
    agent, _ = browser("agent")
    assert agent.get(PATH).status_code == 403
    assert db.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 1


def test_forms_need_their_csrf_token(browser, db):
    client, _ = browser()
    response = client.post(PATH, data={"channel": "sms", "address": "+8613800138000"})
    assert response.status_code == 400
    assert db.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0


def test_customer_and_user_text_is_escaped(browser, pages_app):
    client, _ = browser("admin", name="<b>Ops</b>")
    assert _add(client, "email", "x@example.com").status_code == 302
    page = _text(client.get(PATH))
    assert "added by &lt;b&gt;Ops&lt;/b&gt;" in page
    assert "<b>Ops</b>" not in page

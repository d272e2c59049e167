"""The developer page against a real simulator calling a real hub: what the simulator accepted
and called back, simulated customer replies, faults; and a simulator that is absent, silent or
not in use."""

import dataclasses
import json
import re
import threading

import pytest
from werkzeug.serving import make_server

from hub.channels.credentials import load_or_create
from hub.channels.providers import simulator_url_file
from hub.runtime.worker import run_worker
from hub.simulator.server import Faults, ProviderSimulator
from hub.web import dev_views
from hub.web.app import create_app
from tests.conftest import PATIENCE, csrf_token, free_port, login
from tests.crm_helpers import api, token_for


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _dev_app(app_config, instance, **settings):
    """An app of its own instance folder (the simulator's files live there), on the tests' database."""
    return create_app({**app_config, "HUB_INSTANCE_DIR": str(instance), **settings})


@pytest.fixture
def dev_hub(app, app_config, tmp_path):
    """The hub on a real port with the simulator calling it back, as `hub up` runs them."""
    instance = tmp_path / "instance"
    hub = _dev_app(app_config, instance)
    server = make_server("127.0.0.1", 0, hub, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    hub.config["SETTINGS"] = dataclasses.replace(hub.config["SETTINGS"], public_url=url)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    creds = load_or_create(instance)
    sim = ProviderSimulator(instance / "simulator", creds, hub_url=url)
    sim.start()
    yield hub, sim, creds
    sim.stop()
    server.shutdown()


def _admin(hub, make_user, role="admin"):
    client = hub.test_client()
    assert login(client, make_user(role).email).status_code == 302
    return client


def _post(client, path, data):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/dev")})


def _text(response):
    return response.get_data(as_text=True)


def _flashes(page):
    return re.findall(r'<p class="flash flash-(\w+)" role="status">([^<]*)</p>', page)


NO_FAULTS = {name: "0" for name in dev_views.FAULT_LABELS}


def test_the_page_shows_what_the_simulator_accepted_and_called_back(dev_hub, make_user):
    hub, sim, _ = dev_hub
    director = api(hub.test_client(), token_for(hub, make_user("director")))
    customer = director.post(
        "/customers", json={"name": "Dev Co", "contacts": [{"name": "Li", "phone": "13800138000"}]}
    ).json
    contact_id = customer["contacts"][0]["id"]
    assert director.post(
        "/messages", json={"contact_id": contact_id, "channel": "sms", "body": "hello"}
    ).status_code in (201, 202)
    run_worker(hub, ["high", "default", "bulk"], burst=True, with_scheduler=False)
    assert sim.wait_idle(PATIENCE)
    client = _admin(hub, make_user)
    page = _text(client.get("/dev"))
    assert f"The provider simulator stands in for the providers at {sim.url}." in page
    assert '<td data-label="To">+8613800138000</td>' in page
    assert '<td data-label="Kind">message</td>' in page
    assert page.count("twilio-message-status") == len(sim.callbacks()) >= 3
    assert re.search(r"/webhooks/twilio/sms-status[^<]*</code>", page)
    assert '<option value="+8613800138000">Li</option>' in page  # a contact's number to reply from


def test_the_last_50_requests_newest_first(dev_hub, make_user):
    hub, sim, _ = dev_hub
    for n in range(60):
        sim.log.add("twilio", "message", "/path", {"To": f"+1202555{n:04d}"}, {}, status=201)
    page = _text(_admin(hub, make_user).get("/dev"))
    shown = re.findall(r'<td data-label="To">\+1202555(\d{4})</td>', page)
    assert shown == [f"{n:04d}" for n in range(59, 9, -1)]


def test_a_simulated_sms_reply_goes_through_the_simulator_and_the_hubs_answer_is_flashed(
    dev_hub, make_user
):
    hub, sim, creds = dev_hub
    client = _admin(hub, make_user)
    response = _post(
        client, "/dev/inbound-sms", {"from": "138 0013 8000", "to": "", "body": "Yes <b>please</b>"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/dev")
    [record] = [r for r in sim.requests() if r["kind"] == "inbound_sms"]
    assert record["body"] == {"from": "+8613800138000", "body": "Yes <b>please</b>"}
    page = _text(client.get("/dev"))
    [(category, message)] = _flashes(page)
    assert message.startswith(
        f"Simulated SMS from +8613800138000: the hub answered {record['hub_status']}"
    )
    assert category == ("success" if 200 <= record["hub_status"] < 300 else "error")
    assert '<td data-label="To">the hub</td>' in page  # to the hub's own number by default
    assert "<b>please</b>" not in page


def test_a_simulated_email_reply(dev_hub, make_user):
    hub, sim, creds = dev_hub
    client = _admin(hub, make_user)
    response = _post(
        client,
        "/dev/inbound-email",
        {"from": "Li@Example.COM", "to": creds.from_email, "subject": "Re: hi", "text": "Thanks"},
    )
    assert response.status_code == 302
    [record] = [r for r in sim.requests() if r["kind"] == "inbound_email"]
    assert record["body"]["from"] == "Li@example.com"
    assert record["body"]["to"] == creds.from_email
    [(_, message)] = _flashes(_text(client.get("/dev")))
    assert f"from Li@example.com: the hub answered {record['hub_status']}" in message


@pytest.mark.parametrize(
    "path, data, field, message",
    [
        ("/dev/inbound-sms", {"from": "12", "body": "hi"}, "from", "is not a"),
        ("/dev/inbound-sms", {"from": "+8613800138000", "body": " "}, "body", "required"),
        ("/dev/inbound-sms", {"from": "+8613800138000", "to": "x", "body": "a"}, "to", "is not a"),
        ("/dev/inbound-email", {"from": "nobody", "text": "hi"}, "from", "not a valid email"),
        ("/dev/inbound-email", {"from": "a@example.com", "text": ""}, "text", "required"),
        ("/dev/inbound-call", {"from": "12", "answer": "agent"}, "from", "is not a"),
        ("/dev/inbound-call", {"from": "+8613800138000", "answer": "maybe"}, "answer", "one of"),
        (
            "/dev/inbound-call",
            {"from": "+8613800138000", "answer": "agent", "talk_seconds": "-5"},
            "talk_seconds",
            "At least 0",
        ),
    ],
)
def test_a_bad_reply_is_refused_naming_the_field(dev_hub, make_user, path, data, field, message):
    hub, sim, _ = dev_hub
    response = _post(_admin(hub, make_user), path, data)
    assert response.status_code == 422
    error = re.search(rf'id="{field}-error">([^<]*)<', _text(response))
    assert error and message in error.group(1)
    assert sim.requests() == []


def test_faults_are_set_by_name_and_the_other_settings_kept(dev_hub, make_user):
    hub, sim, _ = dev_hub
    sim.set_faults(Faults(seed=7, slow_seconds=1.5))
    client = _admin(hub, make_user)
    data = {**NO_FAULTS, "rate_429": "0.25", "email_bounce": "5%", "reorder_callbacks": "1"}
    response = _post(client, "/dev/faults", data)
    assert response.status_code == 302
    faults = sim.faults
    assert (faults.rate_429, faults.email_bounce, faults.reorder_callbacks) == (0.25, 0.05, 1.0)
    assert (faults.seed, faults.slow_seconds) == (7, 1.5)
    assert "The simulator&#39;s faults were changed." in _text(client.get("/dev"))


def test_bad_fault_shares_are_each_named_and_change_nothing(dev_hub, make_user):
    hub, sim, _ = dev_hub
    client = _admin(hub, make_user)
    data = {**NO_FAULTS, "rate_500": "1.5", "duplicate_callbacks": "lots", "rate_429": ""}
    response = _post(client, "/dev/faults", data)
    assert response.status_code == 422
    page = _text(response)
    for name, message in (
        ("rate_500", "Expected a share from 0 to 1"),
        ("duplicate_callbacks", "Expected a share from 0 to 1"),
        ("rate_429", "This field is required."),
    ):
        assert re.search(rf'id="{name}-error">{message}', page), name
    assert 'value="lots"' in page  # the form keeps what was typed
    assert sim.faults == Faults()


def test_without_a_simulator_the_page_says_so_and_posts_flash(app, app_config, tmp_path, make_user):
    hub = _dev_app(app_config, tmp_path / "instance")
    client = _admin(hub, make_user)
    page = _text(client.get("/dev"))
    assert "The provider simulator is not running." in page
    assert 'name="body"' not in page and 'name="rate_429"' not in page
    response = _post(client, "/dev/inbound-sms", {"from": "+8613800138000", "body": "hi"})
    assert response.status_code == 302
    [(category, message)] = _flashes(_text(client.get("/dev")))
    assert category == "error" and "not running" in message


def test_a_simulator_that_does_not_answer_is_a_message_never_a_500(
    app, app_config, tmp_path, make_user
):
    instance = tmp_path / "instance"
    url_file = simulator_url_file(instance)
    url_file.parent.mkdir(parents=True)
    # What a simulator killed without cleaning up leaves behind: its address, nobody listening.
    dead = f"http://127.0.0.1:{free_port()}"
    url_file.write_text(json.dumps({"url": dead, "pid": 1}))
    hub = _dev_app(app_config, instance)
    client = _admin(hub, make_user)
    page = client.get("/dev")
    assert page.status_code == 200
    assert "The simulator did not answer as expected: ConnectionError" in _text(page)
    for path, data in (
        ("/dev/inbound-sms", {"from": "+8613800138000", "body": "hi"}),
        ("/dev/inbound-email", {"from": "a@example.com", "text": "hi"}),
        ("/dev/faults", NO_FAULTS),
    ):
        response = _post(client, path, data)
        assert response.status_code == 302, path
        [(category, message)] = _flashes(_text(client.get("/dev")))
        assert category == "error"
        assert message.startswith(f"The provider simulator at {dead} did not answer as expected")


def test_with_real_credentials_the_simulator_is_not_in_use(app, app_config, tmp_path, make_user):
    hub = _dev_app(
        app_config,
        tmp_path / "instance",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="1" * 32,
        TWILIO_FROM_NUMBER="+12025550143",
        SENDGRID_API_KEY="SG.real.key",
        SENDGRID_FROM_EMAIL="hub@example.com",
    )
    client = _admin(hub, make_user)
    page = _text(client.get("/dev"))
    assert "the simulator is not in use" in page
    assert '<form method="post" action="/dev' not in page
    response = _post(client, "/dev/inbound-sms", {"from": "+8613800138000", "body": "hi"})
    assert response.status_code == 302
    [(_, message)] = _flashes(_text(client.get("/dev")))
    assert "the simulator is not in use" in message


def test_one_real_provider_hides_only_its_own_form(dev_hub, make_user):
    hub, sim, _ = dev_hub
    settings = hub.config["SETTINGS"]
    hub.config["SETTINGS"] = dataclasses.replace(
        settings, twilio_account_sid="AC" + "0" * 32, twilio_auth_token="1" * 32
    )
    client = _admin(hub, make_user)
    page = _text(client.get("/dev"))
    assert "SMS goes to Twilio: real credentials are set." in page
    assert 'action="/dev/inbound-sms"' not in page and 'action="/dev/inbound-email"' in page
    assert (
        _post(client, "/dev/inbound-sms", {"from": "+8613800138000", "body": "hi"}).status_code
        == 302
    )
    assert sim.requests() == []


def test_only_admins_reach_the_page(dev_hub, make_user):
    hub, sim, _ = dev_hub
    for role in ("director", "agent", "specialist"):
        client = _admin(hub, make_user, role)
        assert client.get("/dev").status_code == 403
        token = csrf_token(client, "/")
        data = {"from": "+8613800138000", "body": "hi", "csrf_token": token}
        assert client.post("/dev/inbound-sms", data=data).status_code == 403
        assert (
            client.post("/dev/faults", data={**NO_FAULTS, "csrf_token": token}).status_code == 403
        )
    assert sim.requests() == []


def test_forms_need_their_csrf_token(dev_hub, make_user):
    hub, sim, _ = dev_hub
    client = _admin(hub, make_user)
    response = client.post("/dev/inbound-sms", data={"from": "+8613800138000", "body": "hi"})
    assert response.status_code == 400
    assert sim.requests() == []


def test_a_simulated_call_rings_the_hub_and_plays_out(dev_hub, make_user):
    from hub.channels.calls.models import Call
    from hub.core import db as hubdb

    hub, sim, _creds = dev_hub
    client = _admin(hub, make_user)
    response = _post(
        client,
        "/dev/inbound-call",
        {"from": "138 0013 8000", "answer": "nobody", "talk_seconds": "", "voicemail_seconds": "9"},
    )
    assert response.status_code == 302
    [record] = [r for r in sim.requests() if r["kind"] == "inbound_call"]
    assert record["body"]["from"] == "+8613800138000" and record["hub_status"] == 200
    [(category, message)] = _flashes(_text(client.get("/dev")))
    assert category == "success" and message.startswith("Simulated call from +8613800138000")
    assert sim.wait_idle(PATIENCE)
    with hubdb.session_scope(hub) as s:
        call = s.query(Call).one()
        assert (call.customer_number, call.recording_duration) == ("+8613800138000", 9)

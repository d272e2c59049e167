"""Inbound calls through the simulator and the real voice webhook: the screen pop reaches the
right agent, the call's record completes, nobody answering means voicemail, unknown callers
become leads, and forged or replayed webhooks change nothing."""

from __future__ import annotations

import json
import time

import requests
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from hub.channels.calls.models import AgentProfile, Call
from hub.core.services import events_channel
from hub.crm.customers.models import Contact, Customer
from hub.crm.followups.models import FollowUp
from tests.conftest import PATIENCE

NO_PROXY = {"http": None, "https": None}
CALLER = "+8613800138000"


def _agent(db, make_user, phone, available=True, **kw):
    user = make_user("agent", **kw)
    db.add(
        AgentProfile(user_id=user.id, phone=phone, availability="available" if available else "away")
    )
    db.commit()
    return user


def _customer(db, owner, name="华信科技", phone=CALLER, cls="A"):
    customer = Customer(name=name, customer_class=cls, owner_id=owner.id if owner else None)
    customer.contacts.append(Contact(name="李雷", phone=phone))
    db.add(customer)
    db.commit()
    return customer


def _ring(sim, sender=CALLER, **plan):
    r = requests.post(
        f"{sim.url}/sim/inbound/call",
        json={"from": sender, "pace": 0, **plan},
        proxies=NO_PROXY,
        timeout=PATIENCE,
    )
    assert r.status_code == 200, r.text
    assert sim.wait_idle(PATIENCE)
    return r.json()


def _subscribe(redis_conn, *users):
    pubsub = redis_conn.pubsub(ignore_subscribe_messages=True)
    for user in users:
        pubsub.subscribe(events_channel(f"user:{user.id}", redis_conn))
    time.sleep(0.05)
    return pubsub


def _events(pubsub):
    """Every event waiting; a None from get_message may be a subscription notice, so read on."""
    out = []
    for _ in range(30):
        message = pubsub.get_message(timeout=0.02)
        if message is not None:
            out.append((message["channel"].decode(), json.loads(message["data"])))
    return out


def test_a_known_caller_rings_the_owner_pops_on_their_console_only_and_completes_one_record(
    live_hub, make_user, db, redis_conn
):
    app, sim, _creds, _ = live_hub
    owner = _agent(db, make_user, "+8613900000001")
    other = _agent(db, make_user, "+8613900000002")
    customer = _customer(db, owner)
    pubsub = _subscribe(redis_conn, owner, other)

    answer = _ring(sim, talk_seconds=75)

    assert "<Dial" in answer["twiml"] and "<Number" in answer["twiml"]
    assert "+8613900000001</Number>" in answer["twiml"]  # the owner, not the other agent
    assert 'statusCallbackEvent="initiated ringing answered completed"' in answer["twiml"]
    events = _events(pubsub)
    pops = [(channel, e) for channel, e in events if e["type"] == "call"]
    assert [c for c, _ in pops] == [events_channel(f"user:{owner.id}", redis_conn)]
    assert all(channel.endswith(str(owner.id)) for channel, _ in events)

    db.expire_all()
    [call] = db.scalars(sa.select(Call)).all()
    assert (call.direction, call.status, call.agent_id, call.duration) == (
        "inbound",
        "completed",
        owner.id,
        75,
    )
    [record] = db.scalars(sa.select(FollowUp).where(FollowUp.customer_id == customer.id)).all()
    assert (record.channel, record.direction, record.status, record.user_id) == (
        "call",
        "inbound",
        "completed",
        owner.id,
    )
    assert record.call_ref == answer["sid"] and call.follow_up_id == record.id
    [dial] = [r for r in sim.requests() if r["kind"] == "dial"]
    assert dial["body"]["To"] == "+8613900000001" and dial["final_status"] == "completed"


def test_an_unavailable_owner_rings_every_available_agent(live_hub, make_user, db, redis_conn):
    app, sim, _creds, _ = live_hub
    owner = _agent(db, make_user, "+8613900000001", available=False)
    first = _agent(db, make_user, "+8613900000002")
    second = _agent(db, make_user, "+8613900000003")
    _customer(db, owner)
    pubsub = _subscribe(redis_conn, owner, first, second)

    answer = _ring(sim)

    assert "+8613900000002</Number>" in answer["twiml"]
    assert "+8613900000003</Number>" in answer["twiml"]
    assert "+8613900000001" not in answer["twiml"]
    popped = {c for c, e in _events(pubsub) if e["type"] == "call"}
    assert popped == {
        events_channel(f"user:{first.id}", redis_conn),
        events_channel(f"user:{second.id}", redis_conn),
    }
    db.expire_all()
    call = db.scalar(sa.select(Call))
    # The first to pick up takes the call; the other's ringing leg is cancelled.
    assert call.agent_id == first.id and sorted(call.offered_to) == sorted([first.id, second.id])


def test_nobody_answering_takes_a_voicemail_linked_from_the_calls_record(
    live_hub, make_user, db
):
    app, sim, _creds, _ = live_hub
    owner = _agent(db, make_user, "+8613900000001")
    customer = _customer(db, owner)

    _ring(sim, answer=False, voicemail_seconds=17)

    db.expire_all()
    call = db.scalar(sa.select(Call))
    record = db.get(FollowUp, call.follow_up_id)
    assert call.agent_id is None and call.status == "completed"
    assert call.recording_url and call.recording_url.startswith(sim.url)
    assert call.recording_duration == 17
    assert record.status == "voicemail" and record.customer_id == customer.id
    audio = requests.get(call.recording_url, proxies=NO_PROXY, timeout=5)
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    # One call, one record.
    assert db.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 1


def test_with_no_agent_available_the_caller_goes_straight_to_voicemail(live_hub, make_user, db):
    app, sim, _creds, _ = live_hub
    owner = _agent(db, make_user, "+8613900000001", available=False)
    _customer(db, owner)
    answer = _ring(sim, voicemail_seconds=5)
    assert "<Dial" not in answer["twiml"] and "<Record" in answer["twiml"]
    db.expire_all()
    call = db.scalar(sa.select(Call))
    assert call.offered_to == [] and db.get(FollowUp, call.follow_up_id).status == "voicemail"


def test_a_caller_hanging_up_without_a_message_is_a_missed_call(live_hub, make_user, db):
    app, sim, _creds, _ = live_hub
    owner = _agent(db, make_user, "+8613900000001")
    _customer(db, owner)
    _ring(sim, answer=False, voicemail_seconds=0)
    db.expire_all()
    call = db.scalar(sa.select(Call))
    assert call.recording_url is None and db.get(FollowUp, call.follow_up_id).status == "missed"


def test_an_unknown_caller_becomes_a_lead_and_pops_to_every_available_agent(
    live_hub, make_user, db, redis_conn
):
    app, sim, _creds, _ = live_hub
    agent = _agent(db, make_user, "+8613900000001")
    pubsub = _subscribe(redis_conn, agent)
    _ring(sim, sender="+86 139 1234 5678")
    lead = db.scalar(sa.select(Customer))
    assert (lead.stage, lead.lead_source, lead.name) == ("lead", "call", "+8613912345678")
    assert lead.contacts[0].phone == "+8613912345678"
    assert any(e["type"] == "call" for _, e in _events(pubsub))


def test_a_forged_voice_webhook_gets_403_and_stores_nothing(live_hub, db):
    app, sim, creds, url = live_hub
    params = {"CallSid": "CA" + "1" * 32, "From": CALLER, "To": creds.from_number}
    bad = requests.post(
        f"{url}/webhooks/twilio/voice",
        data=params,
        headers={"X-Twilio-Signature": "forged"},
        proxies=NO_PROXY,
        timeout=PATIENCE,
    )
    assert bad.status_code == 403
    assert db.scalar(sa.select(sa.func.count()).select_from(Call)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0


def _signed_post(url, token, params):
    signature = RequestValidator(token).compute_signature(url, params)
    return requests.post(
        url, data=params, headers={"X-Twilio-Signature": signature}, proxies=NO_PROXY, timeout=5
    )


def test_a_retried_voice_webhook_and_reordered_status_callbacks_change_nothing_twice(
    live_hub, make_user, db
):
    app, sim, creds, url = live_hub
    owner = _agent(db, make_user, "+8613900000001")
    _customer(db, owner)
    sid = "CA" + "2" * 32
    params = {"CallSid": sid, "From": CALLER, "To": creds.from_number, "CallStatus": "ringing"}
    first = _signed_post(f"{url}/webhooks/twilio/voice", creds.auth_token, params)
    again = _signed_post(f"{url}/webhooks/twilio/voice", creds.auth_token, params)
    assert first.status_code == again.status_code == 200 and first.text == again.text
    db.expire_all()
    call = db.scalar(sa.select(Call))
    status_url = f"{url}/webhooks/twilio/voice-status?call={call.id}&leg=agent"
    leg = {"CallSid": "CA" + "3" * 32, "ParentCallSid": sid, "To": "+8613900000001"}
    # Completed arrives first, then a late 'ringing', then completed again.
    for status in ("in-progress", "completed", "ringing", "completed"):
        extra = {"CallDuration": "30"} if status == "completed" else {}
        r = _signed_post(status_url, creds.auth_token, {**leg, "CallStatus": status, **extra})
        assert r.status_code == 204
    done = {"CallSid": sid, "CallStatus": "completed", "CallDuration": "40"}
    _signed_post(f"{url}/webhooks/twilio/voice-status", creds.auth_token, done)
    _signed_post(f"{url}/webhooks/twilio/voice-status", creds.auth_token, {**done, "CallStatus": "ringing"})
    db.expire_all()
    call = db.scalar(sa.select(Call))
    assert (call.status, call.duration, call.agent_id) == ("completed", 30, owner.id)
    assert db.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 1
    assert db.get(FollowUp, call.follow_up_id).status == "completed"


def test_hub_simulator_call_places_a_call_from_the_command_line(
    live_hub, make_user, db, env_for_subprocess
):
    import subprocess
    import sys

    app, sim, _creds, _ = live_hub
    owner = _agent(db, make_user, "+8613900000001")
    customer = _customer(db, owner)
    env = {**env_for_subprocess, "HUB_INSTANCE_DIR": app.config["INSTANCE_DIR"]}
    done = subprocess.run(
        [sys.executable, "-m", "hub", "simulator", "call", "--from", "+86 138 0013 8000",
         "--talk", "61"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # One line a person reads; the TwiML only with --verbose.
    [line] = done.stdout.splitlines()
    assert line.startswith("call CA") and line.endswith(
        f"from +8613800138000: the hub answered: ringing agent {owner.email} (+8613900000001)"
    )
    assert "<Dial" not in done.stdout
    assert sim.wait_idle(PATIENCE)
    db.expire_all()
    call = db.scalar(sa.select(Call))
    assert (call.customer_id, call.duration, call.status) == (customer.id, 61, "completed")

    verbose = subprocess.run(
        [sys.executable, "-m", "hub", "simulator", "call", "--from", CALLER, "--verbose"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert verbose.returncode == 0, verbose.stderr
    assert "the hub answered: ringing agent" in verbose.stdout
    assert "<Dial" in verbose.stdout and "<Number" in verbose.stdout
    assert sim.wait_idle(PATIENCE)


def test_hub_simulator_call_refuses_a_number_that_is_not_one_naming_the_option(
    env_for_subprocess, tmp_path
):
    import subprocess
    import sys

    env = {**env_for_subprocess, "HUB_INSTANCE_DIR": str(tmp_path / "empty")}
    done = subprocess.run(
        [sys.executable, "-m", "hub", "simulator", "call", "--from", "+86 150 92"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert "--from: +86 150 92 is not a valid phone number." in done.stderr
    assert "Traceback" not in done.stderr


def test_a_call_from_a_number_typed_with_spaces_pops_the_customer_and_is_stored_in_e164(
    live_hub, make_user, db, redis_conn
):
    app, sim, creds, _ = live_hub
    owner = _agent(db, make_user, "+8613900000001")
    customer = _customer(db, owner, phone="+8615092216676")
    pubsub = _subscribe(redis_conn, owner)

    answer = _ring(sim, sender="+86 150 9221 6676", talk_seconds=5)

    # The hub rang the owner with the caller's number, written the one way Twilio takes it.
    assert 'callerId="+8615092216676"' in answer["twiml"]
    [(channel, event)] = [e for e in _events(pubsub) if e[1]["status"] == "ringing"]
    assert channel == events_channel(f"user:{owner.id}", redis_conn)
    assert (event["customer_id"], event["number"]) == (customer.id, "+8615092216676")
    [webhook] = [r for r in sim.requests() if r.get("kind") == "inbound_call"]
    db.expire_all()
    call = db.scalar(sa.select(Call))
    assert (call.customer_id, call.customer_number) == (customer.id, "+8615092216676")
    assert call.hub_number == creds.from_number
    follow_up = db.get(FollowUp, call.follow_up_id)
    assert follow_up.customer_id == customer.id and follow_up.call_ref == call.sid
    assert webhook["body"]["from"] == "+86 150 9221 6676"  # as the customer typed it


def test_the_simulator_refuses_a_caller_that_is_not_an_international_number(live_hub, db):
    _app, sim, _creds, _ = live_hub
    r = requests.post(
        f"{sim.url}/sim/inbound/call", json={"from": "0150 9221"}, proxies=NO_PROXY, timeout=15
    )
    assert r.status_code == 400
    assert "'from' is not an international phone number" in r.json()["error"]
    assert db.scalar(sa.select(sa.func.count()).select_from(Call)) == 0


def test_hub_simulator_call_without_a_running_simulator_says_so(env_for_subprocess, tmp_path):
    import subprocess
    import sys

    env = {**env_for_subprocess, "HUB_INSTANCE_DIR": str(tmp_path / "empty")}
    done = subprocess.run(
        [sys.executable, "-m", "hub", "simulator", "call", "--from", CALLER],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0 and "no simulator is running" in done.stderr


def test_the_voice_webhook_itself_reads_from_and_to_as_e164(live_hub, make_user, db):
    app, _sim, creds, url = live_hub
    owner = _agent(db, make_user, "+8613900000001")
    customer = _customer(db, owner, phone="+8615092216676")
    params = {
        "CallSid": "CA" + "5" * 32,
        "AccountSid": creds.account_sid,
        "From": "+86 150-9221-6676",
        "To": "+1 202-555-0143",  # the simulator's company number, spelled out
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    r = _signed_post(f"{url}/webhooks/twilio/voice", creds.auth_token, params)
    assert r.status_code == 200 and 'callerId="+8615092216676"' in r.text
    db.expire_all()
    call = db.scalar(sa.select(Call))
    assert (call.customer_id, call.customer_number) == (customer.id, "+8615092216676")
    assert call.hub_number == creds.from_number == "+12025550143"

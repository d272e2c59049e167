"""The `hub` command: users, tokens, demo data and configuration errors."""

import subprocess
import sys

import phonenumbers
import sqlalchemy as sa

from hub.core.auth import User
from hub.crm.customers.models import Customer
from tests.conftest import business_day


def hub(env, *args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_users_create_prints_a_one_time_password_that_signs_in(app, env_for_subprocess, client):
    from tests.conftest import login

    done = hub(
        env_for_subprocess, "users", "create", "--email", "Rep@Example.com", "--role", "agent"
    )
    assert done.returncode == 0, done.stderr
    password = done.stdout.strip().splitlines()[-1].split(": ", 1)[1]
    assert login(client, "rep@example.com", password).status_code == 302


def test_users_create_names_the_bad_field(env_for_subprocess):
    done = hub(env_for_subprocess, "users", "create", "--email", "nobody", "--role", "agent")
    assert done.returncode != 0
    assert "email:" in done.stderr
    short = hub(
        env_for_subprocess,
        "users",
        "create",
        "--email",
        "a@example.com",
        "--role",
        "agent",
        "--password",
        "short",
    )
    assert short.returncode != 0 and "password:" in short.stderr


def test_tokens_create_prints_the_token_alone_on_the_last_line(
    env_for_subprocess, make_user, client
):
    user = make_user("director")
    done = hub(env_for_subprocess, "tokens", "create", "--user", user.email, "--name", "crm sync")
    assert done.returncode == 0, done.stderr
    token = done.stdout.rstrip("\n").splitlines()[-1]
    assert token.startswith("hub_") and " " not in token
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json["email"] == user.email


def test_tokens_create_for_an_unknown_user_fails_clearly(env_for_subprocess):
    done = hub(env_for_subprocess, "tokens", "create", "--user", "ghost@example.com")
    assert done.returncode != 0
    assert "no user with the email ghost@example.com" in done.stderr


def test_demo_adds_realistic_customers_with_owners(env_for_subprocess, app, db):
    done = hub(env_for_subprocess, "demo", "--customers", "300", "--seed", "7")
    assert done.returncode == 0, done.stderr
    customers = db.scalars(sa.select(Customer)).all()
    assert len(customers) == 300
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(c.phone)) for c in customers)
    assert any("\u4e00" <= c.name[0] <= "\u9fff" for c in customers)  # Chinese names
    assert any(c.name[0].isascii() for c in customers)  # English names
    assert {c.customer_class for c in customers} == {"A", "B", "C"}
    agents = db.scalars(sa.select(User).where(User.role == "agent")).all()
    assert {c.owner_id for c in customers} == {a.id for a in agents}
    assert "demo staff" in done.stdout
    from hub.crm.customers.models import Contact
    from hub.crm.followups.models import FollowUp

    with_contacts = db.scalar(sa.select(sa.func.count(sa.distinct(Contact.customer_id))))
    assert with_contacts == 300
    assert db.scalar(sa.select(sa.func.count()).select_from(FollowUp)) >= 300
    stages = {c.stage for c in customers}
    assert {"lead", "customer"} <= stages
    assert any(c.next_contact_on and c.next_contact_on <= business_day(app) for c in customers)  # due work
    again = hub(env_for_subprocess, "demo", "--customers", "10")
    assert again.returncode == 0, again.stderr
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 310
    assert "demo staff" not in again.stdout  # staff are reused, passwords untouched


def test_a_bad_setting_stops_the_command_with_every_problem(env_for_subprocess):
    env = {**env_for_subprocess, "HUB_TIMEZONE": "Nowhere/City", "HUB_DEFAULT_REGION": "ZZ"}
    done = hub(env, "db", "upgrade")
    assert done.returncode != 0
    assert "HUB_TIMEZONE" in done.stderr and "HUB_DEFAULT_REGION" in done.stderr
    assert "Traceback" not in done.stderr

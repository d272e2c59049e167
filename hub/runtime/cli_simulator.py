"""`hub simulator`: run the Twilio and SendGrid simulator, print its request log, have a simulated
customer call the company."""

from __future__ import annotations

import signal
import threading

import click

from hub.core.config import ConfigError
from hub.runtime.cli_app import load_app


@click.group("simulator", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5010, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--hub-url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Where the hub listens: callbacks go to {hub-url}/webhooks/...",
)
@click.option(
    "--faults",
    "faults_json",
    default=None,
    help='Faults as JSON, e.g. \'{"rate_429": 0.1, "seed": 7}\' (also POST /sim/faults).',
)
@click.pass_context
def simulator(
    ctx: click.Context, host: str, port: int, hub_url: str, faults_json: str | None
) -> None:
    """Run the Twilio and SendGrid simulator in the foreground (Ctrl-C stops it)."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    from hub.channels.credentials import load_or_create
    from hub.core.config import load_settings
    from hub.simulator.server import Faults, ProviderSimulator

    try:
        settings = load_settings()
        faults = Faults.from_dict(json.loads(faults_json)) if faults_json else Faults()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"--faults: {exc}") from exc
    creds = load_or_create(settings.instance_dir)
    sim = ProviderSimulator(settings.instance_dir / "simulator", creds, hub_url, faults)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        url = sim.start(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
    click.echo(f"provider simulator at {url}, calling back {hub_url}")
    click.echo(f"  TWILIO_API_BASE_URL={url}  SENDGRID_API_BASE_URL={url}")
    click.echo(f"  account {creds.account_sid}, from {creds.from_number} / {creds.from_email}")
    click.echo(f"  credentials in {settings.instance_dir / 'simulator' / 'credentials.json'}")
    try:
        while not stop.wait(1.0):
            pass
    finally:
        sim.stop()
    click.echo("provider simulator stopped")


@simulator.command("log")
@click.option("--provider", default=None, help="Only twilio, sendgrid or customer.")
def simulator_log(provider: str | None) -> None:
    """Print the requests the simulator accepted, one JSON line each, oldest first."""
    import json

    from hub.core.config import load_settings
    from hub.simulator.store import read_request_log

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    for record in read_request_log(settings.instance_dir / "simulator" / "requests.jsonl"):
        if provider is None or record.get("provider") == provider:
            click.echo(json.dumps(record, ensure_ascii=False))


@simulator.command("call")
@click.option("--from", "sender", required=True, help="The calling number, e.g. +8613800138000.")
@click.option(
    "--nobody-answers", is_flag=True, help="No agent picks up: the caller leaves a voicemail."
)
@click.option(
    "--talk",
    "talk_seconds",
    default=42,
    show_default=True,
    type=click.IntRange(0, 14400),
    help="Seconds spoken once an agent answers.",
)
@click.option(
    "--voicemail",
    "voicemail_seconds",
    default=12,
    show_default=True,
    type=click.IntRange(0, 3600),
    help="Seconds of voicemail (0: the caller hangs up).",
)
@click.option("--verbose", is_flag=True, help="Also print the TwiML the hub answered with.")
def simulator_call(
    sender: str, nobody_answers: bool, talk_seconds: int, voicemail_seconds: int, verbose: bool
) -> None:
    """Have a simulated customer call the company's number (the running simulator of this
    instance sends the signed voice webhook and plays the call out)."""
    from hub.channels.base import ChannelMisconfigured
    from hub.channels.providers import simulator_url
    from hub.core.config import load_settings
    from hub.core.db import session_scope
    from hub.core.normalize import normalize_phone
    from hub.core.refusals import FieldError
    from hub.simulator.client import SimulatorError, customer_call
    from hub.simulator.twiml_summary import agent_names, summarize_twiml

    try:
        settings = load_settings()
        # Twilio always sends E.164: the number as typed ("+86 150 9221 6676") is read the way
        # the hub reads any number, in HUB_DEFAULT_REGION when it has no country code.
        sender = normalize_phone(sender, settings.default_region, field="--from")
        base = simulator_url(settings)
        reply = customer_call(base, sender, not nobody_answers, talk_seconds, voicemail_seconds)
    except FieldError as exc:
        raise click.ClickException(f"{exc.field}: {exc.message}") from exc
    except (ConfigError, ChannelMisconfigured) as exc:
        raise click.ClickException(str(exc)) from exc
    except SimulatorError as exc:
        raise click.ClickException(
            f"the simulator at {exc.url} did not answer: {exc.reason}"
        ) from exc
    answer = reply.data
    if not reply.ok:
        raise click.ClickException(f"the call was not taken (HTTP {reply.status}): {reply.text}")
    twiml = answer.get("twiml", "")
    with session_scope(load_app()) as s:
        summary = summarize_twiml(twiml, agent_names(s))
    click.echo(f"call {answer.get('sid')} from {sender}: the hub answered: {summary}")
    if verbose:
        click.echo(twiml)

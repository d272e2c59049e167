"""The `hub` command."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import click

from hub.core.config import SETTINGS_HELP, ConfigError
from hub.core.logs import configure_logging
from hub.runtime.cli_app import load_app
from hub.runtime.cli_simulator import simulator

VERBOSE = click.option(
    "--verbose",
    is_flag=True,
    help="Show the libraries' INFO logs too (requests, jobs, migrations).",
)


def _follow_parent(parent_pid: int) -> None:
    """End this process (gracefully) when the `hub up` that started it is gone."""
    if not parent_pid:
        return

    def watch() -> None:
        while os.getppid() == parent_pid:
            threading.Event().wait(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@click.group(epilog="Settings come from the environment: " + ", ".join(SETTINGS_HELP))
def main() -> None:
    """Contact Hub: customers, campaigns, calls and follow-ups."""
    configure_logging()


main.add_command(simulator)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32))
@VERBOSE
def up(host: str, port: int, workers: int, verbose: bool) -> None:
    """Run everything: embedded Redis (unless HUB_REDIS_URL), workers, scheduler and web."""
    from hub.runtime.supervisor import run_up

    configure_logging(verbose)
    try:
        run_up(host, port, workers, verbose=verbose)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@VERBOSE
def web(host: str, port: int, verbose: bool) -> None:
    """Run only the web server (threaded). Production: gunicorn 'hub:create_app()'."""
    from werkzeug.serving import run_simple

    configure_logging(verbose)
    run_simple(host, port, load_app(), threaded=True, use_reloader=False)


@main.command()
@click.option(
    "--queues",
    default="high,default,bulk",
    show_default=True,
    help="Comma-separated queues, highest priority first.",
)
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit.")
@click.option(
    "--with-scheduler/--without-scheduler",
    default=True,
    show_default=True,
    help="Also move jobs scheduled for later onto their queues when due.",
)
@click.option("--parent-pid", type=int, default=0, hidden=True)
@VERBOSE
def worker(queues: str, burst: bool, with_scheduler: bool, parent_pid: int, verbose: bool) -> None:
    """Run an RQ worker over the hub's queues (any number, on any number of machines)."""
    from hub.runtime.worker import run_worker

    configure_logging(verbose)
    _follow_parent(parent_pid)
    names = [q.strip() for q in queues.split(",") if q.strip()]
    try:
        run_worker(load_app(), names, burst=burst, with_scheduler=with_scheduler)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
def scheduler() -> None:
    """Enqueue the periodic jobs when due (safe to run on several machines)."""
    from hub.core import services
    from hub.core.clock import business_zone
    from hub.runtime.schedule import run_scheduler

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    app = load_app()
    with app.app_context():
        tz = business_zone()
    run_scheduler(services.redis(app), stop, tz)


@main.command("redis")
@click.option("--port", type=int, default=None, help="TCP port (default: any free one).")
@click.option("--parent-pid", type=int, default=0, hidden=True)
def redis_cmd(port: int | None, parent_pid: int) -> None:
    """Run the embedded Redis-compatible server for this instance folder in the foreground."""
    from hub.core.config import load_settings
    from hub.runtime.embedded import run_embedded_redis

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    run_embedded_redis(settings.instance_dir, port=port, parent_pid=parent_pid)


@main.group()
def db() -> None:
    """Database schema."""


@db.command()
@click.option("--revision", default="head", show_default=True)
def upgrade(revision: str) -> None:
    """Create or migrate the schema to the newest revision."""
    from hub.runtime.maintenance import upgrade_database

    app = load_app()
    upgrade_database(app, revision)
    click.echo(f"database at {revision}: {app.config['DATABASE_URL'].split('@')[-1]}")


@db.command()
@click.option("-m", "--message", required=True)
def revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    from alembic import command

    from hub.runtime.maintenance import alembic_config

    command.revision(
        alembic_config(load_app().config["DATABASE_URL"]), message=message, autogenerate=True
    )


@main.group("import")
def import_group() -> None:
    """Bring data in from spreadsheets."""


@import_group.command("customers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "email", required=True, help="Email of the user the import is done as.")
@click.option("--owner", default=None, help="Email of the owner of new customers (directors).")
@click.option(
    "--stage",
    default="lead",
    show_default=True,
    type=click.Choice(["lead", "prospect", "customer"]),
)
@click.option("--dry-run", is_flag=True, help="Report what would happen; store nothing.")
def import_customers(path: Path, email: str, owner: str | None, stage: str, dry_run: bool) -> None:
    """Import customers from a CSV or XLSX file, columns recognised from their headings."""
    from hub.crm.intake.import_cli import run_cli_import

    run_cli_import(load_app(), path, email, owner, stage, dry_run)


@main.group()
def users() -> None:
    """People who sign in."""


@users.command("create")
@click.option("--email", required=True)
@click.option(
    "--role", required=True, type=click.Choice(["admin", "director", "agent", "specialist"])
)
@click.option("--name", default="")
@click.option("--password", default=None, help="Default: generate one and print it.")
def users_create(email: str, role: str, name: str, password: str | None) -> None:
    """Create a user; they choose their own password at their first sign-in."""
    from hub.core.auth import AuthError, create_user, generate_password
    from hub.core.db import session_scope

    shown = password is None
    password = password or generate_password()
    app = load_app()
    try:
        with session_scope(app) as s:
            user = create_user(s, email, role, password, name=name, must_change_password=True)
            email = user.email
    except AuthError as exc:
        raise click.ClickException(f"{exc.field}: {exc.message}") from exc
    click.echo(f"created {role} {email}")
    if shown:
        click.echo(f"one-time password: {password}")


@main.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.option("--user", "email", required=True, help="Email of the user the token acts as.")
@click.option("--name", default="cli", show_default=True)
def tokens_create(email: str, name: str) -> None:
    """Create an API token; prints it alone on the last line."""
    import sqlalchemy as sa

    from hub.core.auth import AuthError, User, create_token, normalize_email
    from hub.core.db import session_scope

    try:
        with session_scope(load_app()) as s:
            user = s.scalar(sa.select(User).where(User.email == normalize_email(email)))
            if user is None:
                raise click.ClickException(f"no user with the email {email}")
            token = create_token(s, user, name)
    except AuthError as exc:
        raise click.ClickException(f"{exc.field}: {exc.message}") from exc
    click.echo(f"token {name!r} for {user.email} (shown once; only its hash is kept):")
    click.echo(token)


@main.command()
@click.option("--customers", default=200, show_default=True, type=click.IntRange(0, 5_000_000))
@click.option("--seed", type=int, default=None, help="Same seed, same data.")
def demo(customers: int, seed: int | None) -> None:
    """Add demo staff and customers."""
    from hub.core.db import session_scope
    from hub.runtime.demo import generate_demo

    app = load_app()
    with (
        app.app_context(),  # the business time zone, for the dashboards' summaries
        session_scope(app) as s,
        click.progressbar(length=customers, label="customers", file=sys.stderr) as bar,
    ):
        result = generate_demo(s, customers, seed=seed, progress=bar.update)
    click.echo(f"added {result.customers} demo customers")
    if result.staff_created:
        click.echo("demo staff (password for each: " + str(result.staff_password) + "):")
        for email in result.staff_created:
            click.echo(f"  {email}")


@main.group()
def campaigns() -> None:
    """Campaigns from the command line."""


@campaigns.command("send")
@click.argument("campaign_id", type=int)
@click.option("--no-wait", is_flag=True, help="Launch and return without watching.")
def campaigns_send(campaign_id: int, no_wait: bool) -> None:
    """Launch a draft campaign (or watch a running one) with a progress bar; workers send it."""
    from hub.campaigns.cli_progress import send_and_watch

    try:
        send_and_watch(load_app(), campaign_id, wait=not no_wait)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def worker_script() -> None:
    """`python worker.py`: the same as `hub worker`."""
    sys.argv[0] = str(Path(sys.argv[0]).name)
    main(["worker", *sys.argv[1:]])

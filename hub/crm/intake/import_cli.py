"""`hub import customers FILE`: the same import as the page, run in the command with a progress bar."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask

from hub.core.auth import User
from hub.core.refusals import ValidationError
from hub.crm.intake.import_files import TARGETS
from hub.crm.intake.import_run_files import refused_path, report_path
from hub.crm.intake.imports import execute_import, set_mapping, start_import


def run_cli_import(
    app: Flask, path: Path, email: str, owner: str | None, stage: str, dry_run: bool
) -> dict[str, int]:
    """Upload, map by the headings, then run with a progress bar; prints the counts."""
    instance = Path(app.config["INSTANCE_DIR"])
    factory = app.extensions["hub.core.db"]
    with app.app_context(), factory() as s:
        actor = s.scalar(sa.select(User).where(sa.func.lower(User.email) == email.lower()))
        if actor is None or not actor.active:
            raise click.ClickException(f"--user: no active user {email}")
        owner_id = None
        if owner:
            owner_user = s.scalar(sa.select(User).where(sa.func.lower(User.email) == owner.lower()))
            if owner_user is None:
                raise click.ClickException(f"--owner: no user {owner}")
            owner_id = owner_user.id
        try:
            with path.open("rb") as f:
                run = start_import(s, actor, path.name, f, instance)
            set_mapping(s, actor, run, run.mapping, stage, owner_id)
        except ValidationError as exc:
            s.rollback()
            raise click.ClickException("; ".join(str(e) for e in exc.errors)) from None
        s.commit()
        click.echo(f"import {run.id}: headings on row {run.header_row}")
        for header, target in zip(run.headers, run.mapping, strict=False):
            click.echo(f"  {header or '-'} -> {TARGETS[target] if target else '(not imported)'}")
        with click.progressbar(length=1, label="dry run" if dry_run else "importing") as bar:

            def progress(done: int, total: int | None) -> None:
                bar.length = total or 1
                bar.update(done - bar.pos)

            counts = execute_import(
                s, run.id, dry_run, instance, app.config["SETTINGS"].default_region, progress
            )
        for outcome, n in counts.items():
            click.echo(f"{outcome}: {n}")
        s.expire_all()
        run = s.get(type(run), run.id)
        if run is not None and run.error:
            raise click.ClickException(run.error)
        if counts.get("refused"):
            click.echo(f"row report: {report_path(instance, run.id)}")
            click.echo(f"refused rows: {refused_path(instance, run.id)}")
        return counts

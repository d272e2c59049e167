"""`hub campaigns send ID`: launch, then a progress bar until the campaign is done."""

from __future__ import annotations

import time

import click
from flask import Flask

from hub.campaigns import campaigns as svc
from hub.campaigns.launch import start_work
from hub.campaigns.models import CampaignState
from hub.core.db import session_scope

POLL_SECONDS = 0.5


def _snapshot(app: Flask, campaign_id: int) -> tuple[str, dict[str, int]]:
    with session_scope(app) as s:
        campaign = svc.load_campaign(s, campaign_id)
        return campaign.state, svc.counts(s, campaign_id)


def send_and_watch(app: Flask, campaign_id: int, wait: bool = True) -> str:
    """Launch a draft (a scheduled, paused or finished one is only watched); returns the state."""
    with app.app_context():
        with session_scope(app) as s:
            campaign = svc.load_campaign(s, campaign_id)
            name = campaign.name
            start = svc.launch(s, campaign) if campaign.state == CampaignState.DRAFT else campaign.state == CampaignState.RUNNING
        if start:
            start_work(app, campaign_id)
        state, counts = _snapshot(app, campaign_id)
        click.echo(f"{name}: {svc.STATE_LABELS[state]}")
        if not wait or state in (CampaignState.DRAFT, CampaignState.SCHEDULED):
            return state
        with click.progressbar(length=max(counts["planned"], 1), label="sending", show_pos=True) as bar:
            done = 0
            while True:
                state, counts = _snapshot(app, campaign_id)
                finished = counts["planned"] - counts["pending"] - counts["sending"]
                bar.length = max(counts["planned"], 1)
                bar.update(finished - done)
                done = finished
                if state != CampaignState.RUNNING:
                    break
                time.sleep(POLL_SECONDS)
        shown = ("planned", "sent", "failed", "suppressed", "skipped", "quiet_hours", "cancelled")
        click.echo(f"{svc.STATE_LABELS[state]}: " + ", ".join(f"{k} {counts[k]}" for k in shown))
        return state

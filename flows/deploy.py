"""The nightly deployment: the flow served on a cron schedule in the configured timezone."""

from __future__ import annotations

import asyncio
import inspect
import logging
from datetime import datetime
from pathlib import Path

from prefect.schedules import Cron
from prefect.server.schemas.schedules import CronSchedule

from flows.nightly import nightly
from nlp.config import Settings


def schedule_of(settings: Settings) -> Cron:
    return Cron(settings.schedule.cron, timezone=settings.schedule.timezone)


log = logging.getLogger(__name__)


def next_runs(settings: Settings, n: int = 3) -> list[datetime]:
    """The next `n` scheduled start times, in the schedule's timezone (Prefect's own cron logic)."""
    dates = CronSchedule(cron=settings.schedule.cron, timezone=settings.schedule.timezone).get_dates(n)
    return list(asyncio.run(dates) if inspect.iscoroutine(dates) else dates)


def describe(settings: Settings) -> str:
    upcoming = ", ".join(d.isoformat(timespec="minutes") for d in next_runs(settings))
    return (f"deployment voc-nightly/{settings.schedule.deployment}: cron '{settings.schedule.cron}' "
            f"in {settings.schedule.timezone}; next runs {upcoming}")


def serve(settings: Settings, config_path: Path | None = None) -> None:
    """Serve the deployment until interrupted; each scheduled run processes its run date."""
    log.info("%s", describe(settings))
    parameters = {"config_path": str(config_path)} if config_path else {}
    nightly.serve(
        name=settings.schedule.deployment,
        schedules=[schedule_of(settings)],
        parameters=parameters,
        description="Nightly VOC run: all channels to pain-point tables.",
        tags=["voc", "nightly"],
    )

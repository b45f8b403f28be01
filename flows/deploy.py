"""The nightly deployment: the flow served on a cron schedule in the configured timezone."""

from __future__ import annotations

from pathlib import Path

from prefect.schedules import Cron

from flows.nightly import nightly
from nlp.config import Settings


def schedule_of(settings: Settings) -> Cron:
    return Cron(settings.schedule.cron, timezone=settings.schedule.timezone)


def serve(settings: Settings, config_path: Path | None = None) -> None:
    """Serve the deployment until interrupted; each scheduled run processes its run date."""
    parameters = {"config_path": str(config_path)} if config_path else {}
    nightly.serve(
        name=settings.schedule.deployment,
        schedules=[schedule_of(settings)],
        parameters=parameters,
        description="Nightly VOC run: all channels to pain-point tables.",
        tags=["voc", "nightly"],
    )

"""prefect.yaml and the systemd unit describe the deployment `voc serve` serves."""

import configparser

import yaml

from nlp.config import load_settings
from tests.conftest import ROOT


def test_prefect_yaml_matches_the_configured_schedule():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    (deployment,) = spec["deployments"]
    settings = load_settings(ROOT / "configs/base/pipeline.yaml")
    assert deployment["name"] == settings.schedule.deployment
    (schedule,) = deployment["schedules"]
    assert schedule == {"cron": settings.schedule.cron, "timezone": settings.schedule.timezone}
    path, function = deployment["entrypoint"].split(":")
    assert (ROOT / path).is_file() and f"def {function}(" in (ROOT / path).read_text(encoding="utf-8")


def test_systemd_unit_starts_voc_serve():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "deploy/voc-nightly.service")
    assert unit["Service"]["ExecStart"].endswith("voc serve")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_voc_serve_show_prints_the_schedule(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app
    from tests.conftest import write_config

    config = write_config(tmp_path, schedule={"cron": "30 3 * * 1-5", "timezone": "Asia/Hong_Kong"})
    result = CliRunner().invoke(app, ["serve", "--config", str(config), "--show"])
    assert result.exit_code == 0, result.output
    assert "'30 3 * * 1-5' in Asia/Hong_Kong" in result.output
    assert result.output.count("T03:30+08:00") == 3

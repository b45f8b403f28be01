"""Shared fixtures: the project's settings and loaded components, built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.chdir(ROOT)  # configs refer to paths relative to the project root


@pytest.fixture(scope="session")
def settings():
    from nlp.config import load_settings

    return load_settings(ROOT / "configs/base/pipeline.yaml")


@pytest.fixture(scope="session")
def components(settings):
    from flows.components import load_components

    return load_components(settings)


@pytest.fixture(scope="session")
def taxonomy(settings):
    from nlp.journey import load_taxonomy

    return load_taxonomy(settings.journey.taxonomy)


@pytest.fixture(scope="session")
def signal_config(settings):
    from nlp.signals import load_signal_config

    return load_signal_config(settings.journey.signals)


@pytest.fixture(scope="session")
def segmenter(settings, taxonomy, signal_config):
    from nlp.segment import get_segmenter

    extra = tuple(sorted(set(taxonomy.all_cues()) | set(signal_config.all_cues())))
    return get_segmenter(settings.segment.userdict, settings.segment.stopwords, extra,
                         settings.segment.engine)


@pytest.fixture(scope="session")
def tagger(settings, taxonomy, segmenter):
    from nlp.journey import JourneyTagger
    from nlp.stage_model import taxonomy_only_model

    model = taxonomy_only_model(taxonomy, segmenter.tokens)
    return JourneyTagger(taxonomy, segmenter.tokens, settings.journey.min_confidence, model)


def write_config(tmp_path: Path, **overrides) -> Path:
    """A copy of the base pipeline config with `section={key: value}` overrides."""
    import yaml

    data = yaml.safe_load((ROOT / "configs/base/pipeline.yaml").read_text(encoding="utf-8"))
    # Outputs (report, topic model state) stay in the test's directory, never in data/out.
    data["run"]["output_dir"] = str(tmp_path)
    for section, values in overrides.items():
        data[section] = {**data.get(section, {}), **values}
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _pg_bin(name: str) -> str | None:
    import glob
    import shutil

    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway Postgres cluster (initdb into a temp dir, pg_ctl start on a free port) for the
    session; its URL. As root the server runs as the `postgres` user (Postgres refuses root).
    Skips with the reason when no server binaries exist or the cluster cannot start."""
    import shutil
    import subprocess
    import tempfile

    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("no Postgres server binaries (initdb/pg_ctl); `apt-get install postgresql`")
    prefix: list[str] = []
    root_dir = Path(tempfile.mkdtemp(prefix="voc-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if not runuser:
            pytest.skip("running as root and no `runuser` to start Postgres as another user")
        try:
            shutil.chown(root_dir, user="postgres")
        except (LookupError, PermissionError) as exc:
            pytest.skip(f"running as root and cannot hand the cluster to user postgres: {exc}")
        prefix = [runuser, "-u", "postgres", "--"]
    data, port = root_dir / "data", _free_port()
    log_file = root_dir / "server.log"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)

    init = run(initdb, "-D", str(data), "-U", "voc", "--auth=trust", "-E", "UTF8",
               "--locale=C")
    if init.returncode != 0:
        shutil.rmtree(root_dir, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip()[-500:]}")
    start = run(pg_ctl, "-D", str(data), "-l", str(log_file), "-w", "-t", "60", "-o",
                f"-p {port} -k {root_dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    if start.returncode != 0:
        log = log_file.read_text() if log_file.exists() else ""
        shutil.rmtree(root_dir, ignore_errors=True)
        pytest.skip(f"Postgres did not start: {start.stderr.strip()[-300:]} {log[-300:]}")
    try:
        yield f"postgresql://voc@127.0.0.1:{port}/postgres"
    finally:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root_dir, ignore_errors=True)

"""`voc serve` against a real local Prefect server: deploy, trigger a run through the API, wait
for it and check the tables. The server and the serve process are started and stopped here."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.conftest import ROOT, write_config
from tests.flows.test_nightly import make_inputs

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture()
def prefect_server(tmp_path):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": api,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"}
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                             "--port", str(port), "--no-ui"], env=env, stdout=log, stderr=log)
    try:
        wait_until(lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200, 120,
                   "Prefect server")
        yield env, api
    finally:
        stop(proc)
        log.close()


def test_served_deployment_runs_when_triggered(tmp_path, prefect_server):
    env, api = prefect_server
    make_inputs(tmp_path / "in")
    config = write_config(tmp_path, run={"input_dir": str(tmp_path / "in")},
                          sink={"path": str(tmp_path / "voc.duckdb")},
                          schedule={"deployment": "voc-nightly-test"})
    serve_log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen([str(BIN / "voc"), "serve", "--config", str(config)], env=env,
                             cwd=ROOT, stdout=serve_log, stderr=subprocess.STDOUT)
    try:
        def deployed():
            response = httpx.get(f"{api}/deployments/name/voc-nightly/voc-nightly-test", timeout=5)
            return response.status_code == 200

        wait_until(deployed, 120, "deployment")
        deployment = httpx.get(f"{api}/deployments/name/voc-nightly/voc-nightly-test").json()
        (schedule,) = deployment["schedules"]
        assert schedule["schedule"]["cron"] == "0 2 * * *"
        assert schedule["schedule"]["timezone"] == "Asia/Shanghai"
        trigger = ("from prefect.deployments import run_deployment; "
                   "run = run_deployment('voc-nightly/voc-nightly-test', "
                   "parameters={'run_date': '2026-11-24'}, timeout=600); print(run.state.type.value)")
        done = subprocess.run([sys.executable, "-c", trigger], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=700)
        assert done.stdout.strip().splitlines()[-1] == "COMPLETED", done.stdout + done.stderr
    finally:
        stop(serve)
        serve_log.close()
    con = duckdb.connect(str(tmp_path / "voc.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 4
        assert con.execute("SELECT status, run_date FROM runs").fetchone()[0] == "completed"
    finally:
        con.close()

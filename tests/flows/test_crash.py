"""A run killed mid-way (SIGKILL) leaves the previous tables readable, and a rerun completes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from tests.conftest import ROOT, write_config
from tests.flows.test_nightly import make_inputs

VOC = Path(sys.executable).parent / "voc"


def snapshot(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table in ("utterances", "documents", "painpoints", "quarantine"):
            frame = con.execute(f'SELECT * FROM "{table}"').df().drop(columns=["run_id"])
            out[table] = sorted(json.dumps(r, ensure_ascii=False, sort_keys=True, default=str)
                                for r in frame.to_dict(orient="records"))
        out["runs"] = [r[0] for r in con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()]
        return out
    finally:
        con.close()


def voc_run(config, **kwargs):
    return subprocess.Popen([str(VOC), "run", "--config", str(config), "--date", "2026-11-24"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "COLUMNS": "200"}, **kwargs)


def test_killed_run_keeps_previous_state_and_rerun_completes(tmp_path):
    make_inputs(tmp_path / "in")
    db = tmp_path / "voc.duckdb"
    config = write_config(tmp_path, run={"input_dir": str(tmp_path / "in")}, sink={"path": str(db)})
    first = voc_run(config)
    assert first.wait(timeout=300) == 0, first.stdout.read()
    before = snapshot(db)

    victim = voc_run(config)
    for line in victim.stdout:  # kill once the flow is past loading, i.e. in the middle of work
        if "components loaded" in line:
            time.sleep(0.5)
            break
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=30) == -signal.SIGKILL  # it was still running when killed
    after_kill = snapshot(db)
    assert {k: v for k, v in after_kill.items() if k != "runs"} == \
        {k: v for k, v in before.items() if k != "runs"}

    rerun = voc_run(config)
    assert rerun.wait(timeout=300) == 0, rerun.stdout.read()
    final = snapshot(db)
    assert {k: v for k, v in final.items() if k != "runs"} == \
        {k: v for k, v in before.items() if k != "runs"}
    assert final["runs"][-1] == "completed"

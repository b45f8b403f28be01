"""`voc run --from D1 --to D2` gives the same tables as one `voc run --date D` per date."""

import json

import duckdb
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import write_config
from tests.flows.test_nightly import make_inputs

DATES = ["2026-11-22", "2026-11-23", "2026-11-24"]
TABLES = ("utterances", "documents", "painpoints", "quarantine", "topics")


def tables(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table in TABLES:
            frame = con.execute(f'SELECT * FROM "{table}"').df().drop(columns=["run_id"])
            out[table] = sorted(json.dumps(r, ensure_ascii=False, sort_keys=True, default=str)
                                for r in frame.to_dict(orient="records"))
        out["runs"] = con.execute("SELECT run_date, status FROM runs ORDER BY run_date").fetchall()
        return out
    finally:
        con.close()


def test_backfill_equals_single_runs(tmp_path, prefect_harness):
    make_inputs(tmp_path / "in")
    runner = CliRunner()
    results = {}
    for mode in ("backfill", "single"):
        root = tmp_path / mode
        root.mkdir()
        config = write_config(root, run={"input_dir": str(tmp_path / "in"), "output_dir": str(root)},
                              sink={"path": str(root / "voc.duckdb")})
        invocations = ([["run", "--config", str(config), "--from", DATES[0], "--to", DATES[-1]]]
                       if mode == "backfill"
                       else [["run", "--config", str(config), "--date", d] for d in DATES])
        for args in invocations:
            result = runner.invoke(app, args)
            assert result.exit_code == 0, result.output
        results[mode] = tables(root / "voc.duckdb")
    assert [(str(d)[:10], status) for d, status in results["backfill"]["runs"]] == \
        [(d, "completed") for d in DATES]
    for table in TABLES:
        assert results["backfill"][table] == results["single"][table], table

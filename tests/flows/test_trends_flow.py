"""The nightly flow over three consecutive dates: trends and spikes read from the sink's history,
checked against hand-computed values; the report and artifacts written by each run; and the same
input written to DuckDB and to Postgres gives identical tables."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

from flows.sinks import DuckDBSink
from flows.sinks.schema import TABLES
from tests.conftest import write_config
from tests.flows.test_nightly import make_inputs

DAYS = [date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)]
DELIVER = ["快递一个星期还没到，太慢了", "物流太慢了，非常失望", "发货太慢，等了十天还没收到"]
BILLING = "信用卡多扣了年费，太坑了"
# negative delivery / billing complaints per run date
VOLUMES = {DAYS[0]: (2, 3), DAYS[1]: (4, 3), DAYS[2]: (9, 3)}


def day_inputs(root, day: date) -> None:
    deliver, billing = VOLUMES[day]
    for channel in ("complaints", "forum", "chat", "call"):
        (root / channel).mkdir(parents=True)
    lines = ["ticket_id,created_at,content"]
    lines += [f"D{day:%d}{i},{day} 09:{i:02d}:00,{DELIVER[i % 3]}" for i in range(deliver)]
    lines += [f"B{day:%d}{i},{day} 10:{i:02d}:00,{BILLING}" for i in range(billing)]
    (root / "complaints" / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


class ThreeDays(NamedTuple):
    sink: DuckDBSink
    before: pd.DataFrame  # painpoints of all three dates before the rerun
    out: Path
    flow_run_ids: list  # this module's flow runs (the Prefect server is shared by the session)


@pytest.fixture(scope="module")
def three_days(tmp_path_factory, prefect_harness):
    from flows.nightly import nightly

    tmp = tmp_path_factory.mktemp("trends")
    configs = {}
    for day in DAYS:
        day_inputs(tmp / f"in-{day}", day)
        folder = tmp / f"cfg-{day}"
        folder.mkdir()
        configs[day] = write_config(
            folder, run={"input_dir": str(tmp / f"in-{day}"), "output_dir": str(tmp / "out")},
            sink={"path": str(tmp / "voc.duckdb")},
            topics={"min_topic_size": 50},  # one topic (-1) per stage: cells are stage x -1
            trends={"spike_min_history": 2})
    runs = [nightly(run_date=day, config_path=configs[day], return_state=True) for day in DAYS]
    sink = DuckDBSink(tmp / "voc.duckdb")
    before = sink.read_table("painpoints")
    # rerun of the middle date
    runs.append(nightly(run_date=DAYS[1], config_path=configs[DAYS[1]], return_state=True))
    for state in runs:
        assert state.is_completed(), state.message
    return ThreeDays(sink, before, tmp / "out", [s.state_details.flow_run_id for s in runs])


def cell(sink, day: date, stage: str) -> pd.Series:
    pp = sink.read_table("painpoints", day)
    return pp[pp["stage"] == stage].iloc[0]


def test_inputs_are_classified_as_designed(three_days):
    sink = three_days.sink
    for day, (deliver, billing) in VOLUMES.items():
        assert int(cell(sink, day, "deliver").negative_count) == deliver
        assert int(cell(sink, day, "billing").negative_count) == billing


def test_first_date_has_no_trend(three_days):
    sink = three_days.sink
    row = cell(sink, DAYS[0], "deliver")
    assert pd.isna(row.trend_7d) and pd.isna(row.trend_28d) and pd.isna(row.spike_p)
    assert not row.spike and row.history_days == 0


def test_second_date_against_one_earlier_date(three_days):
    sink = three_days.sink
    row = cell(sink, DAYS[1], "deliver")
    # m = 2: (4 - 2) / 2 = 1.0; P(X >= 4 | 2) = 1 - e^-2 (1 + 2 + 2 + 4/3) = 0.142877
    assert row.trend_7d == pytest.approx(1.0) and row.trend_28d == pytest.approx(1.0)
    assert row.spike_p == pytest.approx(0.142877, abs=1e-5)
    assert not row.spike and row.history_days == 1  # only 1 earlier date < spike_min_history 2


def test_third_date_spikes(three_days):
    sink = three_days.sink
    row = cell(sink, DAYS[2], "deliver")
    # m = (2 + 4) / 2 = 3: (9 - 3) / 3 = 2.0; z = 6 / sqrt(3) = 3.4641
    # P(X >= 9 | 3) = 1 - e^-3 sum_{k<=8} 3^k / k! = 0.0038030
    assert row.trend_7d == pytest.approx(2.0) and row.trend_28d == pytest.approx(2.0)
    assert row.spike_z == pytest.approx(3.4641, abs=1e-4)
    assert row.spike_p == pytest.approx(0.0038030, abs=1e-6)
    assert row.spike and row.history_days == 2
    flat = cell(sink, DAYS[2], "billing")
    # 3, 3, 3: no change; P(X >= 3 | 3) = 1 - e^-3 (1 + 3 + 4.5) = 0.576810
    assert flat.trend_7d == pytest.approx(0.0) and flat.spike_p == pytest.approx(0.57681, abs=1e-5)
    assert not flat.spike


def test_rerun_replaces_only_its_date(three_days):
    sink, before = three_days.sink, three_days.before
    after = sink.read_table("painpoints")
    for day in (DAYS[0], DAYS[2]):
        pd.testing.assert_frame_equal(after[after["run_date"] == day].reset_index(drop=True),
                                      before[before["run_date"] == day].reset_index(drop=True))
    assert len(after[after["run_date"] == DAYS[1]]) == len(before[before["run_date"] == DAYS[1]])
    assert after[after["run_date"] == DAYS[1]]["run_id"].nunique() == 1
    assert len(sink.read_table("runs", DAYS[1])) == 2


def test_each_run_writes_the_report(three_days):
    out = three_days.out
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "2026-11-24" in html and '<meta charset="utf-8">' in html  # the last run's date
    assert (out / "report.xlsx").stat().st_size > 0


def test_run_attaches_artifacts(three_days):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read(flow_run_id):
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))

    # other modules' runs attach artifacts to the same server: read this module's runs only
    for flow_run_id in three_days.flow_run_ids:
        artifacts = {a.key: a for a in asyncio.run(read(flow_run_id))}
        assert {"voc-top-painpoints", "voc-run-summary"} <= set(artifacts)
        table = artifacts["voc-top-painpoints"]
        data = table.data if isinstance(table.data, list) else json.loads(table.data)
        assert data and {"stage", "priority", "trend_7d", "spike"} <= set(data[0])


def comparable(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Drop what differs between two runs by design (run id, clock times), order rows."""
    drop = ["run_id"] + (["started_at", "finished_at", "timings", "config_hash"]
                         if name == "runs" else [])
    out = frame.drop(columns=drop)
    for column in out.columns:
        out[column] = [tuple(v) if isinstance(v, list) else v for v in out[column]]
    return out.sort_values(list(out.columns[:6]), kind="stable").reset_index(drop=True)


def test_duckdb_and_postgres_hold_identical_tables(tmp_path, prefect_harness, postgres_url,
                                                   monkeypatch):
    from flows.nightly import nightly
    from flows.sinks.postgres_sink import PostgresSink

    make_inputs(tmp_path / "in")
    schema = f"flow_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("VOC_TEST_PG_URL", postgres_url)
    common = {"run": {"input_dir": str(tmp_path / "in"), "output_dir": str(tmp_path / "out")}}
    (tmp_path / "duck").mkdir()
    (tmp_path / "pg").mkdir()
    duck_cfg = write_config(tmp_path / "duck", **common,
                            sink={"kind": "duckdb", "path": str(tmp_path / "voc.duckdb")})
    pg_cfg = write_config(tmp_path / "pg", **common,
                          sink={"kind": "postgres", "url_env": "VOC_TEST_PG_URL",
                                "pg_schema": schema})
    nightly(run_date=DAYS[0], config_path=duck_cfg)
    nightly(run_date=DAYS[0], config_path=pg_cfg)
    duck, pg = DuckDBSink(tmp_path / "voc.duckdb"), PostgresSink(postgres_url, schema)
    try:
        for name in TABLES:
            left, right = duck.read_table(name), pg.read_table(name)
            if name in ("utterances", "documents", "painpoints", "quarantine", "runs"):
                assert len(left) > 0, name
            pd.testing.assert_frame_equal(comparable(right, name), comparable(left, name),
                                          obj=name)
    finally:
        pg.dispose()


def test_painpoints_by_channel(tmp_path, prefect_harness):
    """painpoints.by_channel adds one row per stage x topic x channel beside the 'all' rows."""
    from datetime import date

    import duckdb

    from flows.nightly import nightly
    from tests.conftest import write_config
    from tests.flows.test_nightly import make_inputs

    make_inputs(tmp_path / "in")
    config = write_config(tmp_path, run={"input_dir": str(tmp_path / "in")},
                          sink={"path": str(tmp_path / "voc.duckdb")},
                          painpoints={"by_channel": True})
    nightly(run_date=date(2026, 11, 24), config_path=config)
    con = duckdb.connect(str(tmp_path / "voc.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT channel, stage, topic_id, volume FROM painpoints").fetchall()
    finally:
        con.close()
    channels = {r[0] for r in rows}
    assert channels == {"all", "complaint", "forum", "chat", "call"}
    overall = {(s, t): v for c, s, t, v in rows if c == "all"}
    split: dict = {}
    for c, s, t, v in rows:
        if c != "all":
            split[(s, t)] = split.get((s, t), 0) + v
    assert split == overall

"""The nightly flow under a Prefect test harness, on a small input folder made by the test."""

import json

import duckdb
import pytest

from tests.conftest import write_config

TABLES = {"utterances", "documents", "topics", "painpoints", "quarantine", "runs"}


def make_inputs(root):
    (root / "complaints").mkdir(parents=True)
    (root / "forum").mkdir()
    (root / "chat").mkdir()
    (root / "call").mkdir()
    (root / "complaints" / "t.csv").write_text(
        "ticket_id,created_at,customer_name,content\n"
        "T1,2026-11-23 10:00:00,王芳,王芳反映：宽带装了三天还没开通，客服电话13812345678打不通\n"
        "T2,2026-11-23 11:00:00,,\n", encoding="gb18030")
    posts = [{"post_id": "P1", "created_at": "2026-11-23T09:00:00+08:00",
              "text": "這家外賣送餐太慢了，再也不點了😡"},
             {"post_id": "P1", "created_at": "2026-11-23T09:00:00+08:00",
              "text": "這家外賣送餐太慢了，再也不點了😡"}]
    (root / "forum" / "p.jsonl").write_text(
        "\n".join(json.dumps(p, ensure_ascii=False) for p in posts), encoding="utf-8")
    chat = [{"conversation_id": "C1", "started_at": "2026-11-23T12:00:00+08:00", "turns": [
        {"role": "bot", "text": "您好，请问有什么可以帮您"},
        {"role": "customer", "text": "信用卡多扣了年费，这是我第三次联系你们了"},
        {"role": "agent", "text": "非常抱歉，我帮您转接到信用卡专员"},
        {"role": "customer", "text": "好的谢谢，解决了"}]}]
    (root / "chat" / "c.json").write_text(json.dumps(chat, ensure_ascii=False), encoding="utf-8")
    call = [{"call_id": "L1", "started_at": "2026-11-23T13:00:00+08:00", "segments": [
        {"speaker": "customer", "start": 0, "end": 5, "text": "嗯 那个 我要销户 你们手续费太高了"},
        {"speaker": "agent", "start": 5, "end": 8, "text": "好的 我帮您查一下"}]}]
    (root / "call" / "l.json").write_text(json.dumps(call, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module")
def mini_run(tmp_path_factory, prefect_harness):
    from datetime import date

    from flows.nightly import nightly

    tmp = tmp_path_factory.mktemp("mini")
    make_inputs(tmp / "in")
    config = write_config(tmp, run={"input_dir": str(tmp / "in")},
                          sink={"path": str(tmp / "voc.duckdb")})
    first = nightly(run_date=date(2026, 11, 23), config_path=config)
    second = nightly(run_date=date(2026, 11, 23), config_path=config)
    return first, second, duckdb.connect(str(tmp / "voc.duckdb"), read_only=True)


def test_counts_are_conserved(mini_run):
    first, _, _ = mini_run
    assert first == {"read": 6, "processed": 4, "quarantined": 1, "duplicates": 1}


def test_all_tables_written(mini_run):
    _, _, con = mini_run
    assert TABLES <= {r[0] for r in con.execute("SHOW TABLES").fetchall()}


def test_rerun_of_a_date_replaces_its_rows(mini_run):
    first, second, con = mini_run
    assert first == second
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 4
    assert con.execute("SELECT count(DISTINCT run_id) FROM documents").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 2  # history of attempts


def test_agent_turns_kept_but_not_scored(mini_run):
    _, _, con = mini_run
    rows = con.execute("SELECT role, sentiment_label, stage FROM utterances "
                       "WHERE role <> 'customer'").fetchall()
    assert rows and all(label is None and stage is None for _, label, stage in rows)


def test_text_is_normalised_and_masked(mini_run):
    _, _, con = mini_run
    texts = " ".join(r[0] for r in con.execute("SELECT text FROM utterances").fetchall())
    assert "13812345678" not in texts and "王芳" not in texts and "[手机号]" in texts
    assert "外卖" in texts and "這" not in texts  # Traditional -> Simplified
    assert "嗯" not in texts  # ASR fillers removed


def test_signals_and_resolution(mini_run):
    _, _, con = mini_run
    docs = {r[0]: r[1:] for r in con.execute(
        "SELECT source_id, effort_contacts, effort_transfer, churn, resolution FROM documents").fetchall()}
    assert docs["C1"] == (True, True, False, "resolved")
    assert docs["L1"][2] is True


def test_quarantine_row_names_file_and_reason(mini_run):
    _, _, con = mini_run
    row = con.execute("SELECT source_file, location, reason_code FROM quarantine").fetchone()
    assert row == ("t.csv", "line 3", "Q105")

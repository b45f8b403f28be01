"""Nothing lost: a corpus of bad inputs, each landing where it should; reruns are idempotent; an
unavailable source fails the run with one message and leaves the previous tables intact."""

import json
from datetime import date

import duckdb
import pytest

from tests.conftest import write_config

RUN_DATE = date(2026, 11, 24)
LONG = "宽带一直掉线，" * 800  # over normalize.max_text_chars: truncated and flagged


def make_corpus(root):
    for sub in ("complaints", "forum", "chat", "call"):
        (root / sub).mkdir(parents=True)
    header = "ticket_id,created_at,customer_id,content\n"
    (root / "complaints" / "a.csv").write_text(
        header
        + "A1,2026-11-23 10:00:00,C1,退款申请一周了还没到账，客服只会说在处理\n"  # ok
        + "A2,2026-11-23 10:05:00,C2,多了一列,extra\n"  # Q102 malformed row
        + "A3,2026-11-23 10:10:00,C3,   \n"  # Q105 whitespace only
        + "A4,上周三,C4,时间写错了\n"  # Q106 unparseable timestamp
        + "A5,2027-02-01 10:00:00,C5,未来的工单\n"  # Q107 future timestamp
        + f"A6,2026-11-23 10:20:00,C6,{LONG}\n"  # ok, truncated
        + "A7,2026-11-23 10:25:00,C7,😡😡😡\n"  # ok, emoji only: language none
        + "A8,2026-11-23 10:30:00,C8,The app keeps crashing when I pay\n"  # ok, English
        + "A1,2026-11-23 10:00:00,C1,退款申请一周了还没到账，客服只会说在处理\n",  # duplicate in file
        encoding="utf-8")
    # GBK bytes that a naive UTF-8 reader would reject: decoded as GB18030
    (root / "complaints" / "b_gbk.csv").write_bytes(
        (header + "B1,2026-11-23 11:00:00,C9,營業廳排隊兩個小時，太離譜了\n"
         + "A1,2026-11-23 10:00:00,C1,退款申请一周了还没到账，客服只会说在处理\n"  # across files
         ).encode("gb18030"))
    (root / "complaints" / "c_bad.csv").write_bytes(b"\xff\xfe\x00\x81\x30\x81" * 3 + b"\xc0")  # Q101
    posts = [
        json.dumps({"post_id": "P1", "created_at": "2026-11-23T09:00:00+08:00",
                    "text": "外卖送到已经凉了，再也不点了"}, ensure_ascii=False),
        '{"post_id": "P2", "created_at": ',  # Q103 invalid JSON line
        json.dumps({"created_at": "2026-11-23T09:00:00+08:00", "text": "没有编号"},
                   ensure_ascii=False),  # Q104 missing post_id
        "[1, 2]",  # Q110 not an object
    ]
    (root / "forum" / "p.jsonl").write_text("\n".join(posts) + "\n", encoding="utf-8")
    chats = [
        {"conversation_id": "CH1", "started_at": "2026-11-23T12:00:00+08:00", "turns": [
            {"role": "customer", "text": "信用卡被多扣了年费"},
            {"role": "supervisor", "text": "我是值班主管，马上为您处理"},  # unknown role: kept
            {"role": "customer", "text": "好的，谢谢"}]},
        {"conversation_id": "CH2", "started_at": "2026-11-23T12:30:00+08:00", "turns": [
            {"role": "bot", "text": "您好，请问有什么可以帮您"}]},  # Q108 no customer turn
    ]
    (root / "chat" / "c.json").write_text(json.dumps(chats, ensure_ascii=False), encoding="utf-8")
    calls = [
        {"call_id": "L1", "started_at": "2026-11-23T13:00:00+08:00", "segments": [
            {"speaker": "customer", "start": 0, "end": 6, "text": "嗯 那个 网速太慢了"},
            {"speaker": "agent", "start": 5, "end": 9, "text": "好的 我帮您查一下"}]},  # overlap
        {"call_id": "L2", "started_at": "2026-11-23T14:00:00+08:00", "segments": [
            {"speaker": "customer", "start": 12.5, "end": 8.0, "text": "喂"}]},  # Q109
    ]
    (root / "call" / "l.json").write_text(json.dumps(calls, ensure_ascii=False), encoding="utf-8")


EXPECTED_QUARANTINE = {
    ("complaint", "a.csv", "Q102"), ("complaint", "a.csv", "Q105"), ("complaint", "a.csv", "Q106"),
    ("complaint", "a.csv", "Q107"), ("complaint", "c_bad.csv", "Q101"), ("forum", "p.jsonl", "Q103"),
    ("forum", "p.jsonl", "Q104"), ("forum", "p.jsonl", "Q110"), ("chat", "c.json", "Q108"),
    ("call", "l.json", "Q109"),
}


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory, prefect_harness):
    from flows.nightly import nightly

    tmp = tmp_path_factory.mktemp("bad")
    make_corpus(tmp / "in")
    config = write_config(tmp, run={"input_dir": str(tmp / "in")},
                          sink={"path": str(tmp / "voc.duckdb")})
    first = nightly(run_date=RUN_DATE, config_path=config)
    con = duckdb.connect(str(tmp / "voc.duckdb"), read_only=True)
    snapshot = {t: table_rows(con, t) for t in ("utterances", "documents", "quarantine", "painpoints")}
    con.close()
    second = nightly(run_date=RUN_DATE, config_path=config)
    con = duckdb.connect(str(tmp / "voc.duckdb"), read_only=True)
    yield {"first": first, "second": second, "snapshot": snapshot, "con": con, "tmp": tmp,
           "config": config}
    con.close()


def table_rows(con, table):
    """All rows without the run-specific keys, sorted: what a rerun must reproduce."""
    frame = con.execute(f'SELECT * FROM "{table}"').df()
    frame = frame.drop(columns=[c for c in ("run_id",) if c in frame.columns])
    return sorted(json.dumps(r, ensure_ascii=False, sort_keys=True, default=str)
                  for r in frame.to_dict(orient="records"))


def test_every_bad_input_lands_in_quarantine_with_its_location(corpus_run):
    con = corpus_run["con"]
    rows = con.execute("SELECT channel, source_file, reason_code, location FROM quarantine").fetchall()
    assert {(c, f, code) for c, f, code, _ in rows} == EXPECTED_QUARANTINE
    assert all(location for *_, location in rows)
    locations = {code: loc for _, _, code, loc in rows}
    assert locations["Q102"] == "line 3" and locations["Q103"] == "line 2"


def test_counts_add_up_with_duplicates_within_and_across_files(corpus_run):
    counts = corpus_run["first"]
    assert counts["read"] == counts["processed"] + counts["quarantined"] + counts["duplicates"]
    assert counts == {"read": 20, "processed": 8, "quarantined": 10, "duplicates": 2}


def test_odd_but_valid_records_are_processed_with_flags(corpus_run):
    con = corpus_run["con"]
    docs = dict(con.execute("SELECT source_id, language FROM documents").fetchall())
    assert docs["A7"] == "none" and docs["A8"] == "en" and docs["B1"] == "zh"
    assert con.execute("SELECT truncated FROM documents WHERE source_id = 'A6'").fetchone()[0]
    meta = json.loads(con.execute("SELECT meta FROM documents WHERE source_id = 'CH1'").fetchone()[0])
    assert "supervisor" in json.dumps(meta, ensure_ascii=False)
    roles = {r[0] for r in con.execute("SELECT role FROM utterances WHERE record_id IN "
                                       "(SELECT record_id FROM documents WHERE source_id = 'CH1')").fetchall()}
    assert roles == {"customer", "system"}
    meta = json.loads(con.execute("SELECT meta FROM documents WHERE source_id = 'L1'").fetchone()[0])
    assert "overlap" in json.dumps(meta)


def test_rerun_gives_identical_tables(corpus_run):
    con = corpus_run["con"]
    assert corpus_run["second"] == corpus_run["first"]
    for table, rows in corpus_run["snapshot"].items():
        assert table_rows(con, table) == rows, table
    assert con.execute("SELECT count(DISTINCT run_id) FROM documents").fetchone()[0] == 1


def test_unavailable_source_fails_cleanly_and_keeps_previous_tables(corpus_run, tmp_path):
    from flows.nightly import nightly
    from nlp.errors import SourceUnavailableError

    tmp = corpus_run["tmp"]
    corpus_run["con"].close()  # DuckDB allows one configuration per file and process
    config = write_config(tmp_path, run={"input_dir": str(tmp / "in"), "read_retry_delays": [0, 0]},
                          sink={"path": str(tmp / "voc.duckdb")},
                          sources={"call": {"path": "no-such-dir", "patterns": ["*.json"]}})
    with pytest.raises(SourceUnavailableError, match="call.*no-such-dir"):
        nightly(run_date=RUN_DATE, config_path=config)
    con = duckdb.connect(str(tmp / "voc.duckdb"), read_only=True)
    try:
        assert table_rows(con, "documents") == corpus_run["snapshot"]["documents"]
        statuses = [r[0] for r in con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()]
        assert statuses[-1] == "failed:read" and statuses.count("completed") == 2
    finally:
        con.close()

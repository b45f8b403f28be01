"""Sources: each channel's files become Records; bad input is quarantined with a reason code."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from flows.sources import read_channel
from flows.sources.base import SourceContext, iter_json_array
from nlp.errors import Reason

TZ = ZoneInfo("Asia/Shanghai")
CTX = SourceContext(timezone="Asia/Shanghai", salt="test-salt", now=datetime(2026, 11, 25, tzinfo=TZ))
HEADER = "ticket_id,created_at,customer_id,customer_name,phone,industry,content,csat\n"
ROWS = [
    "T1,2026-11-23 14:05:00,C1,张伟,13812345678,telecom,宽带装了三天还没开通，电话13812345678,2\n",
    "T2,2026-11-23 15:00:00,C2,李娜,,banking,信用卡年费乱收,\n",
]


def reasons(batch):
    return sorted(q.reason_code for q in batch.quarantine)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_complaint_csv_in_every_encoding(tmp_path, encoding):
    path = tmp_path / "t.csv"
    path.write_bytes((HEADER + "".join(ROWS)).encode(encoding))
    batch = read_channel("complaint", [path], CTX)
    assert batch.read == 2 and not batch.quarantine
    first = batch.records[0]
    assert first.channel == "complaint" and first.source_id == "T1"
    assert first.turns[0].text.startswith("宽带装了三天")
    assert first.created_at.tzinfo is not None and first.rating == 2.0
    assert first.customer_key and "C1" not in first.customer_key
    assert first.meta["_pii_names"] == ["张伟"]
    assert "phone" not in first.meta and "customer_name" not in first.meta


def test_complaint_xlsx(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["ticket_id", "created_at", "content", "industry"])
    sheet.append(["X1", datetime(2026, 11, 24, 9, 30), "外卖送了一个半小时", "restaurant"])
    sheet.append([None, None, None, None])
    sheet.append(["X2", "2026-11-24 10:00", "   ", "restaurant"])
    book.save(tmp_path / "t.xlsx")
    batch = read_channel("complaint", [tmp_path / "t.xlsx"], CTX)
    assert [r.source_id for r in batch.records] == ["X1"]
    assert reasons(batch) == [Reason.EMPTY_TEXT.value]
    assert batch.read == 2


def test_complaint_bad_rows_are_quarantined_with_location(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + ROWS[0]
                    + ",2026-11-23 10:00:00,C3,,,telecom,没有工单号,\n"
                    + "T4,昨天下午,C4,,,telecom,时间不对,\n"
                    + "T5,2027-03-01 10:00:00,C5,,,telecom,未来时间,\n"
                    + "T6,2026-11-23 10:00:00,C6,,,telecom,多了字段,1,extra\n", encoding="utf-8")
    batch = read_channel("complaint", [path], CTX)
    assert batch.read == 5 and len(batch.records) == 1
    assert reasons(batch) == sorted(r.value for r in (
        Reason.MISSING_FIELD, Reason.BAD_TIMESTAMP, Reason.FUTURE_TIMESTAMP, Reason.MALFORMED_ROW))
    assert {q.location for q in batch.quarantine} >= {"line 3", "line 6"}


def test_undecodable_file_is_quarantined_whole(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\xff\xfe\x00\x81\x30\x81" * 3 + b"\xc0")
    batch = read_channel("forum", [path], CTX)
    assert batch.read == len(batch.quarantine) == 1 and not batch.records


def test_forum_jsonl(tmp_path):
    lines = [
        {"post_id": "P1", "thread_id": "th1", "kind": "post", "author_hash": "u_1",
         "created_at": "2026-11-23T21:14:00+08:00", "title": "避雷", "text": "快递丢件客服不管😡"},
        {"post_id": "P2", "thread_id": "th1", "parent_id": "P1", "kind": "reply",
         "created_at": "2026-11-23T22:00:00", "text": "😡😡😡"},
        {"thread_id": "th1", "created_at": "2026-11-23T22:00:00", "text": "没有id"},
        {"post_id": "P4", "created_at": "2026-13-45T99:00:00", "text": "坏时间"},
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines)
                    + '\n{"post_id": "P5", "text": "trunc', encoding="utf-8")
    batch = read_channel("forum", [path], CTX)
    assert [r.source_id for r in batch.records] == ["P1", "P2"]
    assert batch.records[0].turns[0].text == "避雷。快递丢件客服不管😡"
    assert batch.records[1].meta["parent_id"] == "P1"
    assert reasons(batch) == sorted([Reason.MISSING_FIELD.value, Reason.BAD_TIMESTAMP.value,
                                     Reason.INVALID_JSON.value])
    assert batch.read == 5


def conversation(cid, turns, **extra):
    return {"conversation_id": cid, "started_at": "2026-11-22T10:00:00+08:00",
            "customer_id": "U1", "turns": turns, **extra}


def test_chat_roles_and_broken_conversations(tmp_path):
    good = conversation("C1", [
        {"role": "bot", "text": "您好，我是智能客服", "time": "2026-11-22T10:00:00+08:00"},
        {"role": "customer", "text": "转人工", "time": "2026-11-22T10:00:10+08:00"},
        {"role": "agent", "text": "请稍等，正在为您转接", "time": "2026-11-22T10:12:00+08:00"},
        {"role": "supervisor", "text": "我来处理", "time": "2026-11-22T10:13:00+08:00"},
    ])
    agent_only = conversation("C2", [{"role": "agent", "text": "您好"}])
    empty = conversation("C3", [])
    path = tmp_path / "c.json"
    path.write_text(json.dumps([good, agent_only, empty], ensure_ascii=False), encoding="utf-8")
    batch = read_channel("chat", [path], CTX)
    assert [r.source_id for r in batch.records] == ["C1"]
    roles = [t.role for t in batch.records[0].turns]
    assert roles == ["system", "customer", "agent", "system"]
    assert batch.records[0].meta["unknown_roles"] == ["supervisor"]
    assert reasons(batch) == [Reason.NO_CUSTOMER_TURN.value] * 2


def test_truncated_json_array_keeps_complete_items(tmp_path):
    items = [conversation(f"C{i}", [{"role": "customer", "text": "退款没到"}]) for i in range(3)]
    text = json.dumps(items, ensure_ascii=False)
    path = tmp_path / "c.json"
    path.write_text(text[: len(text) - 30], encoding="utf-8")
    batch = read_channel("chat", [path], CTX)
    assert [r.source_id for r in batch.records] == ["C0", "C1"]
    assert reasons(batch) == [Reason.INVALID_JSON.value]
    assert batch.read == 3


def test_iter_json_array_rejects_non_arrays():
    assert list(iter_json_array('{"a": 1}'))[0][3] == "file is not a JSON array"


def test_call_segments(tmp_path):
    call = {"call_id": "L1", "started_at": "2026-11-22T10:00:00+08:00", "customer_id": "U1",
            "caller_number": "13812345678", "queue": "宽带报障", "segments": [
                {"speaker": "ivr", "start": 0, "end": 3, "text": "欢迎致电"},
                {"speaker": "customer", "start": 3, "end": 9, "text": "嗯 那个 宽带断了"},
                {"speaker": "agent", "start": 8.5, "end": 12, "text": "请您稍等"}]}
    bad_times = {**call, "call_id": "L2", "segments": [
        {"speaker": "customer", "start": 5, "end": 2, "text": "喂"}]}
    no_customer = {**call, "call_id": "L3", "segments": [
        {"speaker": "unknown_spk", "start": 0, "end": 2, "text": "喂"}]}
    path = tmp_path / "l.json"
    path.write_text(json.dumps([call, bad_times, no_customer], ensure_ascii=False), encoding="utf-8")
    batch = read_channel("call", [path], CTX)
    record = batch.records[0]
    assert [t.role for t in record.turns] == ["system", "customer", "agent"]
    assert record.meta["overlapping_segments"] == 1 and record.meta["asr"] is True
    assert "13812345678" not in json.dumps(record.model_dump(mode="json"), ensure_ascii=False)
    assert reasons(batch) == sorted([Reason.BAD_SEGMENT_TIMES.value, Reason.NO_CUSTOMER_TURN.value])


def test_quarantine_excerpts_carry_no_personal_data(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + ",2026-11-23 10:00:00,C77,赵敏,13812345678,telecom,赵敏说没有工单号,\n"
                    + "T6,2026-11-23 10:00:00,C78,钱多多,13900112233,telecom,字段太多,1,x\n",
                    encoding="utf-8")
    calls = tmp_path / "l.json"
    calls.write_text(json.dumps([{"customer_id": "U991", "caller_number": "13812345678",
                                  "started_at": "2026-11-22T10:00:00+08:00", "segments": []}]),
                     encoding="utf-8")
    batch = read_channel("complaint", [path], CTX)
    batch_calls = read_channel("call", [calls], CTX)
    text = json.dumps([q.__dict__ if hasattr(q, "__dict__") else [q.excerpt, q.detail]
                       for q in batch.quarantine + batch_calls.quarantine], ensure_ascii=False)
    assert len(batch.quarantine) == 2 and len(batch_calls.quarantine) == 1
    for secret in ("赵敏", "C77", "钱多多", "C78", "13812345678", "13900112233", "U991"):
        assert secret not in text, secret


def test_a_draining_batch_hands_records_on_in_groups_and_keeps_counts(tmp_path):
    path = tmp_path / "t.csv"
    rows = [f"T{i},2026-11-23 14:05:00,C{i},,,telecom,宽带第{i}天还没开通,\n" for i in range(7)]
    path.write_text(HEADER + "".join(rows) + "T9,broken\n", encoding="utf-8")
    groups = []
    batch = read_channel("complaint", [path], CTX, drain=groups.append, drain_every=3)
    assert [len(g) for g in groups] == [3, 3, 1]  # the rest at the end
    assert [r.source_id for g in groups for r in g] == [f"T{i}" for i in range(7)]
    assert batch.records == [] and batch.n_records == 7
    assert batch.read == 8 and len(batch.quarantine) == 1


def test_a_staging_failure_fails_the_read_instead_of_quarantining_the_file(tmp_path):
    # a full disk while staging is no bad input: the read fails (and is retried by the flow)
    path = tmp_path / "t.csv"
    rows = [f"T{i},2026-11-23 14:05:00,C{i},,,telecom,宽带第{i}天还没开通,\n" for i in range(7)]
    path.write_text(HEADER + "".join(rows), encoding="utf-8")

    def full_disk(records):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        read_channel("complaint", [path], CTX, drain=full_disk, drain_every=3)

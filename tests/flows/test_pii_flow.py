"""PII fuzz through the whole flow: a few thousand personal-data variants inside Chinese feedback
of all four channels, then every table, the report (HTML and XLSX) and the logs are searched."""

import csv
import json
import logging
import random
import zipfile
from datetime import date

import duckdb

from nlp.normalize import to_half_width
from tests.conftest import write_config
from tests.unit.test_pii_fuzz import GENERATORS, TEMPLATES

RNG = random.Random(20261127)
N_RECORDS = 400  # x 3 channels-worth of variants below


def make_corpus(root):
    variants = []

    def pii_text():
        values = [RNG.choice(GENERATORS)() for _ in range(2)]
        variants.extend(values)
        return "，".join(RNG.choice(TEMPLATES).format(v) for v in values) + "，太慢了"

    for sub in ("complaints", "forum", "chat", "call"):
        (root / sub).mkdir(parents=True)
    with (root / "complaints" / "t.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket_id", "created_at", "customer_id", "phone", "content"])
        for i in range(N_RECORDS):
            phone = RNG.choice(GENERATORS[:1])()
            variants.append(phone)
            writer.writerow([f"T{i}", "2026-11-23 10:00:00", f"C{i}", phone, pii_text()])
    posts = [{"post_id": f"P{i}", "created_at": "2026-11-23T09:00:00+08:00", "text": pii_text()}
             for i in range(N_RECORDS)]
    (root / "forum" / "p.jsonl").write_text(
        "\n".join(json.dumps(p, ensure_ascii=False) for p in posts), encoding="utf-8")
    chats = [{"conversation_id": f"CH{i}", "started_at": "2026-11-23T12:00:00+08:00", "turns": [
        {"role": "customer", "text": pii_text()}, {"role": "agent", "text": "好的，请稍等"}]}
        for i in range(N_RECORDS)]
    (root / "chat" / "c.json").write_text(json.dumps(chats, ensure_ascii=False), encoding="utf-8")
    calls = [{"call_id": f"L{i}", "started_at": "2026-11-23T13:00:00+08:00",
              "caller_number": RNG.choice(GENERATORS[:1])(),
              "segments": [{"speaker": "customer", "start": 0, "end": 5, "text": pii_text()}]}
             for i in range(N_RECORDS)]
    variants.extend(c["caller_number"] for c in calls)
    (root / "call" / "l.json").write_text(json.dumps(calls, ensure_ascii=False), encoding="utf-8")
    return variants


def test_no_variant_in_tables_report_or_logs(tmp_path, prefect_harness, caplog):
    from flows.nightly import nightly

    variants = make_corpus(tmp_path / "in")
    config = write_config(tmp_path, run={"input_dir": str(tmp_path / "in")},
                          sink={"path": str(tmp_path / "voc.duckdb")})
    with caplog.at_level(logging.DEBUG):
        counts = nightly(run_date=date(2026, 11, 24), config_path=config)
    assert counts["processed"] == 4 * N_RECORDS
    con = duckdb.connect(str(tmp_path / "voc.duckdb"), read_only=True)
    dump = [con.execute(f'SELECT * FROM "{t}"').df().to_json(force_ascii=False, orient="values",
                                                            date_format="iso")
            for (t,) in con.execute("SHOW TABLES").fetchall()]
    con.close()
    dump.append((tmp_path / "report.html").read_text(encoding="utf-8"))
    with zipfile.ZipFile(tmp_path / "report.xlsx") as xlsx:
        dump += [xlsx.read(name).decode("utf-8") for name in xlsx.namelist()
                 if name.endswith(".xml")]
    dump.append(caplog.text)
    everything = "\n".join(dump)
    digits_only = "".join(ch for ch in everything if ch.isdigit() or ch == "\n")
    leaked = []
    for value in set(variants):
        plain = to_half_width(value)
        digits = "".join(ch for ch in plain if ch.isdigit())
        if plain in everything or ("@" not in plain and len(digits) >= 7 and digits in digits_only):
            leaked.append(value)
    assert len(set(variants)) >= 2000
    assert not leaked, sorted(leaked)[:20]

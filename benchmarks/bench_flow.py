"""The nightly flow at scale: N generated records end to end, then a second night with 10% new.

    .venv/bin/python benchmarks/bench_flow.py --n 300000      # or: make bench N=300000

Steps: generate night 1 (benchmarks/generate.py) in a temporary work directory; run `voc run`
for it in a child process (incremental, default configuration otherwise); generate 10% new
records as night 2 and run again (the watermark makes it read only the new files); read the
step timings back from the `runs` table; compare segmentation speed (the project's rjieba
segmenter vs `jieba.lcut`, same text, same process) and the transformers sentiment backend on a
small random BERT. Peak RSS is the child process's (os.wait4). Writes
benchmarks/results/<date>-<N>.json and .md and the README's "Performance" table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate import load_pools, write_night  # noqa: E402

log = logging.getLogger("voc.bench")
# Per-shard steps (normalize ... mentions) are busy seconds summed over shards, i.e. over the
# worker pool; "process", "topics" and "aggregate" are the flow's wall-clock steps.
STAGES = ["read", "process", "normalize", "segment", "sentiment", "stage", "documents", "topics",
          "aggregate", "finish", "mentions", "trends", "write"]
SUMMED = {"normalize", "segment", "sentiment", "stage", "documents", "finish", "mentions"}
TARGET_SECONDS, TARGET_RSS_GB = 600, 4.0
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def generate(out: Path, n: int, day: date, seed: int, tag: str) -> dict[str, int]:
    with Progress(TextColumn("generating {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn()) as progress:
        bar = progress.add_task(tag, total=n)
        return write_night(out, n, day, seed, tag, progress=lambda k: progress.advance(bar, k))


def write_config(work: Path, runner: str) -> Path:
    """The base configuration with paths moved into the work directory and incremental reads."""
    data = yaml.safe_load((ROOT / "configs/base/pipeline.yaml").read_text(encoding="utf-8"))
    data["run"].update(input_dir=str(work / "input"), output_dir=str(work / "out"),
                       incremental=True)
    data["sink"]["path"] = str(work / "out/voc.duckdb")
    data["sink"]["parquet_dir"] = str(work / "out/parquet")
    data["topics"]["model_dir"] = str(work / "out/topic_model")
    data.setdefault("runner", {})["kind"] = runner
    for key in ("journey", "segment", "sentiment"):  # make relative paths absolute
        for name, value in list((data.get(key) or {}).items()):
            if isinstance(value, str) and (ROOT / value).exists():
                data[key][name] = str(ROOT / value)
    path = work / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def pss(pid: int) -> int:
    """Proportional set size in bytes (shared pages split between the processes sharing them)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(root: int) -> tuple[int, int]:
    """Resident bytes (RSS, shared libraries counted in every process) and PSS bytes (what the
    tree really occupies) of process `root` and all its descendants (worker pools), /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            statm = (entry / "statm").read_text().split()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        rss[int(entry.name)] = int(statm[1]) * PAGE
    total, proportional, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        proportional += pss(pid)
        todo.extend(children.get(pid, []))
    return total, proportional


class TreeSampler(threading.Thread):
    """Samples the process tree's summed RSS and PSS twice a second; `peak` / `peak_pss` are
    the largest sums."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.peak_pss, self.done = pid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            rss, pss_ = tree_rss(self.pid)
            self.peak, self.peak_pss = max(self.peak, rss), max(self.peak_pss, pss_)


def run_night(config: Path, day: date) -> dict:
    """`voc run` in a child process; wall time, CPU seconds of the child and its workers, and
    peak RSS: the largest sampled sum over the process tree (the flow and its worker pool), and
    the largest single process (os.wait4)."""
    cmd = [str(ROOT / ".venv/bin/voc"), "run", "--config", str(config), "--date", day.isoformat()]
    log.info("running %s", " ".join(cmd))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=open(config.parent / f"run-{day}.log", "w"))  # noqa: SIM115
    sampler = TreeSampler(proc.pid)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    sampler.done.set()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"voc run failed; see {config.parent / f'run-{day}.log'}")
    single = usage.ru_maxrss * 1024
    return {"wall_seconds": round(wall, 1),
            "cpu_seconds": round(children.ru_utime + children.ru_stime
                                 - before.ru_utime - before.ru_stime, 1),
            "peak_rss_gb": round(max(sampler.peak, single) / 1024**3, 2),
            "peak_pss_gb": round(sampler.peak_pss / 1024**3, 2),
            "peak_rss_single_process_gb": round(single / 1024**3, 2)}


def read_run(config: Path, day: date) -> dict:
    import duckdb

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    con = duckdb.connect(data["sink"]["path"], read_only=True)
    try:
        row = con.execute(
            "SELECT read, processed, quarantined, duplicates, timings FROM runs "
            "WHERE run_date = ? AND status = 'completed' ORDER BY finished_at DESC LIMIT 1",
            [day]).fetchone()
        sentences = con.execute("SELECT count(*) FROM utterances WHERE run_date = ?",
                                [day]).fetchone()[0]
    finally:
        con.close()
    read, processed, quarantined, duplicates, timings = row
    return {"read": read, "processed": processed, "quarantined": quarantined,
            "duplicates": duplicates, "sentences": sentences, "timings": json.loads(timings)}


def stage_rows(night: dict) -> list[dict]:
    timings, processed = night["timings"], night["processed"]
    rows = []
    for stage in STAGES:
        seconds = timings.get(stage)
        if seconds is None:
            continue
        units = night["read"] if stage == "read" else processed
        name = f"  {stage} (busy s, all workers)" if stage in SUMMED else stage
        cpu = timings.get(f"{stage}_cpu")
        rows.append({"stage": name, "seconds": round(seconds, 1),
                     "cpu_seconds": round(cpu, 1) if cpu is not None else None,
                     "records_per_s": round(units / seconds) if seconds else None})
    other = night["wall_seconds"] - sum(timings.get(s, 0.0) for s in
                                        ("load", "read", "process", "topics", "aggregate",
                                         "trends", "write"))
    rows.append({"stage": "other (start-up, report, Prefect)", "seconds": round(other, 1),
                 "records_per_s": None})
    return rows


def sample_sentences(input_dir: Path, n: int, seed: int = 1) -> list[str]:
    """Customer-like sentences from the generated corpus pools (same text for both tokenizers)."""
    from benchmarks.generate import split

    pools = load_pools()
    text = pools.customer + pools.reviews + pools.asr_customer
    rng = random.Random(seed)
    out: dict[str, None] = {}  # distinct sentences only: repeats would flatter a cache
    for _ in range(20 * n):
        for sentence in split(rng.choice(text)):
            out[sentence] = None
        if len(out) >= n:
            break
    return list(out)[:n]


def bench_segmentation(sentences: list[str]) -> dict:
    """CPU-time rounds, one core and two worker processes (benchmarks/bench_segment.py)."""
    from benchmarks.bench_segment import measure

    return measure(sentences, repeat=5, both_cores=True)


def bench_transformers(sentences: list[str], work: Path) -> dict:
    """Speed only: a small BERT with random weights built from a config (no model download)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from nlp.sentiment import load_backend

    root = work / "tiny-bert"
    root.mkdir(parents=True, exist_ok=True)
    chars = sorted({c for s in sentences for c in s if not c.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(root / "vocab.txt")).save_pretrained(root)
    config = BertConfig(vocab_size=len(vocab), hidden_size=256, num_hidden_layers=4,
                        num_attention_heads=4, intermediate_size=1024,
                        max_position_embeddings=128, num_labels=3,
                        id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2})
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    model.save_pretrained(root)
    params = sum(p.numel() for p in model.parameters())
    texts = sentences[:2000]
    rows = []
    for quantize in (False, True):
        for threads in (1, 2):
            for batch in (16, 64):
                backend = load_backend("transformers", {
                    "model_dir": str(root), "batch_size": batch, "max_length": 64,
                    "threads": threads, "quantize": quantize})
                backend.predict(texts[:32])
                start = time.perf_counter()
                backend.predict(texts)
                seconds = time.perf_counter() - start
                rows.append({"quantize": quantize, "threads": threads, "batch_size": batch,
                             "sentences_per_s": round(len(texts) / seconds, 1)})
                log.info("transformers %s", rows[-1])
    torch.set_num_threads(os.cpu_count() or 1)
    return {"model": f"random BERT, {config.num_hidden_layers} layers, hidden "
                     f"{config.hidden_size}, {params / 1e6:.1f}M parameters, max_length 64",
            "sentences": len(texts), "runs": rows}


def markdown(result: dict) -> str:
    n1, n2 = result["night1"], result.get("night2")
    lines = [f"N = {result['n']:,} generated records ({result['at'][:10]}, {result['cpu_count']} "
             f"cores, Python {result['python']}, runner `{result['runner']}`). "
             f"Night 1: {n1['read']:,} read, {n1['processed']:,} processed, "
             f"{n1['sentences']:,} sentences; night 2 reads only the 10% new files.", "",
             "| stage | night 1 s | night 1 CPU s | night 1 records/s |"
             + (" night 2 s |" if n2 else ""),
             "|---|---:|---:|---:|" + ("---:|" if n2 else "")]
    second = {r["stage"]: r for r in (stage_rows(n2) if n2 else [])}
    for row in stage_rows(n1):
        rate = f"{row['records_per_s']:,}" if row["records_per_s"] else ""
        extra = f" {second.get(row['stage'], {}).get('seconds', '')} |" if n2 else ""
        cpu = row.get("cpu_seconds")
        lines.append(f"| {row['stage']} | {row['seconds']} | {'' if cpu is None else cpu} | "
                     f"{rate} |{extra}")
    lines.append(f"| **end to end** | **{n1['wall_seconds']}** | "
                 f"**{n1.get('cpu_seconds', '')}** | **{n1['records_per_s']:,}** |"
                 + (f" **{n2['wall_seconds']}** |" if n2 else ""))
    lines += ["", f"CPU seconds (flow + workers) night 1: {n1.get('cpu_seconds', '?')}"
              + (f", night 2: {n2.get('cpu_seconds', '?')}" if n2 else "") + ".",
              f"Peak RSS of the process tree (flow + worker pool, sampled) night 1: "
              f"{n1['peak_rss_gb']} GB (PSS, shared library pages counted once: "
              f"{n1.get('peak_pss_gb', '?')} GB; largest single process "
              f"{n1.get('peak_rss_single_process_gb', '?')} GB)"
              + (f", night 2: {n2['peak_rss_gb']} GB" if n2 else "")
              + f". Targets (300k in <= {TARGET_SECONDS} s, <= {TARGET_RSS_GB} GB): "
              + ("met" if result["targets_met"] else "**not met**") + "."]
    seg = result.get("segmentation")
    if seg:
        engine = next(k for k in seg if k.endswith("_segmenter_mb_s"))
        lines.append(f"Segmentation on {seg['sentences']:,} generated sentences: `jieba.lcut` "
                     f"{seg['jieba_lcut_mb_s']} MB/s, project segmenter ({engine.split('_')[0]}) "
                     f"{seg[engine]} MB/s on one core: **{seg['speedup']}x** (median of "
                     f"{len(seg['rounds'])} CPU-time rounds; jieba-rs alone, one call per sentence: "
                     f"{seg['rjieba_cut_only_speedup']}x); two worker processes as the flow "
                     f"runs: **{seg.get('two_processes_speedup_vs_one_core_jieba', '?')}x** "
                     "one-core `jieba.lcut`.")
    tf = result.get("transformers")
    if tf:
        lines += ["", f"transformers backend ({tf['model']}; random weights, speed only), "
                      f"{tf['sentences']} sentences:", "",
                  "| int8 | threads | batch | sentences/s |", "|---|---:|---:|---:|"]
        lines += [f"| {r['quantize']} | {r['threads']} | {r['batch_size']} | "
                  f"{r['sentences_per_s']} |" for r in tf["runs"]]
    return "\n".join(lines) + "\n"


def update_readme(table: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if README_START not in text:
        log.warning("README has no %s marker; not updated", README_START)
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{table}{README_END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=int(os.environ.get("N", 20000)))
    parser.add_argument("--work", type=Path, default=None, help="work directory (default: temp)")
    parser.add_argument("--runner", choices=["processes", "local", "dask"], default="processes",
                        help="runner.kind (default: the default configuration's worker pool)")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 25))
    parser.add_argument("--no-second-night", action="store_true")
    parser.add_argument("--no-transformers", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler()])
    work = args.work or Path(tempfile.mkdtemp(prefix="voc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(work / "out", ignore_errors=True)
    shutil.rmtree(work / "input", ignore_errors=True)
    try:
        config = write_config(work, args.runner)
        generate(work / "input", args.n, args.date, 7, "n1")
        night1 = run_night(config, args.date) | read_run(config, args.date)
        night1["records_per_s"] = round(night1["processed"] / night1["wall_seconds"])
        log.info("night 1: %s", night1)
        night2 = None
        if not args.no_second_night:
            day2 = args.date + timedelta(days=1)
            generate(work / "input", max(1, args.n // 10), day2, 8, "n2")
            night2 = run_night(config, day2) | read_run(config, day2)
            night2["records_per_s"] = round(night2["processed"] / night2["wall_seconds"])
            log.info("night 2: %s", night2)
        sentences = sample_sentences(work / "input", 20000)
        segmentation = bench_segmentation(sentences)
        log.info("segmentation: %s", segmentation)
        transformers = None if args.no_transformers else bench_transformers(sentences, work)
        result = {
            "benchmark": "nightly flow end to end", "n": args.n, "runner": args.runner,
            "night1": night1, "night2": night2, "segmentation": segmentation,
            "transformers": transformers,
            "targets_met": (night1["processed"] / max(night1["wall_seconds"], 1e-9)
                            >= 300_000 / TARGET_SECONDS
                            and night1["peak_rss_gb"] <= TARGET_RSS_GB),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        out = ROOT / "benchmarks/results"
        out.mkdir(parents=True, exist_ok=True)
        stem = f"{datetime.now(UTC).date().isoformat()}-{args.n}"
        stem += "" if args.runner == "processes" else f"-{args.runner}"
        (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        table = markdown(result)
        (out / f"{stem}.md").write_text(table, encoding="utf-8")
        if not args.no_readme:
            update_readme(table)
        print(table)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

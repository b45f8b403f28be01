"""Segmentation speed: the project's segmenter against `jieba.lcut` on the same sentences.

    .venv/bin/python benchmarks/bench_segment.py            # 20,000 sentences, 5 rounds
    .venv/bin/python benchmarks/bench_segment.py --n 50000 --repeat 7 --json out.json

The sentences are the ones `bench_flow.py` uses (`sample_sentences`: distinct generated customer
sentences, so no cache could flatter the result). Each round times `jieba.lcut` (the global
jieba, its default dictionary, as `bench_flow` does) and the project segmenter (`tokens_batch`,
rjieba with the user dictionary and cue phrases) back to back; the ratio is taken per round on
CPU time (`time.process_time`: other processes on the machine do not count); the median and the
best round are reported, with jieba-rs alone called once per sentence (no fix-ups; the segmenter
cuts plain sentences many per call, so it can beat this) for reference. Both-core
figures are printed too: two threads (wall time; jieba-rs releases the GIL, the Python part does
not) and two processes (each segments half; the slower one's CPU time is the wall time on two free
cores). `measure()` is what `bench_flow.py` can call.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_flow import sample_sentences  # noqa: E402


def load_segmenter():
    from flows.components import load_components
    from nlp.config import load_settings

    return load_components(load_settings(ROOT / "configs/base/pipeline.yaml")).segmenter


def _worker_cpu_seconds(sentences: list[str]) -> float:
    """CPU seconds one worker process spends segmenting `sentences` (after a warm-up)."""
    segmenter = load_segmenter()
    segmenter.tokens_batch(sentences[:100])
    start = time.process_time()
    segmenter.tokens_batch(sentences)
    return time.process_time() - start


def measure(sentences: list[str], repeat: int = 5, both_cores: bool = True) -> dict:
    """The comparison `bench_flow.py` can call as it is: CPU-time rounds, ratio per round."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    segmenter = load_segmenter()
    mb = sum(len(s.encode()) for s in sentences) / 1e6
    segmenter.tokens_batch(sentences[:100])
    for s in sentences[:100]:
        jieba.lcut(s)
    rust = getattr(segmenter, "_rust", None)
    rounds = []
    for _ in range(repeat):
        start = time.process_time()
        for s in sentences:
            jieba.lcut(s)
        jieba_s = time.process_time() - start
        start = time.process_time()
        segmenter.tokens_batch(sentences)
        ours_s = time.process_time() - start
        start = time.process_time()
        if rust is not None:
            for s in sentences:  # jieba-rs alone, one call per sentence, no fix-ups
                rust.cut(s, True)
        raw_s = time.process_time() - start
        rounds.append({"jieba_s": jieba_s, "ours_s": ours_s, "ratio": jieba_s / ours_s,
                       "rjieba_cut_only_s": raw_s})
    jieba_best = min(r["jieba_s"] for r in rounds)
    ours_best = min(r["ours_s"] for r in rounds)
    ratios = sorted(r["ratio"] for r in rounds)
    result = {
        "sentences": len(sentences), "megabytes": round(mb, 3),
        "jieba_lcut_mb_s": round(mb / jieba_best, 2),
        f"{segmenter.engine}_segmenter_mb_s": round(mb / ours_best, 2),
        "speedup": round(ratios[len(ratios) // 2], 1),  # median of the per-round ratios
        "speedup_best_round": round(ratios[-1], 1),
        "rjieba_cut_only_speedup": round(jieba_best / max(min(r["rjieba_cut_only_s"]
                                                               for r in rounds), 1e-9), 1),
        "rounds": [{k: round(v, 4) for k, v in r.items()} for r in rounds],
    }
    if both_cores:
        half = len(sentences) // 2
        parts = [sentences[:half], sentences[half:]]
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(segmenter.tokens_batch, parts))
            walls = []
            for _ in range(repeat):
                start = time.perf_counter()
                list(pool.map(segmenter.tokens_batch, parts))
                walls.append(time.perf_counter() - start)
        with ProcessPoolExecutor(2) as pool:
            slowest = min(max(pool.map(_worker_cpu_seconds, parts)) for _ in range(repeat))
        result |= {"two_threads_wall_mb_s": round(mb / min(walls), 2),
                   "two_processes_mb_s": round(mb / slowest, 2),
                   "two_processes_speedup_vs_one_core_jieba": round(jieba_best / slowest, 1)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = measure(sample_sentences(ROOT, args.n), args.repeat)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Sentences per second of the default sentiment backend on this machine's CPU.

Writes benchmarks/results/sentiment.json. `make bench N=50000` changes the sentence count.
Wall-clock throughput depends on what else runs on the machine; the CPU-time figure (all threads)
and the 1-minute load average are recorded next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.corpus import read_labelled_csv  # noqa: E402
from nlp.normalize import normalize_text  # noqa: E402
from nlp.sentiment import load_backend  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=int(os.environ.get("N", 20000)))
    parser.add_argument("--batch", type=int, default=2048)
    args = parser.parse_args()
    texts, _ = read_labelled_csv(ROOT / "data/labelled/sentiment_customer_calibration.csv", "text", "label")
    pool = [normalize_text(t).text for t in texts]
    sentences = [pool[i % len(pool)] + ("" if i < len(pool) else f" #{i}") for i in range(args.n)]
    backend = load_backend("voc.sentiment.v1", {"model_dir": str(ROOT / "models/sentiment-zh-v1")})
    backend.predict(sentences[:100])  # warm-up: jieba dictionary, torch threads
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(0, len(sentences), args.batch):
        backend.predict(sentences[i : i + args.batch])
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start  # all threads; steady when other jobs share the CPU
    result = {
        "benchmark": "sentiment voc.sentiment.v1 predict",
        "sentences": len(sentences),
        "mean_chars": round(sum(map(len, sentences)) / len(sentences), 1),
        "seconds": round(seconds, 3),
        "sentences_per_second": round(len(sentences) / seconds, 1),
        "cpu_seconds": round(cpu_seconds, 3),
        "sentences_per_cpu_second": round(len(sentences) / cpu_seconds, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = ROOT / "benchmarks/results/sentiment.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Where the nightly flow's shard jobs run (`runner:` in pipeline.yaml).

`processes` (default): a local pool of `runner.n_workers` worker processes (spawned, so they
share no state with the flow's Prefect threads); each loads the models once and keeps them for
every job. `local`: in the flow's own process, one job after the other. `dask`: prefect-dask's
DaskTaskRunner, on an existing scheduler (`runner.address`, e.g. a multi-machine cluster) or on
a local cluster of `runner.n_workers` processes. Dask workers need the project installed, the
same configs/ and models/ paths (they load the models themselves) and `run.output_dir` on a
filesystem they share with the flow (the shards' staged Parquet files live there).

Jobs are plain functions of small picklable arguments (flows/shards.py); results come back in
submission order whatever ran them, so every runner writes the same tables.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from typing import Any

from nlp.config import RunnerSettings
from nlp.errors import ConfigError

log = logging.getLogger(__name__)
# One BLAS/OpenMP thread per worker process: the pool already uses every core.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def make_task_runner(runner: RunnerSettings) -> Any | None:
    """None unless `dask` (the other runners need no Prefect task runner), else a
    DaskTaskRunner."""
    if runner.kind != "dask":
        return None
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise ConfigError(
            "runner.kind is 'dask' but prefect-dask is not installed: "
            "run `.venv/bin/pip install -e \".[dask]\"` or set runner.kind: processes") from exc
    if runner.address:
        if not runner.address.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
            raise ConfigError(
                f"runner.address '{runner.address}' is not a Dask scheduler address; "
                "expected e.g. tcp://10.0.0.5:8786, or null for a local cluster")
        return DaskTaskRunner(address=runner.address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": runner.n_workers,
                                          "threads_per_worker": runner.threads_per_worker,
                                          "processes": True, "dashboard_address": None})


def _one_thread() -> None:
    for name in THREAD_ENV:
        os.environ[name] = "1"


def release_memory() -> None:
    """Return the freed heap of a finished job to the OS (glibc keeps it otherwise), so an idle
    worker's RSS is its models, not its largest shard."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


@contextmanager
def _main_not_rerun() -> Iterator[None]:
    """While workers are spawned: a spawned process re-runs the parent's `__main__` script
    unless that is a module named `__main__` (multiprocessing.spawn). For `voc run` that script
    imports flows/cli.py and with it every command's modules (BERTopic, transformers, torch:
    ~400 MB per worker before its first job) although the jobs are module-level functions that
    need nothing from it."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    main.__spec__ = ModuleSpec("__main__", None)
    try:
        yield
    finally:
        main.__spec__ = None


def run_job(fn: Callable, *args: Any) -> Any:
    """A job in a pool worker, its memory released afterwards."""
    try:
        return fn(*args)
    finally:
        release_memory()


def call(fn: Callable, args: bytes) -> Any:
    """A job on a Dask worker: the arguments travel pickled, so that Prefect neither walks them
    looking for futures nor rebuilds them."""
    import pickle

    return fn(*pickle.loads(args))


class ShardRunner:
    """Runs batches of jobs (`map`) on the configured runner; open it once per flow run
    (`with ShardRunner(settings) as runner:`) so that workers and their models are reused."""

    def __init__(self, settings: RunnerSettings) -> None:
        self.settings = settings
        self.kind = settings.kind
        self._pool = None
        self._dask = None
        self._task = None

    def __enter__(self) -> ShardRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._dask is not None:
            self._dask.__exit__(None, None, None)
            self._dask = None

    def recycle(self) -> None:
        """Stop the pool's workers; the next `map` starts fresh ones. Between the flow's
        phases: after the per-record stages the topic step's workers need none of their models
        (nor their leftover heap), and after the topic step the next jobs need no BERTopic and
        topic model (~1 GB between the workers)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def map(self, fn: Callable, jobs: Sequence[tuple]) -> list:
        """`fn(*job)` for every job, results in job order. A single job, or `local`, runs in
        this process: starting workers (and loading their models) costs more than it saves."""
        if self.kind == "local" or (len(jobs) <= 1 and self._pool is None
                                    and self._dask is None):
            return [fn(*job) for job in jobs]
        if self.kind == "dask":
            return self._map_dask(fn, jobs)
        with _main_not_rerun():  # the pool spawns its workers on submit
            futures = [self._executor().submit(run_job, fn, *job) for job in jobs]
        return [f.result() for f in futures]

    def _executor(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(max_workers=self.settings.n_workers,
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_one_thread)
            log.info("started a pool of %d worker processes", self.settings.n_workers)
        return self._pool

    def _map_dask(self, fn: Callable, jobs: Sequence[tuple]) -> list:
        import pickle

        from prefect import task
        from prefect.cache_policies import NO_CACHE

        if self._dask is None:
            self._dask = make_task_runner(self.settings)
            self._dask.__enter__()
            self._task = task(call, name="shard-job", cache_policy=NO_CACHE)
        futures = [self._dask.submit(self._task, {"fn": fn, "args": pickle.dumps(
            tuple(job), protocol=pickle.HIGHEST_PROTOCOL)}) for job in jobs]
        return [future.result() for future in futures]

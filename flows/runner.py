"""The Prefect task runner the nightly flow's shards run on (`runner:` in pipeline.yaml).

`local`: Prefect's default runner in the flow's own process. `dask`: prefect-dask's
DaskTaskRunner, on an existing scheduler (`runner.address`, e.g. a multi-machine cluster) or on
a local cluster of `runner.n_workers` processes. Dask workers need the project installed and
the same configs/ and models/ paths (they load the models themselves).
"""

from __future__ import annotations

from typing import Any

from nlp.config import RunnerSettings
from nlp.errors import ConfigError


def make_task_runner(runner: RunnerSettings) -> Any | None:
    """None for `local` (keep the flow's default runner), else a DaskTaskRunner."""
    if runner.kind == "local":
        return None
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise ConfigError(
            "runner.kind is 'dask' but prefect-dask is not installed: "
            "run `.venv/bin/pip install -e \".[dask]\"` or set runner.kind: local") from exc
    if runner.address:
        if not runner.address.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
            raise ConfigError(
                f"runner.address '{runner.address}' is not a Dask scheduler address; "
                "expected e.g. tcp://10.0.0.5:8786, or null for a local cluster")
        return DaskTaskRunner(address=runner.address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": runner.n_workers,
                                          "threads_per_worker": runner.threads_per_worker,
                                          "processes": True, "dashboard_address": None})

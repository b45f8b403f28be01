"""The researcher report (report.html + report.xlsx) and the Prefect artifacts of a run."""

from flows.report.build import build_report

__all__ = ["build_report", "publish_artifacts"]


def __getattr__(name: str):
    if name == "publish_artifacts":  # imports prefect only when used
        from flows.report.artifacts import publish_artifacts

        return publish_artifacts
    raise AttributeError(name)

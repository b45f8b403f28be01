"""The `voc` command line: run the nightly flow, rebuild the report, train and evaluate models."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from nlp.errors import VocError

app = typer.Typer(help="Chinese Voice-of-Customer pipeline: feedback in, pain-point tables out.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
train_app = typer.Typer(help="Train the project's models.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate models on a labelled CSV; the last line printed is JSON.",
                       no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
topics_app = typer.Typer(help="The persisted topic model: list topics, refit.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
err = Console(stderr=True)


def parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise typer.BadParameter(f"'{value}' is not a date in YYYY-MM-DD form") from exc


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False):
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=err, show_path=False)])


def run_dates(run_date: str | None, date_from: str | None, date_to: str | None) -> list[date | None]:
    """The dates `voc run` processes: one date (None = today), or every date from..to in order."""
    if date_from is None and date_to is None:
        return [parse_date(run_date)]
    if run_date is not None:
        raise typer.BadParameter("use either --date or --from/--to, not both")
    if date_from is None or date_to is None:
        raise typer.BadParameter("a backfill needs both --from and --to")
    start, end = parse_date(date_from), parse_date(date_to)
    if end < start:
        raise typer.BadParameter(f"--to {date_to} is before --from {date_from}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


ConfigOption = Annotated[Path | None, typer.Option(
    help="Pipeline YAML (default configs/base/pipeline.yaml + configs/local overrides).")]


@app.command()
def run(
    config: ConfigOption = None,
    run_date: Annotated[str | None, typer.Option("--date", help="Run date YYYY-MM-DD (default today, Asia/Shanghai).")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Backfill: first run date.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Backfill: last run date.")] = None,
) -> None:
    """Run the nightly flow once (or once per date of a backfill) and write the tables."""
    from flows.nightly import nightly

    for day in run_dates(run_date, date_from, date_to):
        try:
            counts = nightly(run_date=day, config_path=config)
        except VocError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        err.print(f"[green]done[/green] {day or 'today'}: {counts}")


@app.command()
def report(
    run_date: Annotated[str, typer.Option("--date", help="Run date YYYY-MM-DD to report on.")],
    config: ConfigOption = None,
) -> None:
    """Rebuild report.html and report.xlsx for one run date from the sink."""
    from flows.report import build_report
    from flows.sinks import make_sink
    from nlp.config import load_settings

    try:
        settings = load_settings(config)
        paths = build_report(make_sink(settings), parse_date(run_date), settings.run.output_dir,
                             settings)
    except VocError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    for path in paths:
        err.print(f"[green]wrote[/green] {path}")


@app.command()
def serve(
    config: ConfigOption = None,
    show: Annotated[bool, typer.Option("--show", help="Print the schedule and next runs, then exit.")] = False,
) -> None:
    """Serve the nightly deployment on schedule.cron in schedule.timezone until interrupted."""
    from flows.deploy import describe
    from flows.deploy import serve as serve_deployment
    from nlp.config import load_settings

    try:
        settings = load_settings(config)
    except VocError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if show:
        typer.echo(describe(settings))
        return
    serve_deployment(settings, config)


def _register_model_commands() -> None:
    from flows.commands.sentiment import eval_sentiment, train_sentiment
    from flows.commands.stages import eval_stages, train_stages

    train_app.command("sentiment")(train_sentiment)
    eval_app.command("sentiment")(eval_sentiment)
    train_app.command("stages")(train_stages)
    eval_app.command("stages")(eval_stages)
    from flows.commands.clauses import train_clauses

    train_app.command("clauses")(train_clauses)
    from flows.commands.signals import eval_signals

    eval_app.command("signals")(eval_signals)
    from flows.commands.topics import eval_topics, list_topics, refit_topics

    topics_app.command("list")(list_topics)
    topics_app.command("refit")(refit_topics)
    eval_app.command("topics")(eval_topics)
    from flows.commands.analyze import analyze
    from flows.commands.mentions import eval_mentions

    app.command("analyze")(analyze)
    eval_app.command("mentions")(eval_mentions)


_register_model_commands()

if __name__ == "__main__":
    app()

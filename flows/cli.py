"""The `voc` command line: run the nightly flow, train and evaluate models."""

from __future__ import annotations

import logging
from datetime import date, datetime
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


@app.command()
def run(
    config: Annotated[Path | None, typer.Option(help="Pipeline YAML (default configs/base/pipeline.yaml + configs/local overrides).")] = None,
    run_date: Annotated[str | None, typer.Option("--date", help="Run date YYYY-MM-DD (default today, Asia/Shanghai).")] = None,
) -> None:
    """Run the nightly flow once and write the tables to the configured sink."""
    from flows.nightly import nightly

    try:
        counts = nightly(run_date=parse_date(run_date), config_path=config)
    except VocError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    err.print(f"[green]done[/green]: {counts}")


def _register_model_commands() -> None:
    from flows.commands.sentiment import eval_sentiment, train_sentiment
    from flows.commands.stages import eval_stages, train_stages

    train_app.command("sentiment")(train_sentiment)
    eval_app.command("sentiment")(eval_sentiment)
    train_app.command("stages")(train_stages)
    eval_app.command("stages")(eval_stages)


_register_model_commands()

if __name__ == "__main__":
    app()

"""Orchestration of the VOC pipeline: sources, sinks, the nightly Prefect flow and the CLI."""

"""Shared fixtures: the project's settings and loaded components, built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.chdir(ROOT)  # configs refer to paths relative to the project root


@pytest.fixture(scope="session")
def settings():
    from nlp.config import load_settings

    return load_settings(ROOT / "configs/base/pipeline.yaml")


@pytest.fixture(scope="session")
def components(settings):
    from flows.components import load_components

    return load_components(settings)


@pytest.fixture(scope="session")
def taxonomy(settings):
    from nlp.journey import load_taxonomy

    return load_taxonomy(settings.journey.taxonomy)


@pytest.fixture(scope="session")
def signal_config(settings):
    from nlp.signals import load_signal_config

    return load_signal_config(settings.journey.signals)


@pytest.fixture(scope="session")
def segmenter(settings, taxonomy, signal_config):
    from nlp.segment import get_segmenter

    extra = tuple(sorted(set(taxonomy.all_cues()) | set(signal_config.all_cues())))
    return get_segmenter(settings.segment.userdict, settings.segment.stopwords, extra,
                         settings.segment.engine)


@pytest.fixture(scope="session")
def tagger(settings, taxonomy, segmenter):
    from nlp.journey import JourneyTagger
    from nlp.stage_model import taxonomy_only_model

    model = taxonomy_only_model(taxonomy, segmenter.tokens)
    return JourneyTagger(taxonomy, segmenter.tokens, settings.journey.min_confidence, model)


def write_config(tmp_path: Path, **overrides) -> Path:
    """A copy of the base pipeline config with `section={key: value}` overrides."""
    import yaml

    data = yaml.safe_load((ROOT / "configs/base/pipeline.yaml").read_text(encoding="utf-8"))
    for section, values in overrides.items():
        data[section] = {**data.get(section, {}), **values}
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield

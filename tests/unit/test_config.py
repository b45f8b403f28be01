"""Configuration is validated at load; errors name the file and the key."""

import pytest

from nlp.config import load_settings
from nlp.errors import ConfigError, TaxonomyError
from nlp.journey import load_taxonomy


def test_base_config_loads(settings):
    assert settings.sentiment.backend == "voc.sentiment.v1"
    assert {"complaint", "forum", "chat", "call"} == set(settings.sources.model_dump())


def test_unknown_key_names_file_and_key(tmp_path):
    bad = tmp_path / "pipeline.yaml"
    base = open("configs/base/pipeline.yaml", encoding="utf-8").read()
    bad.write_text(base.replace("min_topic_size: 12", "min_topic_sise: 12"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(bad)
    assert str(bad) in str(info.value) and "topics.min_topic_sise" in str(info.value)


def test_wrong_type_names_key(tmp_path):
    bad = tmp_path / "pipeline.yaml"
    base = open("configs/base/pipeline.yaml", encoding="utf-8").read()
    bad.write_text(base.replace("max_text_chars: 5000", "max_text_chars: lots"), encoding="utf-8")
    with pytest.raises(ConfigError, match="normalize.max_text_chars"):
        load_settings(bad)


def test_missing_file_is_clear(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml")


def test_stage_without_cues_is_rejected(tmp_path):
    path = tmp_path / "journey.yaml"
    path.write_text("stages:\n  use:\n    name: 使用\n    cues: []\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="stage 'use'.*no cue phrases"):
        load_taxonomy(path)

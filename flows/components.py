"""Build the pipeline's models and matchers from settings, once per process, each on first use.

A process loads only what it uses: the flow's process needs the taxonomy, the stopwords and the
sentiment model's name, the shard workers need everything (flows/shards.py).

spaCy (the journey tagger's phrase matcher) and bertopic import torch and transformers (through
thinc and bertopic's optional LLM representations) for features the pipeline never uses. They
are imported with those hidden (`torch_hidden`) and treat them as not installed: transformers
is then never loaded (~100 MB per process that assigns topics), torch only where something
uses it (the sentiment model, the topic step's neighbour search). A module loaded already is
never hidden.
"""

from __future__ import annotations

import importlib.abc
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from nlp.config import Settings

log = logging.getLogger(__name__)
_HIDDEN = ("torch", "transformers")


class _Hide(importlib.abc.MetaPathFinder):
    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return None


@contextmanager
def torch_hidden() -> Iterator[None]:
    """Imports inside find no torch / transformers (each unless it is loaded already: hiding
    it then would break its submodules' imports)."""
    hidden = tuple(name for name in _HIDDEN if name not in sys.modules)
    if not hidden:
        yield
        return
    hide = _Hide(hidden)
    sys.meta_path.insert(0, hide)
    try:
        yield
    finally:
        sys.meta_path.remove(hide)


with torch_hidden():  # the first import of spaCy, by nlp.journey
    from nlp.journey import JourneyTagger, Taxonomy, load_taxonomy
from nlp.segment import Segmenter, get_segmenter  # noqa: E402
from nlp.sentiment import load_backend  # noqa: E402
from nlp.sentiment.base import SentimentBackend  # noqa: E402
from nlp.signals import SignalConfig, SignalDetector, load_signal_config  # noqa: E402
from nlp.stage_model import load_stage_model, taxonomy_only_model  # noqa: E402

_CACHE: dict[str, Components] = {}


class Components:
    """The segmenter, sentiment backend, journey tagger and signal detector of `settings`,
    each loaded on first access."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def _text_tools(self) -> tuple[Segmenter, Taxonomy, SignalConfig]:
        return load_text_tools(self.settings)

    @property
    def segmenter(self) -> Segmenter:
        return self._text_tools[0]

    @property
    def taxonomy(self) -> Taxonomy:
        return self._text_tools[1]

    @property
    def signal_config(self) -> SignalConfig:
        return self._text_tools[2]

    @cached_property
    def sentiment(self) -> SentimentBackend:
        opts = self.settings.sentiment
        backend = load_backend(opts.backend, dict(opts.options))
        log.info("components loaded: sentiment %s %s", backend.name, backend.version)
        return backend

    @cached_property
    def tagger(self) -> JourneyTagger:
        journey = self.settings.journey
        stage_model = (load_stage_model(journey.model_dir) if journey.model_dir
                       else taxonomy_only_model(self.taxonomy, self.segmenter.tokens))
        return JourneyTagger(self.taxonomy, self.segmenter.tokens, journey.min_confidence,
                             stage_model)

    @cached_property
    def detector(self) -> SignalDetector:
        return SignalDetector(self.signal_config)

    def preload(self, *names: str) -> Components:
        """Load the named components now (to fail early, or to keep loading out of a timed
        step)."""
        for name in names:
            getattr(self, name)
        return self

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
    """The (cached) components of `settings`; each model is loaded when first used."""
    key = settings.model_dump_json(include={"segment", "sentiment", "journey"})
    if key not in _CACHE:
        _CACHE[key] = Components(settings)
    return _CACHE[key]

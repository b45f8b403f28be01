"""Wiring of aspect mentions, emotions and rating impact for the flow and the CLI.

Thin glue over pure functions in nlp/ (nlp/mentions.py, nlp/emotions.py, nlp/impact.py): build
the extractor from the loaded components and settings. The nightly flow's shard jobs
(flows/shards.py) extract the `mentions` table; pain points over mentions and rating impact are
aggregated in flows/nightly.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from flows.components import Components
from nlp.clause_model import ARTIFACT, ClauseModel, load_clause_model
from nlp.config import Settings
from nlp.emotions import load_emotion_lexicon
from nlp.mentions import MentionExtractor, load_mention_config


def make_extractor(settings: Settings, comp: Components,
                   topic_keywords: Mapping[int, Sequence[str]] | None = None) -> MentionExtractor:
    path = settings.mentions.clause_model
    return MentionExtractor(comp.segmenter.tokens, comp.tagger, comp.sentiment,
                            load_emotion_lexicon(settings.mentions.emotions), topic_keywords,
                            load_mention_config(settings.mentions.config),
                            tokenize_batch=comp.segmenter.tokens_batch,
                            clause_model=None if path is None else clause_model(path))


@lru_cache(maxsize=2)
def _cached_clause_model(path: str, mtime: float) -> ClauseModel:
    return load_clause_model(Path(path))


def clause_model(path: Path) -> ClauseModel:
    """The clause model at `path`, loaded once per process (and again when the file changes)."""
    artifact = Path(path) / ARTIFACT
    mtime = artifact.stat().st_mtime if artifact.is_file() else 0.0
    return _cached_clause_model(str(path), mtime)

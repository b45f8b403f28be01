"""Journey stage and touchpoint per customer sentence, from the configurable taxonomy.

Cue phrases are matched with spaCy's PhraseMatcher over jieba tokens. Sentences without a cue go
to a small classifier trained on the taxonomy's examples and cue phrases; when it is not sure
enough the stage is `unknown`, never a guess presented as sure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from nlp.config import read_yaml, validate
from nlp.errors import TaxonomyError

UNKNOWN = "unknown"


class StageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    weight: float = Field(1.0, gt=0)
    cues: list[str]
    examples: list[str] = Field(default_factory=list)

    @field_validator("cues", "examples", mode="before")
    @classmethod
    def _as_strings(cls, value: list) -> list[str]:
        return [str(v) for v in value or []]


class Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    stages: dict[str, StageSpec]
    touchpoints: dict[str, list[str]] = Field(default_factory=dict)
    no_stage_examples: list[str] = Field(default_factory=list)

    @field_validator("touchpoints", mode="before")
    @classmethod
    def _touchpoint_strings(cls, value: dict) -> dict[str, list[str]]:
        return {k: [str(c) for c in v or []] for k, v in (value or {}).items()}

    def all_cues(self) -> list[str]:
        cues = [c for spec in self.stages.values() for c in spec.cues]
        return cues + [c for tps in self.touchpoints.values() for c in tps]


def load_taxonomy(path: Path) -> Taxonomy:
    taxonomy: Taxonomy = validate(Taxonomy, read_yaml(path), [path])
    if not taxonomy.stages:
        raise TaxonomyError(f"'{path}' defines no stages; add at least two under 'stages'")
    for key, spec in taxonomy.stages.items():
        if key == UNKNOWN:
            raise TaxonomyError(f"stage key '{UNKNOWN}' in '{path}' is reserved; rename it")
        if not spec.cues:
            raise TaxonomyError(
                f"stage '{key}' in '{path}' has no cue phrases; add at least one or remove the stage"
            )
    return taxonomy


@dataclass(frozen=True, slots=True)
class StageResult:
    stage: str
    confidence: float
    method: str  # cue | model | none
    evidence: str  # the matched cue phrase, empty when none
    stages: tuple[str, ...] = field(default=())  # every stage a cue points to, in text order
    touchpoint: str | None = None
    cue_tokens: frozenset[str] = field(default=frozenset())


class StageClassifier(Protocol):
    """Any fitted scikit-learn style classifier over space-joined tokens."""

    classes_: Any

    def predict_proba(self, texts: list[str]) -> Any: ...


class JourneyTagger:
    """Tags token lists (one customer sentence each) with stage and touchpoint: cue phrases first,
    then `model` for sentences without a cue (cue-only when model is None)."""

    def __init__(self, taxonomy: Taxonomy, tokenize, min_confidence: float = 0.4,
                 model: StageClassifier | None = None) -> None:
        self.taxonomy = taxonomy
        self.min_confidence = min_confidence
        self.model = model
        self._vocab = Vocab()
        self._stages = self._matcher({k: s.cues for k, s in taxonomy.stages.items()}, tokenize)
        self._touchpoints = self._matcher(taxonomy.touchpoints, tokenize)

    def _matcher(self, phrases: dict[str, list[str]], tokenize) -> PhraseMatcher:
        # ORTH over lower-cased tokens: a bare Vocab has no lexical attribute getters, so LOWER
        # would be empty for every token.
        matcher = PhraseMatcher(self._vocab, attr="ORTH")
        for key, cues in phrases.items():
            patterns = [self._doc(tokenize(c)) for c in cues if tokenize(c)]
            if patterns:
                matcher.add(key, patterns)
        return matcher

    def _doc(self, tokens: Sequence[str]) -> Doc:
        return Doc(self._vocab, words=[t.lower() for t in tokens] or [""])

    def _matches(self, matcher: PhraseMatcher, doc: Doc) -> list[tuple[str, str, int, int]]:
        found = [
            (self._vocab.strings[mid], doc[start:end].text, start, end)
            for mid, start, end in matcher(doc)
        ]
        return sorted(found, key=lambda m: m[2])

    def match(self, sentences: Sequence[list[str]]) -> list[StageResult]:
        """Cue phrases only: stage of the most cues (earliest on ties), or unknown."""
        results = []
        for tokens in sentences:
            doc = self._doc(tokens)
            touch = self._matches(self._touchpoints, doc)
            touchpoint = touch[0][0] if touch else None
            found = self._matches(self._stages, doc)
            if not found:
                results.append(StageResult(UNKNOWN, 0.0, "none", "", (), touchpoint))
                continue
            counts = Counter(stage for stage, *_ in found)
            best = max(counts.values())
            stage = next(s for s, *_ in found if counts[s] == best)
            evidence = next(text for s, text, *_ in found if s == stage)
            confidence = 0.6 + 0.4 * best / sum(counts.values())
            ordered = tuple(dict.fromkeys(s for s, *_ in found))
            cue_tokens = frozenset(doc[i].text for _, _, a, b in found for i in range(a, b))
            results.append(StageResult(stage, round(confidence, 3), "cue", evidence, ordered,
                                       touchpoint, cue_tokens))
        return results

    def tag(self, sentences: Sequence[list[str]]) -> list[StageResult]:
        results = self.match(sentences)
        todo = [i for i, r in enumerate(results) if r.method == "none" and sentences[i]]
        if not todo or self.model is None:
            return results
        probabilities = self.model.predict_proba([" ".join(sentences[i]) for i in todo])
        classes = self.model.classes_
        for i, probs in zip(todo, probabilities, strict=True):
            best = int(probs.argmax())
            confidence = float(probs[best])
            if confidence >= self.min_confidence and classes[best] != UNKNOWN:
                results[i] = StageResult(str(classes[best]), round(confidence, 3), "model", "",
                                         (), results[i].touchpoint)
        return results

    def stage_weight(self, stage: str) -> float:
        spec = self.taxonomy.stages.get(stage)
        return spec.weight if spec else 0.5

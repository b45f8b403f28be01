"""Journey stage and touchpoint per customer sentence, from the configurable taxonomy.

Cue phrases are matched with spaCy's PhraseMatcher over jieba tokens. Sentences without a cue go
to a small classifier trained on the taxonomy's examples and cue phrases; when it is not sure
enough the stage is `unknown`, never a guess presented as sure.
"""

from __future__ import annotations

import re
from collections import defaultdict
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
WEAK = 0.4  # weight of a weak cue


def _token_index(tokens: Sequence[str], char_offset: int) -> int:
    """Index of the token that holds character `char_offset` of "".join(tokens)."""
    seen = 0
    for i, token in enumerate(tokens):
        seen += len(token)
        if seen > char_offset:
            return i
    return len(tokens)


class StageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    weight: float = Field(1.0, gt=0)
    cue_weight: float = Field(1.0, gt=0)
    cues: list[str]
    weak_cues: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)

    @field_validator("cues", "weak_cues", "patterns", "examples", mode="before")
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
        cues = [c for spec in self.stages.values() for c in [*spec.cues, *spec.weak_cues]]
        return cues + [c for tps in self.touchpoints.values() for c in tps]


def load_taxonomy(path: Path) -> Taxonomy:
    taxonomy: Taxonomy = validate(Taxonomy, read_yaml(path), [path])
    if not taxonomy.stages:
        raise TaxonomyError(f"'{path}' defines no stages; add at least two under 'stages'")
    for key, spec in taxonomy.stages.items():
        for number, pattern in enumerate(spec.patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise TaxonomyError(
                    f"stage '{key}' pattern {number} in '{path}' is not a valid regular "
                    f"expression: {exc}"
                ) from exc
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
        self._weak = self._matcher({k: s.weak_cues for k, s in taxonomy.stages.items()}, tokenize)
        self._touchpoints = self._matcher(taxonomy.touchpoints, tokenize)
        self._patterns = [(key, re.compile(p)) for key, spec in taxonomy.stages.items()
                          for p in spec.patterns]

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
        """Cue phrases and patterns only. Each strong cue or pattern counts 1, a weak cue 0.4,
        times the stage's cue_weight; the stage with the highest score wins (the earliest on
        ties); no cue gives unknown."""
        results = []
        for tokens in sentences:
            doc = self._doc(tokens)
            touch = self._matches(self._touchpoints, doc)
            touchpoint = touch[0][0] if touch else None
            hits = [(stage, text, start, end, 1.0)
                    for stage, text, start, end in self._matches(self._stages, doc)]
            hits += [(stage, text, start, end, WEAK)
                     for stage, text, start, end in self._matches(self._weak, doc)]
            text = "".join(tokens)
            hits += [(stage, m.group(), _token_index(tokens, m.start()), -1, 1.0)
                     for stage, pattern in self._patterns if (m := pattern.search(text))]
            if not hits:
                results.append(StageResult(UNKNOWN, 0.0, "none", "", (), touchpoint))
                continue
            hits.sort(key=lambda h: h[2])
            scores: dict[str, float] = defaultdict(float)
            for stage, *_, weight in hits:
                scores[stage] += weight * self.taxonomy.stages[stage].cue_weight
            best = max(scores.values())
            stage = next(h[0] for h in hits if scores[h[0]] == best)
            evidence = next(h[1] for h in hits if h[0] == stage)
            confidence = min(1.0, 0.5 + 0.5 * best / sum(scores.values()) * min(1.0, best))
            ordered = tuple(dict.fromkeys(h[0] for h in hits))
            cue_tokens = frozenset(doc[i].text for *_, a, b, _ in hits if b > 0
                                   for i in range(a, b))
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

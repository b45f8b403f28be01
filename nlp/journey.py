"""Journey stage and touchpoint per customer sentence, from the configurable taxonomy.

Cue phrases are matched with spaCy's PhraseMatcher over jieba tokens. Sentences without a cue go
to a small classifier trained on the taxonomy's examples, hand-labelled and cue-labelled
sentences; when it is not sure enough the stage is `unknown`, never a guess presented as sure.
A trained model may also overrule an ambiguous cue result (only weak cues, or cues of several
stages) when it is confident (`override_confidence`, calibrated by cross-validation), except for
stages whose cues outweigh others by design (`cue_weight` > 1).
"""

from __future__ import annotations

import re
from bisect import bisect_right
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
NEGATION_WINDOW = 2  # tokens before a cue in which a stage's negator cancels it


_LATIN_PAIR = re.compile(r"[A-Za-z0-9][A-Za-z0-9]")


def _pattern_text(tokens: Sequence[str]) -> tuple[str, list[int]]:
    """The sentence as patterns see it: tokens joined without spaces, except that a space stays
    between two Latin words ("close my account"), and each token's start offset in it."""
    text, starts = [], []
    offset = 0
    previous = ""
    for token in tokens:
        if previous and token and _LATIN_PAIR.match(previous[-1] + token[0]):
            text.append(" ")
            offset += 1
        starts.append(offset)
        text.append(token)
        offset += len(token)
        previous = token
    return "".join(text), starts


def _token_index(starts: Sequence[int], char_offset: int) -> int:
    """Index of the token that holds character `char_offset` of the pattern text."""
    return max(0, bisect_right(starts, char_offset) - 1)


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
    # Tokens that cancel this stage's cue or pattern when one of the two tokens before it
    # (不会销户, 不打算换运营商): for intent stages, where a negated cue states the opposite.
    negators: list[str] = Field(default_factory=list)

    @field_validator("cues", "weak_cues", "patterns", "examples", "negators", mode="before")
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
    """Any fitted scikit-learn style classifier over space-joined tokens. A trained model may
    also carry `override_confidence` (see `decide`)."""

    classes_: Any

    def predict_proba(self, texts: list[str]) -> Any: ...


def ambiguous(result: StageResult) -> bool:
    """A cue result a confident model may overrule: weak cues only, or cues of several stages
    (a single strong cue has confidence 1)."""
    return result.method == "cue" and result.confidence < 1.0


def decide(result: StageResult, probs: Any, classes: Any, min_confidence: float,
           override_confidence: float | None) -> StageResult:
    """The stage of one sentence from its cue result and the model's class probabilities.
    Without a cue the model's stage counts from `min_confidence`; an ambiguous cue result gives
    way to another stage the model gives at least `override_confidence`. The model's own
    no-stage class never overrules a cue."""
    best = int(probs.argmax())
    confidence = float(probs[best])
    stage = str(classes[best])
    if stage == UNKNOWN or stage == result.stage:
        return result
    if result.method == "none":
        threshold = min_confidence
    elif override_confidence is not None and ambiguous(result):
        threshold = override_confidence
    else:
        return result
    if confidence < threshold:
        return result
    return StageResult(stage, round(confidence, 3), "model", "", (), result.touchpoint)


class JourneyTagger:
    """Tags token lists (one customer sentence each) with stage and touchpoint: cue phrases first,
    then `model` for sentences without a cue (cue-only when model is None)."""

    def __init__(self, taxonomy: Taxonomy, tokenize, min_confidence: float = 0.4,
                 model: StageClassifier | None = None,
                 override_confidence: float | None = None) -> None:
        self.taxonomy = taxonomy
        self.min_confidence = min_confidence
        self.model = model
        # None: the model's own calibrated value when it has one, else cues are never overruled.
        self.override_confidence = (override_confidence if override_confidence is not None
                                    else getattr(model, "override_confidence", None))
        self._vocab = Vocab()
        self._stages = self._matcher({k: s.cues for k, s in taxonomy.stages.items()}, tokenize)
        self._weak = self._matcher({k: s.weak_cues for k, s in taxonomy.stages.items()}, tokenize)
        self._touchpoints = self._matcher(taxonomy.touchpoints, tokenize)
        self._patterns = [(key, re.compile(p)) for key, spec in taxonomy.stages.items()
                          for p in spec.patterns]
        self._negators = {key: frozenset(spec.negators) for key, spec in taxonomy.stages.items()
                          if spec.negators}

    def _negated(self, stage: str, tokens: Sequence[str], start: int) -> bool:
        negators = self._negators.get(stage)
        return bool(negators) and any(
            t in negators for t in tokens[max(0, start - NEGATION_WINDOW):start])

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
        ties); no cue gives unknown. A cue just after one of its stage's negators is ignored."""
        results = []
        for tokens in sentences:
            doc = self._doc(tokens)
            touch = self._matches(self._touchpoints, doc)
            touchpoint = touch[0][0] if touch else None
            hits = [(stage, text, start, end, 1.0)
                    for stage, text, start, end in self._matches(self._stages, doc)]
            hits += [(stage, text, start, end, WEAK)
                     for stage, text, start, end in self._matches(self._weak, doc)]
            text, starts = _pattern_text(tokens)
            hits += [(stage, m.group(), _token_index(starts, m.start()), -1, 1.0)
                     for stage, pattern in self._patterns if (m := pattern.search(text))]
            if self._negators:
                hits = [h for h in hits if not self._negated(h[0], tokens, h[2])]
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

    def overridable(self, result: StageResult) -> bool:
        """An ambiguous cue result whose stage does not outweigh others by design (a stage with
        cue_weight > 1, e.g. leave intent, keeps its cue)."""
        spec = self.taxonomy.stages.get(result.stage)
        return ambiguous(result) and spec is not None and spec.cue_weight <= 1.0

    def needs_model(self, result: StageResult) -> bool:
        return result.method == "none" or (self.override_confidence is not None
                                           and self.overridable(result))

    def tag(self, sentences: Sequence[list[str]]) -> list[StageResult]:
        """Cue results (`match`), with the model deciding sentences without a cue and, when it
        is confident, ambiguous cue results (`decide`)."""
        return self.tag_matched(sentences, self.match(sentences))

    def tag_matched(self, sentences: Sequence[list[str]],
                    matched: Sequence[StageResult]) -> list[StageResult]:
        """`tag` for sentences whose `match` results are known already: the stage model
        decides those without a cue (and, when confident, ambiguous ones) in one call."""
        results = list(matched)
        if self.model is None:
            return results
        todo = [i for i, r in enumerate(results) if sentences[i] and self.needs_model(r)]
        if not todo:
            return results
        probabilities = self.model.predict_proba([" ".join(sentences[i]) for i in todo])
        classes = self.model.classes_
        for i, probs in zip(todo, probabilities, strict=True):
            results[i] = decide(results[i], probs, classes, self.min_confidence,
                                self.override_confidence)
        return results

    def stage_weight(self, stage: str) -> float:
        spec = self.taxonomy.stages.get(stage)
        return spec.weight if spec else 0.5

"""CX signals per document: effort, escalation, churn, resolution, and the peak-end score."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nlp.config import read_yaml, validate


class SignalSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(1.0, ge=0)
    cues: list[str]
    patterns: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    # When set, a cue or pattern counts only in a sentence where one of these also matches
    # (e.g. an escalation body needs a threat or an action: 投诉, 举报, 找, 去, ...).
    requires: list[str] = Field(default_factory=list)

    @field_validator("cues", "patterns", "exclude", "requires", mode="before")
    @classmethod
    def _as_strings(cls, value: list) -> list[str]:
        return [str(v) for v in value or []]


class ResolutionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolved: list[str]
    unresolved: list[str]


class SignalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    negators: list[str]
    signals: dict[str, SignalSpec]
    resolution: ResolutionSpec

    def all_cues(self) -> list[str]:
        cues = [c for s in self.signals.values() for c in s.cues]
        return cues + self.resolution.resolved + self.resolution.unresolved


NEGATION_WINDOW = 3  # tokens before a cue or a pattern match that may negate it
EFFORT_SIGNALS = ("effort_transfer", "effort_repeat", "effort_wait", "effort_contacts")


def load_signal_config(path: Path) -> SignalConfig:
    config: SignalConfig = validate(SignalConfig, read_yaml(path), [path])
    for name, spec in config.signals.items():
        for key in ("patterns", "exclude", "requires"):
            for number, pattern in enumerate(getattr(spec, key)):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    from nlp.errors import ConfigError

                    raise ConfigError(f"'{path}' key 'signals.{name}.{key}.{number}': "
                                      f"invalid regular expression: {exc}") from exc
    missing = [s for s in (*EFFORT_SIGNALS, "escalation", "churn") if s not in config.signals]
    if missing:
        from nlp.errors import ConfigError

        raise ConfigError(f"'{path}' key 'signals' lacks {', '.join(missing)}")
    return config


def _scoped(pattern: str) -> str:
    """A pattern as one alternative of a larger expression (a leading (?i) made local)."""
    if pattern.startswith("(?i)"):
        return f"(?i:{pattern[4:]})"
    return f"(?:{pattern})"


def _token_at(tokens: Sequence[str], char_offset: int) -> int:
    """Index of the token holding character `char_offset` of "".join(tokens)."""
    seen = 0
    for i, token in enumerate(tokens):
        seen += len(token)
        if seen > char_offset:
            return i
    return len(tokens)


@dataclass(slots=True)
class DocumentSignals:
    flags: dict[str, bool] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    effort_score: float = 0.0
    resolution: str = "unknown"  # resolved | unresolved | unknown


class SignalDetector:
    """Finds signal cues in token lists, ignoring cues negated just before them."""

    def __init__(self, config: SignalConfig) -> None:
        self.config = config
        self._negators = frozenset(config.negators)
        self._cues = {name: frozenset(spec.cues) for name, spec in config.signals.items()}
        self._patterns = {name: [re.compile(p) for p in spec.patterns]
                          for name, spec in config.signals.items()}
        # one search per signal finds the sentences where any of its patterns could match
        self._any_pattern = {name: re.compile("|".join(_scoped(p) for p in spec.patterns))
                             for name, spec in config.signals.items() if spec.patterns}
        self._all_cues = frozenset().union(*self._cues.values())
        self._exclude = {name: [re.compile(p) for p in spec.exclude]
                         for name, spec in config.signals.items()}
        self._requires = {name: [re.compile(p) for p in spec.requires]
                          for name, spec in config.signals.items()}
        self._resolved = frozenset(config.resolution.resolved)
        self._unresolved = frozenset(config.resolution.unresolved)

    def sentence_signals(self, tokens: Sequence[str]) -> list[str]:
        """Names of the signals found in one sentence."""
        text = "".join(tokens)
        cues = not self._all_cues.isdisjoint(tokens)
        return [name for name in self._cues if self._evidence(name, tokens, text, cues)]

    def _evidence(self, name: str, tokens: Sequence[str], text: str | None = None,
                  cues: bool = True) -> str | None:
        """The cue or pattern match showing signal `name` in a sentence, unless a negator just
        precedes it, an exclude pattern vetoes it or a required context is missing. `cues`:
        False when the sentence holds no cue of any signal."""
        text = "".join(tokens) if text is None else text
        hit = ((cues and self._find(tokens, self._cues[name]))
               or self._pattern_hit(name, tokens, text))
        if hit is None or any(p.search(text) for p in self._exclude[name]):
            return None
        if self._requires[name] and not any(p.search(text) for p in self._requires[name]):
            return None
        return hit

    def _pattern_hit(self, name: str, tokens: Sequence[str], text: str) -> str | None:
        screen = self._any_pattern.get(name)
        if screen is None or not screen.search(text):
            return None
        for pattern in self._patterns[name]:
            for m in pattern.finditer(text):
                if not self._negated(tokens, _token_at(tokens, m.start())):
                    return m.group()
        return None

    def _find(self, tokens: Sequence[str], cues: frozenset[str]) -> str | None:
        for i, tok in enumerate(tokens):
            if tok in cues and not self._negated(tokens, i):
                return tok
        return None

    def _negated(self, tokens: Sequence[str], i: int) -> bool:
        # Chinese puts the negator before the verb phrase: 不想闹到消协, 不会去销户.
        return any(t in self._negators for t in tokens[max(0, i - NEGATION_WINDOW) : i])

    def detect(
        self, customer: Sequence[Sequence[str]], agent: Sequence[Sequence[str]] = (),
        found: tuple[Sequence[Collection[str]], Sequence[Collection[str]]] | None = None,
    ) -> DocumentSignals:
        """`customer` and `agent` are the token lists of each side's sentences, in order.
        Agent turns reveal transfers and holds; customer turns carry everything else.
        `found`: each side's `sentence_signals` per sentence, when already computed; then only
        the sentences that show a signal are searched for its evidence (same result)."""
        out = DocumentSignals()
        for name in self._cues:
            both = name in ("effort_transfer", "effort_wait")
            if found is None:
                sides = [*customer, *agent] if both else customer
            else:
                pairs = [*zip(customer, found[0], strict=True),
                         *(zip(agent, found[1], strict=True) if both else ())]
                sides = [toks for toks, names in pairs if name in names]
            hit = next((h for toks in sides if (h := self._evidence(name, toks))), None)
            out.flags[name] = hit is not None
            if hit:
                out.evidence[name] = hit
        out.effort_score = round(
            min(1.0, sum(self.config.signals[s].weight for s in EFFORT_SIGNALS if out.flags.get(s))),
            3,
        )
        out.resolution = self._resolution(customer[-2:])
        return out

    def _resolution(self, last_turns: Sequence[Sequence[str]]) -> str:
        verdict = "unknown"
        for tokens in last_turns:  # the last customer words decide
            if self._find(tokens, self._unresolved):
                verdict = "unresolved"
            elif self._find(tokens, self._resolved):
                verdict = "resolved"
        return verdict


def peak_end_score(scores: Sequence[float]) -> float | None:
    """Kahneman's peak-end rule over a conversation's customer-sentence scores in [-1, 1]:
    the mean of the most intense moment (largest |score|) and the final sentence."""
    if not scores:
        return None
    peak = max(scores, key=abs)
    return round((peak + scores[-1]) / 2, 4)


def signal_scores(signals: Sequence[str], gold: Sequence[bool], found: Sequence[bool]) -> dict:
    """Per-signal precision, recall, tp/fp/fn and n (rows asking about it), for rows that each
    ask whether one sentence shows one signal; also the lowest precision and recall."""
    counts: dict[str, list[int]] = {}
    for name, is_gold, is_found in zip(signals, gold, found, strict=True):
        c = counts.setdefault(name, [0, 0, 0, 0])  # tp, fp, fn, n
        c[0] += is_gold and is_found
        c[1] += is_found and not is_gold
        c[2] += is_gold and not is_found
        c[3] += 1
    per_signal = {
        name: {"precision": round(tp / max(1, tp + fp), 4), "recall": round(tp / max(1, tp + fn), 4),
               "tp": tp, "fp": fp, "fn": fn, "n": n}
        for name, (tp, fp, fn, n) in sorted(counts.items())
    }
    return {
        "n": len(signals),
        "min_precision": min((s["precision"] for s in per_signal.values()), default=0.0),
        "min_recall": min((s["recall"] for s in per_signal.values()), default=0.0),
        "per_signal": per_signal,
    }

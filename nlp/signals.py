"""CX signals per document: effort, escalation, churn, resolution, and the peak-end score."""

from __future__ import annotations

import itertools
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
    # Veto every signal in a sentence: other people's experience, a past-vs-now contrast that
    # ends well ("以前打了五次，这次一次就好了"), a hypothetical (joined to each signal's exclude).
    context_exclude: list[str] = Field(default_factory=list)
    signals: dict[str, SignalSpec]
    resolution: ResolutionSpec

    def all_cues(self) -> list[str]:
        cues = [c for s in self.signals.values() for c in s.cues]
        return cues + self.resolution.resolved + self.resolution.unresolved


NEGATION_WINDOW = 3  # tokens before a cue or a pattern match that may negate it
# A negator followed by one of these does not negate what follows (不知道找了多少次, 不止五次).
NOT_NEGATING = frozenset({"知道", "清楚", "记得", "晓得", "止", "只", "仅", "断", "停", "光"})
EFFORT_SIGNALS = ("effort_transfer", "effort_repeat", "effort_wait", "effort_contacts")


def load_signal_config(path: Path) -> SignalConfig:
    config: SignalConfig = validate(SignalConfig, read_yaml(path), [path])
    for number, pattern in enumerate(config.context_exclude):
        try:
            re.compile(pattern)
        except re.error as exc:
            from nlp.errors import ConfigError

            raise ConfigError(f"'{path}' key 'context_exclude.{number}': "
                              f"invalid regular expression: {exc}") from exc
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


def _alternation(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """One expression matching where any of `patterns` does; None when there are none."""
    return re.compile("|".join(_scoped(p) for p in patterns)) if patterns else None


_MAX_LITERALS = 256  # beyond this many spellings a part of a pattern is not used as a screen


def _spellings(items: list, flags: int) -> frozenset[str] | None:
    """Every string a parsed (sub)pattern can match, when it matches only a few literal ones."""
    from re import _constants as c  # the parser's opcodes (Python >= 3.11)

    out = frozenset({""})
    for op, av in items:
        if op is c.LITERAL:
            options = frozenset({chr(av)})
        elif op is c.IN and all(o is c.LITERAL for o, _ in av):
            options = frozenset(chr(v) for _, v in av)
        elif op is c.SUBPATTERN and not (av[1] & re.IGNORECASE):
            options = _spellings(list(av[3]), flags)
        elif op is c.BRANCH:
            branches = [_spellings(list(b), flags) for b in av[1]]
            options = (None if any(b is None for b in branches)
                       else frozenset().union(*branches))
        elif op is c.MAX_REPEAT and av[0] == 0 and av[1] == 1:
            inner = _spellings(list(av[2]), flags)
            options = None if inner is None else inner | {""}
        else:
            return None
        if options is None or len(out) * len(options) > _MAX_LITERALS:
            return None
        out = frozenset(a + b for a, b in itertools.product(out, options))
    return out


def _required(items: list, flags: int) -> frozenset[str] | None:
    """Literal strings one of which every match of a parsed (sub)pattern contains, or None.
    Among the candidates (runs of literal parts, required groups) the one whose shortest
    spelling is longest wins: the rarer the strings, the better the screen."""
    from re import _constants as c

    candidates: list[frozenset[str]] = []
    run: list = []

    def close_run() -> None:
        # the whole run, and each stretch of it without optional parts (fewer spellings)
        stretch: list = []
        for part in [*run, None]:
            if part is not None and "" not in _spellings([part], flags):
                stretch.append(part)
                continue
            if stretch and len(stretch) < len(run):
                candidates.append(_spellings(stretch, flags))
            stretch = []
        spelled = _spellings(run, flags) if run else None
        if spelled and "" not in spelled:
            candidates.append(spelled)
        run.clear()

    for op, av in items:
        if _spellings([(op, av)], flags) is not None:  # optional parts join a run too
            run.append((op, av))
            if _spellings(run, flags) is None:  # the run grew too many spellings: restart it
                run.pop()
                close_run()
                run.append((op, av))
            continue
        close_run()
        inner = None
        if op is c.SUBPATTERN and not (av[1] & re.IGNORECASE):
            inner = _required(list(av[3]), flags)
        elif op is c.MAX_REPEAT and av[0] >= 1:
            inner = _required(list(av[2]), flags)
        elif op is c.BRANCH:
            branches = [_required(list(b), flags) for b in av[1]]
            if all(b is not None for b in branches):
                inner = frozenset().union(*branches)
        if inner:
            candidates.append(inner)
    close_run()
    if not candidates:
        return None
    return max(candidates, key=lambda lits: (min(map(len, lits)), -len(lits)))


def _keys(pattern: str) -> frozenset[str] | None:
    """Short strings one of which every match of `pattern` holds: the first two characters of
    each literal the pattern requires (found by parsing it), or the literal itself when it is a
    single character. None when the pattern requires no literal (then it is always searched)."""
    from re import _parser

    parsed = _parser.parse(pattern)
    required = _required(list(parsed), parsed.state.flags)
    if not required:
        return None
    if parsed.state.flags & re.IGNORECASE:  # (?i): every spelling of case of the two characters
        return frozenset("".join(chars) for lit in required
                         for chars in itertools.product(*({c.lower(), c.upper()} for c in lit[:2])))
    return frozenset(lit[:2] for lit in required)


def _keys_in(text: str) -> set[str]:
    """The characters and character pairs of `text`, to meet the keys of `_keys`."""
    return {*text, *map(str.__add__, text, text[1:])}


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
        # A pattern is searched only in sentences holding one of its keys (characters or
        # character pairs every match holds); most sentences hold no key of any pattern.
        self._patterns = {name: [(re.compile(p), _keys(p)) for p in spec.patterns]
                          for name, spec in config.signals.items()}
        self._signal_keys = {
            name: (None if any(keys is None for _, keys in patterns)
                   else frozenset().union(*(keys for _, keys in patterns)))
            for name, patterns in self._patterns.items()}
        keyed = list(self._signal_keys.values())
        self._all_keys = (None if any(keys is None for keys in keyed)
                          else frozenset().union(*keyed))
        self._all_cues = frozenset().union(*self._cues.values())
        # each signal's vetoes (its own and the shared context ones) and requirements, one
        # expression each: a sentence is searched once per signal it shows
        self._exclude = {name: _alternation([*spec.exclude, *config.context_exclude])
                         for name, spec in config.signals.items()}
        self._requires = {name: _alternation(spec.requires) for name, spec in config.signals.items()}
        self._resolved = frozenset(config.resolution.resolved)
        self._unresolved = frozenset(config.resolution.unresolved)

    def sentence_signals(self, tokens: Sequence[str]) -> list[str]:
        """Names of the signals found in one sentence."""
        text = "".join(tokens)
        cues = not self._all_cues.isdisjoint(tokens)
        grams = _keys_in(text)
        if not cues and self._all_keys is not None and self._all_keys.isdisjoint(grams):
            return []
        return [name for name in self._cues if self._evidence(name, tokens, text, cues, grams)]

    def _evidence(self, name: str, tokens: Sequence[str], text: str | None = None,
                  cues: bool = True, grams: set[str] | None = None) -> str | None:
        """The cue or pattern match showing signal `name` in a sentence, unless a negator just
        precedes it, an exclude pattern vetoes it or a required context is missing. `cues`:
        False when the sentence holds no cue of any signal; `grams`: `_keys_in(text)`."""
        text = "".join(tokens) if text is None else text
        hit = ((cues and self._find(tokens, self._cues[name]))
               or self._pattern_hit(name, tokens, text, _keys_in(text) if grams is None else grams))
        if hit is None:
            return None
        exclude, requires = self._exclude[name], self._requires[name]
        if (exclude and exclude.search(text)) or (requires and not requires.search(text)):
            return None
        return hit

    def _pattern_hit(self, name: str, tokens: Sequence[str], text: str,
                     grams: set[str]) -> str | None:
        keys = self._signal_keys[name]
        if keys is not None and keys.isdisjoint(grams):
            return None
        for pattern, keys in self._patterns[name]:
            if keys is not None and keys.isdisjoint(grams):
                continue
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
        start = max(0, i - NEGATION_WINDOW)
        return any(t in self._negators and (j + 1 >= i or tokens[j + 1] not in NOT_NEGATING)
                   for j, t in enumerate(tokens[start:i], start))

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

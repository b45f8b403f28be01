"""Aspect mentions: each customer sentence split into clauses about one journey aspect each.

"味道不错，送餐太慢了" is one sentence with two opinions: `use` (味道) positive and `deliver`
(送餐) negative. A sentence is cut into clauses at punctuation, contrast markers (但是, 不过,
可惜, 却, but, ...) and additive markers (而且, 另外, ...). Each clause's aspect term is a cue
phrase of the journey taxonomy (JourneyTagger.match) or a mention-level aspect pattern; when
those point to several stages, a strong cue after a setting ("下单后", "送来的") wins; else an
object word (`objects`: 衣服, 东西) or a topic keyword. A clause with its own aspect opens a
mention; a clause without one belongs to the mention before it ("送餐太慢了，等了一个小时")
unless the stage classifier is sure of another stage for it (`clause_model_confidence`: "店员
态度很好，第二天就收到了货"; never a short judgement such as "挺快的", nor a clause that only
says how long it took: "等了一个小时", "一个小时才到"), or, after a contrast
marker, opens a mention of its own
(aspect-less clauses before a contrast are a mention of their own too). A clause that only states a verdict ("五星好评") names no
aspect. A mention that names only an aspect ("物流、客服都很差") shares the opinion of the
mention after it; one stating a promise ("客服承诺24小时内回电") shares the negative opinion of
the mention that breaks it. A sentence without any aspect term is one mention with the
sentence's own stage.

Sentiment (the configured backend) is blended with word evidence (PolarityLexicon: CX patterns
and words, DUTIR emotions, HowNet's lists as a fallback); a mention placed by the stage
classifier alone needs word evidence to be non-neutral, a plain question or request has its
words damped (`question_damping`; a why/how question about a charge, delay or fault and a request
to stop, "请不要再给我打推销电话了", are complaints), and `negative_stages` (leave) are
negative unless their words say positive. Emotions (nlp/emotions.py) are computed on each
mention's text; offsets are character offsets into the normalised sentence.
"""

from __future__ import annotations

import gc
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from nlp.clause_model import NONE, ClauseInput, ClauseModel
from nlp.config import read_yaml, validate
from nlp.distinct import each_distinct
from nlp.emotions import (
    CX_EMOTIONS,
    POSITIVE_EMOTIONS,
    EmotionLexicon,
    consistent_with,
    hownet_lists,
)
from nlp.errors import ConfigError
from nlp.journey import UNKNOWN, JourneyTagger, StageResult
from nlp.sentiment.base import SentimentBackend, SentimentResult
from nlp.sentiment.neutral import is_question_or_request
from nlp.topics import OUTLIER

MENTION_COLUMNS = [
    "record_id", "channel", "turn_index", "sentence_index", "mention_index", "start_char",
    "end_char",
    "text", "aspect", "stage", "stage_method", "touchpoint", "topic_id", "sentiment_label",
    "sentiment_score", "sentiment_confidence", "emotions", "emotion_scores",
]

_BOUNDARY = re.compile(r"[，,；;。！!？?：:、\n]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
# Markers that open a new clause wherever they occur, and the part of them that is a contrast.
_SPLIT_MARKER = re.compile(
    r"但是|可是|然而|不过|(?<![不非])但(?![愿凡])|(?<![冷退])却|而且|并且|可惜"
    r"|(?i:\b(?:but|however|though)\b)")
_CONTRAST = re.compile(r"^(?:但是|可是|然而|不过|但|却|可惜|只是|就是|可|倒是|结果|好在|实际"
                       r"|(?i:but|however|though)\b)")
# A contrast inside a clause ("理财产品收益倒是一直还行", "其他倒还好"): the clause has its own
# opinion.
_CONTRAST_INSIDE = re.compile(r"倒是|倒还|倒也|反而|反倒")
# A clause stating what was promised or expected ("客服承诺24小时内回电", "说好15天发货"): when
# the next mention breaks it, it shares that mention's (negative) opinion.
_SETUP = re.compile(r"承诺|说好|说是|明明|号称|本来以为|原以为|以为|写的是|写着|宣传的是|标的是|标着"
                    r"|(广告|宣传|介绍|页面|详情|活动|客服|经理|销售|店员|营业员)[上里中]?(说|写|讲|保证)")
# Tokens after which a cue is the setting, not the subject ("下单后迟迟不发货",
# "送来的面咸得没法吃"): a strong cue after them names the clause's aspect.
_SETTING = frozenset({"后", "时", "时候", "的时候", "之后", "以后", "之前", "前", "的", "里", "完"})
# "价目表上写的贵了一倍", "广告说的礼品没寄": after what was said or written, 的 introduces its
# content, not a setting.
_SAID = re.compile(r"(说|写|讲|标|承诺|宣传|介绍)$")
# Words at the start of a clause that are not part of what it says about the aspect.
_LEAD = re.compile(
    r"^(?:(?:嗯+|呃+|啊|那个|就是说|就是|只是|不过|但是|可是|然而|但|却|而且|并且|另外|还有|同时"
    r"|可惜|虽然|虽说|尽管|然后|结果|所以|反正|总之|喂|哎|好在|实际上|实际"
    r"|(?i:but|however|though)\b)[，,\s…]*)+")
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
_FUNCTION = re.compile(r"[的了也都还和与及跟很太真挺都就是在]")


class PolaritySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(0.6, ge=0, le=1)  # share of the lexicon in the clause score
    band: float = Field(0.15, ge=0, lt=1)  # |score| below it is neutral
    positive: list[str] = Field(default_factory=list)
    negative: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)  # HowNet words that say nothing here
    # regular expressions counted like a word each ("等了一周", "第二天就到")
    positive_patterns: list[str] = Field(default_factory=list)
    negative_patterns: list[str] = Field(default_factory=list)
    # mentions of these stages are negative unless their words say positive (churn is a loss)
    negative_stages: list[str] = Field(default_factory=list)
    # a mention placed by the stage classifier only (no aspect term) needs word evidence for
    # a polarity; otherwise it is neutral and yields no (stage, polarity) pair
    model_needs_evidence: bool = True
    general_fallback: bool = False  # ... only when no CX word or pattern is found
    emotion_weight: float = Field(0.0, ge=0)  # weight of DUTIR emotions as polarity words
    # word evidence of a plain question or request ("能帮我改一下地址吗") is multiplied by this:
    # asking is no opinion (nlp/sentiment/neutral.py; rhetorical questions are not damped)
    question_damping: float = Field(1.0, ge=0, le=1)


class RelabelSpec(BaseModel):
    """How the clause model's labels become mentions (nlp/clause_model.py)."""

    model_config = ConfigDict(extra="forbid")

    # a clause whose stage probability is below this states no opinion (neutral)
    min_stage_confidence: float = Field(0.0, ge=0, le=1)
    # a clause whose polarity probability is below this is neutral
    min_polarity_confidence: float = Field(0.0, ge=0, le=1)
    # a clause of the stage of the mention before it, with the other polarity, joins that
    # mention when it opens no contrast and its polarity probability is below this
    join_below: float = Field(0.0, ge=0, le=1)


class MentionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    aspects: dict[str, list[str]] = Field(default_factory=dict)  # stage -> extra regexes
    # stage -> regexes of things named only as an object ("衣服", "东西"): the clause's aspect
    # when it has no cue or aspect term of any stage
    objects: dict[str, list[str]] = Field(default_factory=dict)
    polarity: PolaritySpec = Field(default_factory=PolaritySpec)
    verdict: str = ""  # regex of clauses that only state an overall verdict (no aspect)
    # a clause without an aspect term after a mention ("客服帮我催了发货，第二天就收到了") opens
    # its own mention when the stage model gives it another stage with at least this
    # confidence; None: it always joins the mention before it
    clause_model_confidence: float | None = Field(None, ge=0, le=1)
    relabel: RelabelSpec = Field(default_factory=RelabelSpec)


def load_mention_config(path) -> MentionConfig:
    config: MentionConfig = validate(MentionConfig, read_yaml(path), [path])
    keyed = [(f"aspects.{stage}", patterns) for stage, patterns in config.aspects.items()]
    keyed += [(f"objects.{stage}", patterns) for stage, patterns in config.objects.items()]
    keyed += [("verdict", [config.verdict] if config.verdict else [])]
    keyed += [("polarity.positive_patterns", config.polarity.positive_patterns),
              ("polarity.negative_patterns", config.polarity.negative_patterns)]
    for key, patterns in keyed:
        for number, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"'{path}' key '{key}.{number}': invalid regular "
                                  f"expression: {exc}") from exc
    return config


def aspect_tagger(tagger: JourneyTagger, tokenize: Callable[[str], list[str]],
                  config: MentionConfig) -> JourneyTagger:
    """The journey tagger with the mention config's aspect patterns added to its stages."""
    if not config.aspects:
        return tagger
    taxonomy = tagger.taxonomy.model_copy(deep=True)
    unknown = sorted(set(config.aspects) - set(taxonomy.stages))
    if unknown:
        raise ConfigError(f"mention aspects name stages the taxonomy lacks: {unknown}")
    for stage, patterns in config.aspects.items():
        taxonomy.stages[stage].patterns.extend(patterns)
    return JourneyTagger(taxonomy, tokenize, tagger.min_confidence, tagger.model)


_CLAUSE_PUNCT = re.compile(r"[，,。！？!?；;]")
# Negating words whose negator is not their first or last character (HowNet lists 无, 未 alone)
_WORD_NEGATORS = frozenset({"无法", "未能", "毫无", "从未", "并未", "尚未", "未曾", "无从"})
# Tokens that start or end with 不/没/别 but negate nothing: 网络不断掉线, 手机不停闪退,
# 差不多扣了我两百块, 别人家的, 特别慢. 不错 negates only its own 错.
_NOT_NEGATING = frozenset({
    "不断", "不停", "不仅", "不光", "不但", "不过", "只不过", "差不多", "别人", "特别", "不少",
    "不错", "不久", "不管", "不论", "不只", "不止", "不禁", "不得不", "没想到", "分别", "区别",
    "告别", "级别", "类别", "别的", "别人家", "不一会", "不一会儿"})


def _any_of(patterns: Sequence[str]) -> re.Pattern | None:
    """One regex that matches where any of `patterns` does (to skip texts none of them is in);
    None when they cannot be combined safely (backreferences, clashing group names)."""
    if not patterns or any(re.search(r"\\[1-9]|\(\?P=", p) for p in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns))
    except re.error:
        return None


class PolarityLexicon:
    """Clause polarity in [-1, 1] from HowNet's word lists (tokens) and the config's CX words
    (substrings); a negator just before a word flips it."""

    def __init__(self, spec: PolaritySpec, lists: dict[str, Sequence[str]] | None = None) -> None:
        lists = hownet_lists() if lists is None else lists
        self.spec = spec
        # HowNet's one-character entries (是, 想, 肉, 疼) and `ignore` are noise in feedback
        ignore = set(spec.ignore)
        self.positive = frozenset(w for w in lists.get("pos", ()) if len(w) > 1 and w not in ignore)
        self.negative = frozenset(w for w in lists.get("neg", ()) if len(w) > 1 and w not in ignore)
        self.negators = frozenset(lists.get("deny", ())) | {"不", "没", "没有", "别"}
        words = [(w, 1) for w in spec.positive] + [(w, -1) for w in spec.negative]
        words.sort(key=lambda wp: -len(wp[0]))
        self._cx = re.compile("|".join(re.escape(w) for w, _ in words)) if words else None
        self._cx_sign = dict(words)
        self._patterns = [(re.compile(p), 1) for p in spec.positive_patterns]
        self._patterns += [(re.compile(p), -1) for p in spec.negative_patterns]
        self._any_pattern = _any_of([*spec.positive_patterns, *spec.negative_patterns])
        self._general = self.positive | self.negative

    def _is_negator(self, token: str) -> bool:
        """不太, 没有, 不会, 无法, 从不, 并没; not 不断, 不停, 差不多, 别人 (_NOT_NEGATING)."""
        if token in _NOT_NEGATING:
            return False
        return (token in self.negators or token in _WORD_NEGATORS or token[0] in "不没别"
                or token[-1] in "不没")

    def _negated(self, text: str, tokens: Sequence[str], at: int) -> bool:
        """A negator token (不太, 没有, 不会, ...; not the 无 of 无线 or the 未 of 未来, nor
        不断, 不停, 差不多, 别人: _NOT_NEGATING) among the two tokens of the same clause that end
        before character `at`, or the word inside a token that starts with its negator
        ("不新鲜"; not the 多扣 of 差不多扣)."""
        window: list[str] = []
        pos = 0
        for token in tokens:
            start = text.find(token, pos)
            if start < 0:
                continue
            pos = start + len(token)
            if pos > at:
                if start < at and (token not in _NOT_NEGATING or token == "不错") \
                        and (at - start == 1 and token[0] in "不没别"
                             or token[:at - start] in self.negators
                             or token[:at - start] in _WORD_NEGATORS):
                    return True  # the word inside a token, right after its negator ("不新鲜")
                break
            window.append(token)
        for token in reversed(window[-2:]):
            if _CLAUSE_PUNCT.search(token):
                return False
            if self._is_negator(token):  # 不太, 没能; 从不, 并没
                return True
        return False

    def evidence(self, text: str, tokens: Sequence[str],
                 general: bool = True) -> tuple[float, int]:
        """(score, number of polarity words and patterns found); `general=False` leaves out
        HowNet's general-purpose lists and counts only the CX words and patterns."""
        total = count = 0.0
        covered: set[int] = set()
        patterns = (self._patterns if self._any_pattern is None or self._any_pattern.search(text)
                    else ())
        for pattern, sign in patterns:  # phrases first: they cover the words inside them
            for match in pattern.finditer(text):
                if covered.intersection(range(match.start(), match.end())):
                    continue
                total += sign
                count += 1
                covered.update(range(match.start(), match.end()))
        if self._cx is not None:
            for match in self._cx.finditer(text):
                if match.start() in covered:
                    continue
                sign = self._cx_sign[match.group()]
                if match.group()[0] not in "不没" and self._negated(text, tokens, match.start()):
                    sign = -sign
                total += sign
                count += 1
                covered.update(range(match.start(), match.end()))
        if count and self.spec.general_fallback:
            general = False  # the curated words and patterns decide when they say anything
        if general and self._general.isdisjoint(tokens):
            general = False  # no general word among the tokens: the loop below adds nothing
        pos = 0
        for i, token in enumerate(tokens if general else ()):
            start = text.find(token, pos)
            pos = start + len(token) if start >= 0 else pos
            if start >= 0 and start in covered:
                continue
            sign = 1 if token in self.positive else -1 if token in self.negative else 0
            if not sign:
                continue
            if any(t in self.negators for t in tokens[max(0, i - 2):i]):
                sign = -sign
            total += sign
            count += 1
        return (total / count if count else 0.0), int(count)

    def blend(self, result: SentimentResult, lexical: float) -> SentimentResult:
        """The backend's score blended with the clause's word evidence (`evidence`)."""
        if lexical == 0.0:
            score = result.score
        else:
            score = (1 - self.spec.weight) * result.score + self.spec.weight * lexical
        if abs(score) < self.spec.band:
            return SentimentResult("neutral", round(score, 4),
                                   round(1.0 - abs(score) / max(self.spec.band, 1e-9) * 0.5, 4))
        label = "positive" if score > 0 else "negative"
        return SentimentResult(label, round(score, 4), round(0.5 + min(1.0, abs(score)) / 2, 4))


@dataclass(slots=True)
class Clause:
    start: int
    end: int
    contrast: bool  # opened by a contrast marker, or holding one (倒是, 反而)
    setup: bool = False  # states a promise or expectation (承诺, 说好, 明明)


def split_clauses(text: str) -> list[Clause]:
    """Clauses of one sentence as character spans (start inclusive, end exclusive), without the
    punctuation around them and without leading discourse or contrast markers."""
    cuts: list[tuple[int, int, bool]] = []  # (start, end, contrast) before trimming
    pos = 0
    pieces = []
    for match in _BOUNDARY.finditer(text):
        pieces.append((pos, match.start()))
        pos = match.end()
    pieces.append((pos, len(text)))
    for start, end in pieces:
        inner = start
        for marker in _SPLIT_MARKER.finditer(text, start, end):
            if marker.start() > inner:
                cuts.append((inner, marker.start(), False))
            inner = marker.start()
        cuts.append((inner, end, False))
    clauses = []
    for start, end, _ in cuts:
        segment = text[start:end]
        contrast = bool(_CONTRAST.match(segment.lstrip("嗯呃啊，, …"))
                        or _CONTRAST_INSIDE.search(segment))
        lead = _LEAD.match(segment)
        if lead:
            start += lead.end()
        while start < end and not _WORD.match(text[start]):
            start += 1
        while end > start and text[end - 1] in " \t…~～":
            end -= 1
        if start < end and _WORD.search(text[start:end]):
            clauses.append(Clause(start, end, contrast, bool(_SETUP.search(text[start:end]))))
    return clauses


@dataclass(slots=True)
class Mention:
    start: int
    end: int
    aspect: str
    stage: str
    stage_method: str  # cue | model | sentence | none
    touchpoint: str | None
    bare: bool = False  # names the aspect only; takes the opinion of the next mention
    setup: bool = False  # states a promise; a broken one (next mention negative) is negative
    topic_id: int = OUTLIER
    sentiment_label: str = "neutral"
    sentiment_score: float = 0.0
    sentiment_confidence: float = 0.0
    emotions: dict[str, float] = field(default_factory=dict)


# The form of a plain question or request, by its last clause: a request verb first or a
# question particle last ("能帮我改一下地址吗", "我想预约保养"). Narrower than the sentence rule
# (nlp/sentiment/neutral.py) it is combined with: "申请退款很快就退了" and "怎么多扣了三十块"
# state an experience.
# Not 需要 / 求, nor 我想 / 想 alone: "需要改进的地方很多", "我想说服务真的很一般" are opinions;
# 想 asks only with a request verb ("我想预约保养", "想咨询一下").
_ASK = re.compile(r"^(?:请问|请|麻烦|劳烦|帮我|帮忙|能不能|能否|可不可以|可以|我要|想要|我需要"
                  r"|我?想(?:要|预约|问|咨询|了解|办|买|申请|退|换|改|取消|查|知道|订|开通|报名|加|升级"
                  r"|续|转|修|约|确认))|(?:吗|呢|么|嘛)?[?？]$|(?:吗|呢|嘛)$")
# A why/how question about a charge, a delay or a fault is a complaint ("请问为什么扣了我两次钱？",
# "怎么还没到"), not a plain question.
_RHETORICAL = re.compile(
    r"(?:为什么|为啥|凭什么|怎么|咋)(?:又|还|都|会|能|就|老是|总是|一直|这么|那么|给我|我)*.{0,6}?"
    r"(?:扣|多收|乱收|收了?我|重复|两次|还没|没到|没收到|没发|没退|不退|不发|不到|不给|不回|没人"
    r"|迟迟|这么慢|那么慢|这么久|那么久|坏|故障|闪退|掉线|断网|卡顿|卡死|卡住|打不开|用不了|不能用"
    r"|失败|出错|搞错|弄错|发错|送错|少发|漏发|不见了|丢了)")
# A request to stop ("请不要再给我打推销电话了", "求求你们别再…") complains about what goes on.
_STOP = re.compile(r"不要再|别再|不要老|别老|不要总|别总|不要一直|别一直|不要天天|别天天|再也不要")


def _asks(text: str) -> bool:
    """A mention whose last clause is a plain question or request (no opinion of its own):
    not a why/how question about a charge, delay or fault, nor a request to stop."""
    last = _CLAUSE_PUNCT.split(text.rstrip("，,。！？!?；; "))[-1].strip()
    return (bool(last) and bool(_ASK.search(last)) and is_question_or_request(last)
            and not _RHETORICAL.search(last) and not _STOP.search(last))


# A clause that only says how long something took ("等了一个小时", "三天才到", "一个多小时了"):
# it is about the mention before (or after) it and never opens a mention through the classifier.
_WAIT = re.compile(r"等了|等到|等待|等候|才(?:到|来|送到|送达|收到|送来|拿到)(?!账)"
                   r"|^(?:又|都|还|足足|整整|快|将近|超过|已经|过了|差不多|大概|至少)*"
                   r"[一二两三四五六七八九十半几\d]+(?:个)?多?(?:小时|分钟|钟头|天|周|星期|礼拜|月)")


def _waits(clause: str) -> bool:
    return bool(_WAIT.search(clause))


def _comment_only(clause: str) -> bool:
    """A clause that is only a short judgement ("挺快的", "很方便", "太慢了"): it comments on the
    mention before it rather than naming an aspect of its own."""
    return len(_WORD.findall(_FUNCTION.sub("", clause))) < 3


def _is_bare(text: str, aspect: str) -> bool:
    rest = text.replace(aspect, "", 1) if aspect else text
    return len(_WORD.findall(_FUNCTION.sub("", rest))) < 2


class MentionExtractor:
    """Splits sentences into aspect mentions and scores them. Pure over batches: sentence texts
    (with each sentence's own stage and topic) in, mentions out. A batch is worked in phases
    (clauses, tokens, cues, one stage-model call, one sentiment call) over its distinct texts."""

    def __init__(self, tokenize: Callable[[str], list[str]], tagger: JourneyTagger,
                 sentiment: SentimentBackend, emotions: EmotionLexicon | None = None,
                 topic_keywords: Mapping[int, Sequence[str]] | None = None,
                 config: MentionConfig | None = None,
                 tokenize_batch: Callable[[Sequence[str]], list[list[str]]] | None = None,
                 clause_model: ClauseModel | None = None) -> None:
        self.tokenize = tokenize
        # relabels every clause after the rules (nlp/clause_model.py); None: the rules alone
        self.clause_model = clause_model
        # `tokenize` of many texts at once (the segmenter's tokens_batch): same tokens, faster
        self.tokenize_batch = tokenize_batch or (lambda texts: [tokenize(t) for t in texts])
        self.config = config or MentionConfig()
        self.tagger = aspect_tagger(tagger, tokenize, self.config)
        self.sentiment = sentiment
        self.emotions = emotions
        self.polarity = PolarityLexicon(self.config.polarity) if self.config.polarity.weight else None
        self._verdict = re.compile(self.config.verdict) if self.config.verdict else None
        self._objects = [(stage, re.compile(p)) for stage, patterns in self.config.objects.items()
                         for p in patterns]
        self.topic_keywords = {int(k): [w.lower() for w in v] for k, v in
                               (topic_keywords or {}).items() if int(k) != OUTLIER}
        # _topic_aspect's search order, and _topic's ranked keywords per topic (sorted by id)
        self._aspect_words = list(dict.fromkeys(w for keywords in self.topic_keywords.values()
                                                for w in keywords[:5]))
        self._ranked = [(topic_id, [(w, 1.0 / (1 + rank)) for rank, w in enumerate(keywords[:10])])
                        for topic_id, keywords in sorted(self.topic_keywords.items())]
        self._topics_of: dict[str, list[int]] = {}  # keyword -> positions in _ranked
        for position, (_, ranked) in enumerate(self._ranked):
            for word, _ in ranked:
                if position not in self._topics_of.setdefault(word, []):
                    self._topics_of[word].append(position)

    def spans(self, text: str, sentence_stage: str = UNKNOWN,
              sentence_touchpoint: str | None = None) -> list[Mention]:
        """The mentions of one sentence, unscored."""
        return self._spans_batch([(text, sentence_stage, sentence_touchpoint)],
                                 _ShardWork(self))[0]

    def _spans_batch(self, items: Sequence[tuple[str, str, str | None]],
                     work: _ShardWork) -> list[list[Mention]]:
        """`spans` of many sentences. The stage model is asked once for every clause without a
        cue; the rare spans it was not asked for (aspect-less clauses before a contrast) are
        collected over the batch, tagged in one call, and those sentences are done again."""
        work.prepare([text for text, _, _ in items])
        out: list[list[Mention]] = [[] for _ in items]
        todo = list(range(len(items)))
        while todo:
            missing: list[list[str]] = []
            retry: list[int] = []
            for i in todo:
                try:
                    out[i] = self._spans(*items[i], work)
                except _Missing as miss:
                    missing.append(miss.args[0])
                    retry.append(i)
            work.tag(missing)
            todo = retry
        return out

    def _spans(self, text: str, sentence_stage: str, sentence_touchpoint: str | None,
               work: _ShardWork) -> list[Mention]:
        clauses = work.clauses[text]
        if not clauses:
            return []
        texts = [text[c.start:c.end] for c in clauses]
        tokens = [work.tokens[t] for t in texts]
        cues = [work.cues[t] for t in texts]
        mentions: list[Mention] = []
        pending: int | None = None  # start of clauses waiting for the next aspect
        for index, (clause, cue, toks) in enumerate(zip(clauses, cues, tokens, strict=True)):
            if pending is not None and clause.contrast:
                # "收到的鞋是假货，不过退款倒是秒批了": what came before a contrast is not its
                self._open_pending(mentions, text, pending, clauses[index - 1].end, work)
                pending = None
            if cue.method == "cue":
                start = clause.start if pending is None else pending
                pending = None
                mentions.append(Mention(start, clause.end, cue.evidence, cue.stage, "cue",
                                        cue.touchpoint, setup=clause.setup))
                continue
            aspect = self._topic_aspect(toks)
            if texts[index] in work.verdicts:
                # "想表扬一下", "强烈推荐": a verdict on what is said around it, no stage of its own
                pass
            elif clause.contrast or not mentions:
                modelled = (work.tagged(toks) if self.tagger.model is not None
                            and (clause.contrast or not _waits(texts[index])) else cue)
                if modelled.method == "model" or (clause.contrast and mentions):
                    # a contrast opens its own opinion even when no stage is sure
                    start = clause.start if pending is None else pending
                    pending = None
                    mentions.append(Mention(start, clause.end, aspect, modelled.stage,
                                            modelled.method if modelled.method == "model"
                                            else "none", modelled.touchpoint,
                                            setup=clause.setup))
                    continue
            placed = (self._own_stage(toks, mentions[-1], work)
                      if mentions and texts[index] not in work.verdicts
                      and not _comment_only(texts[index]) and not _waits(texts[index]) else None)
            if placed is not None:  # mentions exist, so no clauses are pending
                mentions.append(Mention(clause.start, clause.end, aspect, placed.stage, "model",
                                        placed.touchpoint, setup=clause.setup))
                continue
            if mentions:
                mentions[-1].end = clause.end
                mentions[-1].setup = mentions[-1].setup or clause.setup
                if not mentions[-1].aspect and aspect:
                    mentions[-1].aspect = aspect
            elif pending is None:
                pending = clause.start
        if not mentions:  # no aspect anywhere: the whole sentence, with its own stage
            stage = sentence_stage or UNKNOWN
            return [Mention(clauses[0].start, clauses[-1].end,
                            self._topic_aspect(work.token_list(text)), stage,
                            "sentence" if stage != UNKNOWN else "none", sentence_touchpoint)]
        if pending is not None:  # trailing clauses without an aspect: the last mention's
            mentions[-1].end = clauses[-1].end
        for mention in mentions:
            mention.bare = _is_bare(text[mention.start:mention.end], mention.aspect)
        return mentions

    def _own_stage(self, tokens: list[str], before: Mention,
                   work: _ShardWork) -> StageResult | None:
        """The stage model's result for an aspect-less clause when it is sure
        (`clause_model_confidence`) of a stage other than that of the mention before it."""
        threshold = self.config.clause_model_confidence
        if threshold is None or self.tagger.model is None:
            return None
        modelled = work.tagged(tokens)
        if (modelled.method == "model" and modelled.confidence >= threshold
                and modelled.stage != before.stage):
            return modelled
        return None

    def _object(self, clause: str, cue: StageResult) -> StageResult:
        """A clause without any cue that names an object of `objects`: that object's stage."""
        if cue.method == "cue":
            return cue
        for stage, pattern in self._objects:
            if match := pattern.search(clause):
                return StageResult(stage, 0.7, "cue", match.group(), (stage,), cue.touchpoint)
        return cue

    def _polarity(self, result: SentimentResult, mention: Mention, text: str,
                  tokens: Sequence[str], felt: Mapping[str, float]) -> SentimentResult:
        """The backend's result blended with word evidence (patterns, CX words, HowNet, the
        mention's emotions); the evidence rules for classifier-placed and churn mentions."""
        spec = self.config.polarity
        lexical, found = self.polarity.evidence(text, tokens)
        signed = sum(v if e in POSITIVE_EMOTIONS else -v for e, v in felt.items()
                     if e != "surprise") if spec.emotion_weight else 0.0
        if signed:
            lexical = ((lexical * found + spec.emotion_weight * signed)
                       / (found + spec.emotion_weight * len(felt)))
            found += len(felt)
        if _STOP.search(text) or _RHETORICAL.search(text):
            # a request to stop, or why a charge / delay / fault: a complaint however worded
            lexical, found = min(lexical, -1.0) if found else -1.0, max(found, 1)
        elif spec.question_damping < 1.0 and lexical and _asks(text):
            lexical *= spec.question_damping
        result = self.polarity.blend(result, lexical)
        if mention.stage_method == "model" and spec.model_needs_evidence and not found:
            return SentimentResult("neutral", result.score, result.confidence)
        if (mention.stage in spec.negative_stages
                and self.polarity.evidence(text, tokens, general=False)[0] <= 0):
            return SentimentResult("negative", min(result.score, -spec.band), result.confidence)
        return result

    def _head_cue(self, tokens: list[str], cue: StageResult,
                  match: Callable[[list[str]], StageResult] | None = None) -> StageResult:
        """The cue of a clause's subject when its cues point to several stages: a strong cue
        after a setting ("下单后", "送来的", "销户的时候") wins over the cue in the setting."""
        if cue.method != "cue" or len(cue.stages) < 2:
            return cue
        for index, token in enumerate(tokens[:-1]):
            if token not in _SETTING or (token == "的" and index and _SAID.search(tokens[index - 1])):
                continue
            rest = tokens[index + 1:]
            head = match(rest) if match is not None else self.tagger.match([rest])[0]
            if (head.method == "cue" and head.confidence >= 0.75 and head.stage != cue.stage
                    and not self._weak_evidence(head)):
                return StageResult(head.stage, head.confidence, "cue", head.evidence,
                                   cue.stages, cue.touchpoint or head.touchpoint,
                                   head.cue_tokens)
        return cue

    def _weak_evidence(self, result: StageResult) -> bool:
        """A cue result resting on a weak cue ("开户时柜员态度很差": 柜员, 态度 name no subject
        strongly enough to outrank the purchase setting)."""
        spec = self.tagger.taxonomy.stages.get(result.stage)
        return spec is not None and result.evidence in spec.weak_cues

    def _open_pending(self, mentions: list[Mention], text: str, start: int, end: int,
                      work: _ShardWork) -> None:
        """Clauses without an aspect before a contrast: their own mention, placed by the stage
        classifier when it is sure, else unplaced."""
        toks = work.token_list(text[start:end])
        modelled = (work.tagged(toks) if self.tagger.model is not None
                    else StageResult(UNKNOWN, 0.0, "none", ""))
        mentions.append(Mention(start, end, self._topic_aspect(toks), modelled.stage,
                                "model" if modelled.method == "model" else "none",
                                modelled.touchpoint, setup=bool(_SETUP.search(text[start:end]))))

    def _topic_aspect(self, tokens: Sequence[str]) -> str:
        """The first of the topics' top five keywords (topics in their given order) in `tokens`."""
        if not self._aspect_words:
            return ""
        lowered = {t.lower() for t in tokens}
        for word in self._aspect_words:
            if word in lowered:
                return word
        return ""

    def _topic_used(self, tokens: Sequence[str]) -> int | None:
        """The topic whose top keywords the mention uses most (earlier keywords weigh more);
        None when no topic keyword is used."""
        lowered = {t.lower() for t in tokens}
        used = sorted({p for t in lowered for p in self._topics_of.get(t, ())})
        best, best_score = None, 0.0
        for topic_id, ranked in (self._ranked[p] for p in used):  # a topic without any scores 0
            score = sum(weight for w, weight in ranked if w in lowered)
            if score > best_score:
                best, best_score = topic_id, score
        return best

    def extract(self, texts: Sequence[str], stages: Sequence[str] | None = None,
                touchpoints: Sequence[str | None] | None = None,
                topics: Sequence[int] | None = None) -> list[list[Mention]]:
        """Scored mentions for each sentence: one sentiment call over every distinct mention
        text. A sentence repeated with the same stage, touchpoint and topic is worked on once;
        each repeat gets mentions of its own (copies)."""
        n = len(texts)
        stages = stages if stages is not None else [UNKNOWN] * n
        touchpoints = touchpoints if touchpoints is not None else [None] * n
        topics = topics if topics is not None else [OUTLIER] * n
        keys = [(t, s or UNKNOWN, tp, int(topic)) for t, s, tp, topic in
                zip(texts, stages, touchpoints, topics, strict=True)]
        position: dict[tuple[str, str, str | None, int], int] = {}
        for key in keys:
            position.setdefault(key, len(position))
        unique = list(position)
        with _gc_paused():
            work = _ShardWork(self)
            # spans do not depend on the topic: once per text, stage and touchpoint
            topics_left = Counter(key[:3] for key in unique)
            spans_of = dict(zip(topics_left, self._spans_batch(list(topics_left), work),
                                strict=True))
            per_sentence: list[list[Mention]] = []
            for key in unique:
                spans = spans_of[key[:3]]
                per_sentence.append(spans)
                topics_left[key[:3]] -= 1
                if topics_left[key[:3]]:  # the sentence's next topic gets objects of its own
                    spans_of[key[:3]] = [_copy(m) for m in spans]
            self._score(unique, per_sentence, work)
            if self.clause_model is not None:
                self._relabel(unique, per_sentence, work)
        out: list[list[Mention]] = []
        used = [False] * len(unique)
        for key in keys:
            j = position[key]
            if used[j]:
                out.append([_copy(m) for m in per_sentence[j]])
            else:
                used[j] = True
                out.append(per_sentence[j])
        return out

    def clause_inputs(self, texts: Sequence[str], stages: Sequence[str] | None = None,
                      touchpoints: Sequence[str | None] | None = None
                      ) -> list[tuple[list[Clause], list[ClauseInput]]]:
        """Each sentence's clauses and what the clause model reads of them, from the rules'
        mentions (the clause model itself is not applied): the training examples' features."""
        n = len(texts)
        keys = [(t, s or UNKNOWN, tp, OUTLIER) for t, s, tp in
                zip(texts, stages or [UNKNOWN] * n, touchpoints or [None] * n, strict=True)]
        with _gc_paused():
            work = _ShardWork(self)
            per_sentence = self._spans_batch([k[:3] for k in keys], work)
            self._score(keys, per_sentence, work)
            return self._clause_inputs(keys, per_sentence, work)

    def _clause_inputs(self, sentences: Sequence[tuple[str, str, str | None, int]],
                       per_sentence: Sequence[Sequence[Mention]], work: _ShardWork
                       ) -> list[tuple[list[Clause], list[ClauseInput]]]:
        out = []
        for (text, sentence_stage, _, _), mentions in zip(sentences, per_sentence, strict=True):
            clauses = work.clauses[text]
            own: list[list[str]] = []
            for clause in clauses:
                ct = text[clause.start:clause.end]
                own.append(self._clause_view(ct, clause, _covering(mentions, clause), work))
            inputs = []
            for i, clause in enumerate(clauses):
                features = [*own[i], f"ss:{sentence_stage}",
                            "first" if i == 0 else "", "last" if i == len(clauses) - 1 else ""]
                for prefix, j in (("p", i - 1), ("n", i + 1)):  # the neighbours' words and rule view
                    if 0 <= j < len(clauses):
                        features += [prefix + f for f in own[j] if f.startswith(_CONTEXT)]
                    else:
                        features.append(f"{prefix}:edge")
                inputs.append(ClauseInput(text[clause.start:clause.end],
                                          [f for f in features if f]))
            out.append((clauses, inputs))
        return out

    def _clause_view(self, text: str, clause: Clause, mention: Mention | None,
                     work: _ShardWork) -> list[str]:
        """What the rules say about one clause, as feature words. (The word evidence and the
        sentiment backend's score of the clause itself add nothing on held-out documents: the
        rule mention's polarity carries them.)"""
        tokens = work.tokens[text]
        cue = work.cues[text]
        features = [f"w:{t}" for t in tokens]
        if cue.method == "cue":
            features += [f"cue:{cue.stage}", *(f"cus:{s}" for s in cue.stages)]
        if mention is not None:
            features += [f"rs:{mention.stage}", f"rp:{mention.sentiment_label}",
                         f"rm:{mention.stage_method}",
                         f"rx:{mention.stage}/{mention.sentiment_label}"]
        flags = {"contrast": clause.contrast, "setup": clause.setup, "asks": _asks(text),
                 "waits": _waits(text), "comment": _comment_only(text),
                 "verdict": text in work.verdicts, "stop": bool(_STOP.search(text)),
                 "why": bool(_RHETORICAL.search(text))}
        return features + [f"f:{name}" for name, on in flags.items() if on]

    def _relabel(self, sentences: Sequence[tuple[str, str, str | None, int]],
                 per_sentence: list[list[Mention]], work: _ShardWork) -> None:
        """Every sentence's mentions again from the clause model's stage and polarity per
        clause: adjacent clauses of one stage and polarity are one mention (a neutral clause
        joins the mention of its stage before it), a clause about no stage belongs to the
        mention before it (or, first, to the one after it)."""
        inputs = self._clause_inputs(sentences, per_sentence, work)
        predicted = iter(each_distinct(  # a clause repeated in the same context: once
            [i for _, ins in inputs for i in ins], self.clause_model.predict,
            key=lambda i: (i.text, i.meta())))
        relabelled = []
        for key, (clauses, ins), rules in zip(sentences, inputs, per_sentence, strict=True):
            labels = [next(predicted) for _ in ins]
            relabelled.append(self._clause_mentions(key, clauses, labels, rules, work))
        per_sentence[:] = relabelled

    def _unplaceable(self, text: str, clause: Clause, rules: Sequence[Mention],
                     work: _ShardWork) -> bool:
        """A clause of one or two words that no cue, rule mention or sentence stage places
        ("在吗", "你好"): too little for the model to place alone (chats open with them)."""
        if not _comment_only(text) or work.cues[text].method == "cue":
            return False
        rule = _covering(rules, clause)
        return rule is None or rule.stage == UNKNOWN

    def _clause_mentions(self, key: tuple[str, str, str | None, int], clauses: list[Clause],
                         labels: Sequence[tuple[str, float, str, float, float]],
                         rules: Sequence[Mention], work: _ShardWork) -> list[Mention]:
        text, _, sentence_touchpoint, topic = key
        if not clauses:
            return []
        mentions: list[Mention] = []
        pending: int | None = None
        spec = self.config.relabel
        for clause, (stage, stage_p, polarity, confidence, score) in zip(clauses, labels,
                                                                         strict=True):
            if stage != NONE and self._unplaceable(text[clause.start:clause.end], clause, rules,
                                                   work):
                stage = NONE
            if stage == NONE:
                if mentions:
                    mentions[-1].end = clause.end
                elif pending is None:
                    pending = clause.start
                continue
            if stage_p < spec.min_stage_confidence or confidence < spec.min_polarity_confidence:
                # unsure: no opinion, and no score to pull a pain point's mean sentiment
                polarity, score, confidence = "neutral", 0.0, 0.0
            last = mentions[-1] if mentions else None
            if last is not None and last.stage == stage and (
                    polarity in (last.sentiment_label, "neutral")  # "客服态度太差了，我很生气"
                    or (not clause.contrast and confidence < spec.join_below)):
                last.end = clause.end
                if polarity == last.sentiment_label and abs(score) > abs(last.sentiment_score):
                    last.sentiment_score, last.sentiment_confidence = score, confidence
                continue
            ct = text[clause.start:clause.end]
            cue, rule = work.cues[ct], _covering(rules, clause)
            if cue.method == "cue" and cue.stage == stage:
                aspect, touchpoint = cue.evidence, cue.touchpoint
            elif rule is not None and rule.stage == stage:
                aspect, touchpoint = rule.aspect, rule.touchpoint
            else:
                aspect, touchpoint = self._topic_aspect(work.tokens[ct]), None
            mentions.append(Mention(clause.start if pending is None else pending, clause.end,
                                    aspect, stage, "clause", touchpoint,
                                    sentiment_label=polarity, sentiment_score=score,
                                    sentiment_confidence=confidence))
            pending = None
        if not mentions:  # no clause about a stage: the sentence is one unplaced mention, with
            # the rules' strongest opinion ("你好，在吗" is neutral)
            strongest = max(rules, key=lambda m: abs(m.sentiment_score),
                            default=Mention(0, 0, "", UNKNOWN, "none", None))  # neutral, 0
            mentions = [Mention(clauses[0].start, clauses[-1].end,
                                self._topic_aspect(work.token_list(text)), UNKNOWN, "none",
                                sentence_touchpoint, sentiment_label=strongest.sentiment_label,
                                sentiment_score=strongest.sentiment_score,
                                sentiment_confidence=strongest.sentiment_confidence)]
        spans = [text[m.start:m.end] for m in mentions]
        work.tokenize(spans)
        for mention, span in zip(mentions, spans, strict=True):
            tokens = work.tokens[span]
            felt = self.emotions.score(tokens) if self.emotions is not None else {}
            mention.emotions = consistent_with(dict(felt), mention.sentiment_label)
            used = self._topic_used(tokens)
            mention.topic_id = topic if used is None else used
        return mentions

    def _score(self, sentences: Sequence[tuple[str, str, str | None, int]],
               per_sentence: list[list[Mention]], work: _ShardWork) -> None:
        """Sentiment, polarity, topic and emotions of every mention (in place), then the bare
        and promise rules, merging and emotion consistency per sentence."""
        flat = [(sentences[i], m) for i, ms in enumerate(per_sentence) for m in ms]
        mention_texts = [key[0][m.start:m.end] for key, m in flat]
        distinct = list(dict.fromkeys(mention_texts))
        predicted = self.sentiment.predict(distinct) if distinct else []
        results = dict(zip(distinct, predicted, strict=True))
        work.tokenize(distinct)
        felt_of: dict[str, dict[str, float]] = {}
        polarity_of: dict[tuple[str, str, str], SentimentResult] = {}
        topic_of: dict[str, int | None] = {}
        for (key, mention), text in zip(flat, mention_texts, strict=True):
            result = results[text]
            toks = work.tokens[text]
            felt = felt_of.get(text)
            if felt is None:
                felt = felt_of[text] = (self.emotions.score(toks) if self.emotions is not None
                                        else {})
            if self.polarity is not None:
                cached = (text, mention.stage_method, mention.stage)
                scored = polarity_of.get(cached)
                if scored is None:
                    scored = polarity_of[cached] = self._polarity(result, mention, text, toks,
                                                                  felt)
                result = scored
            mention.sentiment_label = result.label
            mention.sentiment_score = float(result.score)
            mention.sentiment_confidence = float(result.confidence)
            if text not in topic_of:
                topic_of[text] = self._topic_used(toks)
            topic = topic_of[text]
            mention.topic_id = key[3] if topic is None else topic
            mention.emotions = dict(felt)
        for mentions in per_sentence:  # "物流、客服都很差": the bare aspect shares the opinion
            for mention, after in zip(mentions, mentions[1:], strict=False):
                broken = mention.setup and after.sentiment_label == "negative"
                if (mention.bare and mention.sentiment_label == "neutral") or broken:
                    mention.sentiment_label = after.sentiment_label
                    mention.sentiment_score = after.sentiment_score
                    mention.sentiment_confidence = after.sentiment_confidence
        per_sentence[:] = [merge_adjacent(ms) for ms in per_sentence]
        for mention in (m for ms in per_sentence for m in ms):
            mention.emotions = consistent_with(mention.emotions, mention.sentiment_label)


def _copy(m: Mention) -> Mention:
    """A copy with its own emotions dict (dataclasses.replace is several times slower)."""
    return Mention(m.start, m.end, m.aspect, m.stage, m.stage_method, m.touchpoint, m.bare,
                   m.setup, m.topic_id, m.sentiment_label, m.sentiment_score,
                   m.sentiment_confidence, dict(m.emotions))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch is extracted: the batch allocates millions of
    small acyclic objects (freed by reference counting), and the full collections they trigger
    walk every model object of the process again and again (about a fifth of the CPU time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Missing(Exception):  # noqa: N818 - control flow, never leaves the extractor
    """A stage-model result that the shard's batch has not computed yet."""


class _ShardWork:
    """Per-batch caches of the extractor's pure per-text steps: clauses per sentence, tokens,
    cue results per clause, stage-model results per token list (filled in batched calls), and
    word evidence per mention text. Sentences and clauses repeat a lot within a shard ("好的",
    recombined complaint lines), and the sentiment backend and stage model are vectorised, so
    each distinct text is worked on once and the models are called once per phase."""

    def __init__(self, extractor: MentionExtractor) -> None:
        self.ex = extractor
        self.clauses: dict[str, list[Clause]] = {}
        self.tokens: dict[str, list[str]] = {}
        self.cues: dict[str, StageResult] = {}
        self.tags: dict[tuple[str, ...], StageResult] = {}
        self.heads: dict[tuple[str, ...], StageResult] = {}
        self.verdicts: set[str] = set()  # clauses that only state an overall verdict

    def tokenize(self, texts: Sequence[str]) -> None:
        todo = [t for t in dict.fromkeys(texts) if t not in self.tokens]
        if todo:
            self.tokens.update(zip(todo, self.ex.tokenize_batch(todo), strict=True))

    def token_list(self, text: str) -> list[str]:
        tokens = self.tokens.get(text)
        if tokens is None:
            tokens = self.tokens[text] = self.ex.tokenize(text)
        return tokens

    def prepare(self, texts: Sequence[str]) -> None:
        """Clauses of every sentence, their tokens and cue results in one pass per phase, and
        the stage model, in one call, over every clause that `_spans` may ask it about: those
        without a cue that open a contrast or come before the sentence's first cue."""
        ex = self.ex
        clause_texts: dict[str, None] = {}
        for text in texts:
            if text not in self.clauses:
                self.clauses[text] = split_clauses(text)
            for c in self.clauses[text]:
                clause_texts[text[c.start:c.end]] = None
        todo = [t for t in clause_texts if t not in self.cues]
        self.tokenize(todo)
        matched = ex.tagger.match([self.tokens[t] for t in todo]) if todo else []
        for clause, raw in zip(todo, matched, strict=True):
            cue = ex._head_cue(self.tokens[clause], raw, self.head_match)
            if ex._objects:
                cue = ex._object(clause, cue)
            if ex._verdict is not None and ex._verdict.match(clause):
                cue = StageResult(UNKNOWN, 0.0, "none", "")
                self.verdicts.add(clause)
            self.cues[clause] = cue
        if ex.tagger.model is None:
            return
        raw = dict(zip(todo, matched, strict=True))
        ask: dict[str, None] = {}
        for text in texts:
            cue_seen = False
            for c in self.clauses[text]:
                clause = text[c.start:c.end]
                if self.cues[clause].method == "cue":
                    cue_seen = True
                elif (c.contrast or not cue_seen or self.ex.config.clause_model_confidence
                      is not None) and clause in raw:
                    ask[clause] = None
        self.tag([self.tokens[t] for t in ask], [raw[t] for t in ask])

    def head_match(self, tokens: list[str]) -> StageResult:
        key = tuple(tokens)
        result = self.heads.get(key)
        if result is None:
            result = self.heads[key] = self.ex.tagger.match([tokens])[0]
        return result

    def tag(self, token_lists: Sequence[list[str]],
            matched: Sequence[StageResult] | None = None) -> None:
        """`tagger.tag` of every token list not tagged yet, in one call; with their `match`
        results known (`matched`), only the stage model is run."""
        todo: dict[tuple[str, ...], int] = {}
        for i, tokens in enumerate(token_lists):
            key = tuple(tokens)
            if key not in self.tags and key not in todo:
                todo[key] = i
        if not todo:
            return
        tagger = self.ex.tagger
        sentences = [list(key) for key in todo]
        if matched is not None and hasattr(tagger, "needs_model"):
            results = tagger.tag_matched(sentences, [matched[i] for i in todo.values()])
        else:
            results = tagger.tag(sentences)
        self.tags.update(zip(todo, results, strict=True))

    def tagged(self, tokens: list[str]) -> StageResult:
        """The stage model's result for `tokens`; _Missing when not computed yet."""
        try:
            return self.tags[tuple(tokens)]
        except KeyError:
            raise _Missing(tokens) from None


# What a clause reads of its neighbours: their cue, the rules' stage and polarity, and their
# words ("态度也好" after "骑手送餐很快" is still the delivery)
_CONTEXT = ("cue:", "rs:", "rp:", "rx:", "w:")


def _covering(mentions: Sequence[Mention], clause: Clause) -> Mention | None:
    """The mention that holds most of `clause`."""
    best, most = None, 0
    for mention in mentions:
        overlap = min(mention.end, clause.end) - max(mention.start, clause.start)
        if overlap > most:
            best, most = mention, overlap
    return best


def merge_adjacent(mentions: list[Mention]) -> list[Mention]:
    """Adjacent mentions of the same placed stage and polarity are one opinion ("团购券买得很划算，
    到店核销也快" is one positive `purchase`): one mention spanning both, with the first aspect,
    the stronger score and each emotion's stronger intensity."""
    out: list[Mention] = []
    for mention in mentions:
        last = out[-1] if out else None
        if (last is None or mention.stage == UNKNOWN or mention.stage != last.stage
                or mention.sentiment_label != last.sentiment_label):
            out.append(mention)
            continue
        last.end = mention.end
        last.aspect = last.aspect or mention.aspect
        last.touchpoint = last.touchpoint or mention.touchpoint
        if abs(mention.sentiment_score) > abs(last.sentiment_score):
            last.sentiment_score = mention.sentiment_score
            last.sentiment_confidence = mention.sentiment_confidence
        merged = dict(last.emotions)
        for name, value in mention.emotions.items():
            merged[name] = max(value, merged.get(name, 0.0))
        last.emotions = dict(sorted(merged.items(),
                                    key=lambda kv: (-kv[1], CX_EMOTIONS.index(kv[0])
                                                    if kv[0] in CX_EMOTIONS else 99)))
    return out


def build_mentions(sentences: pd.DataFrame, extractor: MentionExtractor) -> pd.DataFrame:
    """One row per aspect mention of every customer sentence (the `mentions` table without its
    run keys). `sentences` is the utterances frame: record_id, channel, turn_index,
    sentence_index, role, text and, when present, stage, touchpoint, topic_id."""
    customer = sentences[sentences["role"] == "customer"]
    if customer.empty:
        return pd.DataFrame(columns=MENTION_COLUMNS)

    def column(name: str, default):
        return customer[name].tolist() if name in customer else [default] * len(customer)

    stages = [s if isinstance(s, str) else UNKNOWN for s in column("stage", UNKNOWN)]
    touchpoints = [t if isinstance(t, str) else None for t in column("touchpoint", None)]
    topics = [int(t) if pd.notna(t) else OUTLIER for t in column("topic_id", OUTLIER)]
    texts = customer["text"].tolist()
    extracted = extractor.extract(texts, stages, touchpoints, topics)
    return _mention_frame(customer, texts, extracted)


def _mention_frame(customer: pd.DataFrame, texts: Sequence[str],
                   extracted: Sequence[Sequence[Mention]]) -> pd.DataFrame:
    """The mention rows, built column by column."""
    columns: dict[str, list] = {name: [] for name in MENTION_COLUMNS}
    (record_ids, channels, turns, sentence_indices, mention_indices, starts, ends, mention_texts,
     aspects, stages, methods, touchpoints, topic_ids, labels, scores, confidences, emotions,
     emotion_scores) = (columns[name] for name in MENTION_COLUMNS)
    dumped: dict[tuple[tuple[str, float], ...], str] = {}
    keys = zip(customer["record_id"].tolist(), customer["channel"].tolist(),
               customer["turn_index"].tolist(), customer["sentence_index"].tolist(), strict=True)
    for (record_id, channel, turn, sentence), text, mentions in zip(keys, texts, extracted,
                                                                    strict=True):
        for index, m in enumerate(mentions):
            record_ids.append(record_id)
            channels.append(channel)
            turns.append(int(turn))
            sentence_indices.append(int(sentence))
            mention_indices.append(index)
            starts.append(m.start)
            ends.append(m.end)
            mention_texts.append(text[m.start:m.end])
            aspects.append(m.aspect)
            stages.append(m.stage)
            methods.append(m.stage_method)
            touchpoints.append(m.touchpoint)
            topic_ids.append(m.topic_id)
            labels.append(m.sentiment_label)
            scores.append(round(m.sentiment_score, 4))
            confidences.append(round(m.sentiment_confidence, 4))
            emotions.append(list(m.emotions))
            key = tuple(m.emotions.items())
            if key not in dumped:
                dumped[key] = json.dumps(m.emotions, ensure_ascii=False)
            emotion_scores.append(dumped[key])
    if not record_ids:
        return pd.DataFrame([], columns=MENTION_COLUMNS)
    return pd.DataFrame(columns, columns=MENTION_COLUMNS)


def mentions_as_sentences(mentions: pd.DataFrame) -> pd.DataFrame:
    """Mention rows shaped like customer utterance rows, so that nlp.painpoints.build_painpoints
    counts mentions instead of sentences: "味道不错，送餐太慢了" then adds a positive to `use`
    and a negative to `deliver` instead of one mixed sentence to one stage."""
    frame = mentions.assign(role="customer")
    return frame[["record_id", "channel", "turn_index", "sentence_index", "mention_index", "role",
                  "text", "stage", "touchpoint", "topic_id", "sentiment_label", "sentiment_score",
                  "sentiment_confidence"]].reset_index(drop=True)


def mention_pairs(mentions: Sequence[Mention]) -> set[tuple[str, str]]:
    """(stage, polarity) pairs a piece of feedback expresses: placed, non-neutral mentions."""
    return {(m.stage, m.sentiment_label) for m in mentions
            if m.stage != UNKNOWN and m.sentiment_label != "neutral"}

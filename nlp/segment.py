"""Chinese word segmentation: jieba with the project's user dictionary and stop words."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from sys import intern

import jieba
from spacy.lang.zh.stop_words import STOP_WORDS as SPACY_ZH_STOP_WORDS

log = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)

_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
_PII_TAG = re.compile(r"\[[\u4e00-\u9fff]{2,3}\]")

# Where jieba-rs (rjieba) and jieba part ways, found by comparing both on generated and random text:
# - an ASCII run such as 19-21, cpu-z, 1.320G or 2.USB stays one token in jieba-rs, while jieba's
#   HMM step splits it with finalseg's pattern (19 - 21, cpu - z, 1.320 G, 2 . USB);
# - CJK Extension A and compatibility ideographs are Chinese to jieba-rs but not to jieba.
_ASCII_JOINED = re.compile(r"[A-Za-z0-9][._\-]|[._\-][A-Za-z0-9]")
_RUST_ONLY_HAN = re.compile(r"[\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_ASCII_RUN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+#&._%-")
_FINALSEG_SKIP = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")  # jieba.finalseg.re_skip
# Any character that makes `tokens_batch` go through `tokens`: a PII tag's bracket, whitespace,
# the cases above (a broad test: one character class is the fastest search).
_NOT_PLAIN = re.compile(
    r"[\[\s._\-\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
# Of those, what really needs `tokens`: a PII tag, a line break ("\r\n" is one token), an ASCII
# run joined by . - _, a character only jieba-rs takes for Chinese. A sentence with none of these
# (an ellipsis or full stop after Chinese is fine) needs only its whitespace tokens dropped.
_NEEDS_TOKENS = re.compile(
    r"[\[\r\n\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]"
    r"|[A-Za-z0-9][._\-]|[._\-][A-Za-z0-9]")
_JOIN_CHUNK = 256  # sentences per jieba-rs call


def read_word_list(path: Path) -> list[str]:
    """One entry per line; '#' starts a comment."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()]


def read_user_dict(path: Path) -> list[tuple[str, int | None, str | None]]:
    """jieba's user-dictionary format: `word [freq] [tag]` per line."""
    entries = []
    for line in read_word_list(path):
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[2] if len(parts) > 2 else None
        entries.append((parts[0], freq, tag))
    return entries


CUE_FREQ = 20000  # high enough that multi-character cue phrases come out as one token


class Segmenter:
    """A jieba-compatible tokenizer of its own (no global state), with user words and stop words.

    engine "rjieba" (jieba-rs: same dictionary and algorithm as jieba; the few places where its
    output differs from jieba's are fixed up, so both engines give the same tokens; about 11x the
    throughput of `jieba.lcut` on one core with `tokens_batch`, benchmarks/bench_segment.py) or "jieba" (the
    reference Python implementation)."""

    def __init__(self, userdict: Path | None, stopwords: Path | None,
                 extra_words: Iterable[str] = (), engine: str = "rjieba"):
        self.engine = engine
        self._words: list[tuple[str, int, str | None]] = []  # for the lazy reference tokenizer
        self._reference_tokenizer: jieba.Tokenizer | None = None
        if engine == "rjieba":
            import rjieba

            self._rust = rjieba.Jieba()
            self._cut = self._cut_rust
        elif engine == "jieba":
            self._tokenizer = jieba.Tokenizer()
            self._tokenizer.initialize()
            self._cut = self._cut_python
        else:
            raise ValueError(f"unknown segmentation engine '{engine}' (rjieba or jieba)")
        if userdict is not None and userdict.is_file():
            for word, freq, tag in read_user_dict(userdict):
                self.add_word(word, freq, tag)
        for word in extra_words:
            self.add_word(word)
        own = read_word_list(stopwords) if stopwords is not None and stopwords.is_file() else []
        self.stopwords: frozenset[str] = frozenset(own) | SPACY_ZH_STOP_WORDS

    def add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> None:
        self._words.append((word, freq or CUE_FREQ, tag))
        if self._reference_tokenizer is not None:
            self._reference_tokenizer.add_word(word, freq=freq or CUE_FREQ, tag=tag)
        if self.engine == "rjieba":
            self._rust.add_word(word, freq or CUE_FREQ, tag)
        else:
            self._tokenizer.add_word(word, freq=freq or CUE_FREQ, tag=tag)

    def _reference(self) -> jieba.Tokenizer:
        """jieba itself with the same words, for the rare text where jieba-rs differs from it."""
        if self.engine == "jieba":
            return self._tokenizer
        if self._reference_tokenizer is None:
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            for word, freq, tag in self._words:
                tokenizer.add_word(word, freq=freq, tag=tag)
            self._reference_tokenizer = tokenizer
        return self._reference_tokenizer

    def tokens(self, text: str) -> list[str]:
        """All tokens with whitespace removed; PII tags such as [手机号] stay single tokens."""
        out: list[str] = []
        pos = 0
        for match in _PII_TAG.finditer(text):
            out.extend(self._cut(text[pos : match.start()]))
            out.append(match.group())
            pos = match.end()
        out.extend(self._cut(text[pos:]))
        return out

    def _cut_python(self, text: str) -> list[str]:
        return [intern(t) for t in self._tokenizer.lcut(text, HMM=True) if t.strip()]

    def _cut_rust(self, text: str) -> list[str]:
        # Interned: repeated words share one string (the rare sentences that come here; the
        # joined fast path of `_tokens_each` does not intern, interning would cost it a third).
        if _RUST_ONLY_HAN.search(text):  # to jieba these end a block and are tokens of their own
            out: list[str] = []
            pos = 0
            for match in _RUST_ONLY_HAN.finditer(text):
                out += self._cut_rust(text[pos : match.start()])
                out.append(intern(match.group()))
                pos = match.end()
            return out + self._cut_rust(text[pos:])
        tokens = self._rust.cut(text, True)
        if _ASCII_JOINED.search(text):
            tokens = self._as_jieba(tokens)
        return [intern(t) for t in tokens if t.strip()]

    def _as_jieba(self, tokens: list[str]) -> list[str]:
        """jieba-rs tokens with every run of ASCII tokens split as jieba splits it."""
        out: list[str] = []
        run: list[str] = []
        for token in tokens:
            if _ASCII_RUN.issuperset(token):
                run.append(token)
                continue
            if run:
                out += self._ascii_run_as_jieba(run)
                run = []
            out.append(token)
        if run:
            out += self._ascii_run_as_jieba(run)
        return out

    def _ascii_run_as_jieba(self, run: list[str]) -> list[str]:
        """Dictionary words (APP, C++) are jieba's too; the characters between them come to
        jieba's HMM step as one piece, which finalseg splits with its own pattern."""
        out: list[str] = []
        piece: list[str] = []
        for token in [*run, ""]:
            if token and not (len(token) > 1 and self._rust.has_word(token)):
                piece.append(token)
                continue
            text = "".join(piece)
            if len(text) > 1 and self._rust.has_word(text):
                out += self._reference().lcut(text, HMM=True)  # never seen: jieba decides
            elif text:
                out += [p for p in _FINALSEG_SKIP.split(text) if p]
            if token:
                out.append(token)
            piece = []
        return out

    def content_tokens(self, text: str) -> list[str]:
        """Tokens for topic modelling: no stop words, punctuation, PII tags or single characters
        other than Chinese ones that carry meaning on their own (e.g. 贵, 慢)."""
        return self.content_of(self.tokens(text))

    def content_of(self, tokens: Sequence[str]) -> list[str]:
        """`content_tokens` for text already segmented with `tokens`."""
        return [
            t.lower()
            for t in tokens
            if t not in self.stopwords and _WORD.search(t) and not _PII_TAG.fullmatch(t)
            and not t.isdigit()
        ]

    def tokens_batch(self, texts: Sequence[str]) -> list[list[str]]:
        """`tokens` of every text. A text that occurs more than once in `texts` (agent scripts,
        bot greetings) is segmented once; every row still gets a list of its own."""
        unique = list(dict.fromkeys(texts))
        if len(unique) == len(texts):
            return self._tokens_each(texts)
        done = dict(zip(unique, self._tokens_each(unique), strict=True))
        return [list(done[t]) for t in texts]

    def _tokens_each(self, texts: Sequence[str]) -> list[list[str]]:
        """With jieba-rs, most sentences need nothing but jieba-rs: they have no PII tag and none
        of the cases where jieba-rs differs from jieba. Those are cut many at a time, joined by
        a newline: jieba (and jieba-rs) cut each block between non-word characters on its own,
        so the tokens are exactly the sentences' tokens with "\n" between them, and one call
        per chunk instead of one per sentence saves most of the Python-to-Rust overhead."""
        if self.engine != "rjieba":
            return [self.tokens(t) for t in texts]
        out: list[list[str] | None] = [None] * len(texts)
        joinable: list[int] = []
        cut, special, unusual = self._rust.cut, _NOT_PLAIN.search, _NEEDS_TOKENS.search
        for i, text in enumerate(texts):
            if special(text) is None:
                joinable.append(i)
            elif unusual(text) is None:  # jieba-rs alone, whitespace tokens dropped
                out[i] = [t for t in cut(text, True) if not t.isspace()]
            else:
                out[i] = self.tokens(text)
        for start in range(0, len(joinable), _JOIN_CHUNK):
            chunk = joinable[start : start + _JOIN_CHUNK]
            tokens = cut("\n".join([texts[i] for i in chunk]), True)
            begin = 0
            for i in chunk[:-1]:
                end = tokens.index("\n", begin)
                out[i] = tokens[begin:end]
                begin = end + 1
            out[chunk[-1]] = tokens[begin:]
        return out  # type: ignore[return-value]


@lru_cache(maxsize=4)
def get_segmenter(userdict: Path | None, stopwords: Path | None, extra: tuple[str, ...] = (),
                  engine: str = "rjieba") -> Segmenter:
    """One segmenter per process and configuration: loading jieba's dictionary takes a second."""
    log.info("loading %s dictionary (user dict %s, %d extra words)", engine, userdict, len(extra))
    return Segmenter(userdict, stopwords, extra, engine)

"""The fast normalisation paths give exactly what the plain ones give.

nlp/normalize.py skips work a text cannot need: one str.translate for width, zero-width and
control characters (instead of a category lookup per character), OpenCC only on the pieces that
hold a Traditional character, the digit-based PII patterns only on text with enough digits, the
e-mail pattern only with an '@'. The reference below is the straightforward pipeline those
shortcuts replaced; both run on a few thousand generated texts with PII, Traditional characters,
control and zero-width characters, fillers and emoji mixed in.
"""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import date

import pytest

from nlp import normalize as fast
from tests.unit.test_pii_fuzz import GENERATORS, NON_PII, TEMPLATES

# ------------------------------------------------------------------ reference implementation


def ref_strip_control(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf")
        or ch == "\u200d"
    )
    text = fast._SPACES.sub(" ", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def ref_to_simplified(text: str) -> str:
    return fast._t2s().convert(text)


def ref_mask_pii(text: str, names=()) -> str:
    text = fast._EMAIL.sub(fast.PII_TAGS["email"], text)
    text = fast._ID_CARD.sub(fast._mask_ids, text)
    text = fast._CARD.sub(fast._mask_cards, text)
    text = fast._MOBILE.sub(fast.PII_TAGS["mobile"], text)
    text = fast._INTERNATIONAL.sub(fast._mask_international, text)
    text = fast._LANDLINE.sub(fast.PII_TAGS["landline"], text)
    for name in names:
        name = (name or "").strip()
        if len(name) >= 2:
            text = text.replace(name, fast.PII_TAGS["name"])
    return text


def ref_normalize_text(text: str, *, asr=False, simplified=True, max_chars=5000, names=()):
    text = ref_strip_control(fast.to_half_width(text))
    if asr:
        text = fast.clean_asr(text)
    if simplified:
        text = ref_to_simplified(text)
    text = ref_mask_pii(text, names)
    truncated = len(text) > max_chars
    if truncated:
        text = text[:max_chars]
    return text, fast.detect_language(text), truncated


# ------------------------------------------------------------------ corpus

NOISE = ["\r", "\r\n", "\n", "\u200b", "\u200d", "\x00", "\x07", "\t", "\u3000", "\ufeff",
         "\u2028", "\u00a0", "\u202e", "\U000e0041", " ", "＠", "１２３", "Ｑ", "😡", "👨‍👩‍👧",
         "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", "乾", "瞭解", "沈默",
         "覆", "這個服務", "客戶體驗", "嗯 ", "那个，", "呃，", "[噪音]", "<unk>", "我我我", "@"]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    from benchmarks.generate import Generator, load_pools

    gen = Generator(load_pools(), date(2026, 11, 25), seed=11, tag="eq")
    texts: list[str] = []
    for make in (gen.complaint, gen.forum, gen.chat, gen.call):
        for _ in range(150):
            item = make()
            if isinstance(item, list):  # complaint CSV row
                texts.append(item[10])
            else:
                texts += [t["text"] for t in item.get("turns", item.get("segments", []))]
                texts.append(item.get("text", ""))
    rng = random.Random(20261127)
    mixed = []
    for base in texts[:3000]:
        pos = rng.randint(0, len(base))
        values = [rng.choice(GENERATORS + NON_PII)() for _ in range(rng.randint(0, 2))]
        inserted = "，".join(rng.choice(TEMPLATES).format(v) for v in values)
        noise = "".join(rng.choice(NOISE) for _ in range(rng.randint(0, 4)))
        mixed.append(base[:pos] + inserted + noise + base[pos:])
    return texts + mixed


def test_corpus_exercises_every_shortcut(corpus):
    assert len(corpus) > 4000
    assert any("@" in t for t in corpus) and any("\r" in t for t in corpus)
    assert sum(1 for t in corpus if fast._t2s_triggers() & set(t)) > 100
    assert sum(1 for t in corpus if len(re.findall(r"\d", t)) >= 17) > 100


@pytest.mark.parametrize("asr", [False, True])
def test_normalize_text_equals_the_reference(corpus, asr):
    names = ["张三", "李四"]
    for text in corpus:
        got = fast.normalize_text(text, asr=asr, names=names)
        assert (got.text, got.language, got.truncated) == ref_normalize_text(
            text, asr=asr, names=names), repr(text)


def test_each_step_equals_the_reference(corpus):
    for text in corpus:
        assert fast.strip_control(text) == ref_strip_control(text), repr(text)
        assert fast.to_simplified(text) == ref_to_simplified(text), repr(text)
        half = fast.to_half_width(text)
        assert fast.mask_pii(half, ["张三"]) == ref_mask_pii(half, ["张三"]), repr(text)
        assert fast.mask_pii(text) == ref_mask_pii(text), repr(text)  # without to_half_width


def test_truncation_and_simplified_off_match():
    text = "這個服務很差，电话13812345678。" * 40
    for simplified in (False, True):
        got = fast.normalize_text(text, simplified=simplified, max_chars=100)
        assert (got.text, got.language, got.truncated) == ref_normalize_text(
            text, simplified=simplified, max_chars=100)


def test_t2s_triggers_cover_the_conversion_tables():
    """Every character t2s maps to another one is a trigger, and phrases that change without
    such a character (沈默 -> 沉默) have a marker."""
    triggers = fast._t2s_triggers()
    assert triggers is not None and {"這", "個", "乾", "體", "沈", "瞭"} <= triggers
    for phrase in ("沈默", "瞭解", "覆蓋", "乾淨"):
        assert fast.to_simplified(phrase) == ref_to_simplified(phrase)

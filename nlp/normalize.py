"""Text normalisation: encoding, Traditional->Simplified, width, noise, ASR fillers, sentences, PII."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from charset_normalizer import from_bytes

# ---------------------------------------------------------------- encoding


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a file's bytes; returns (text, encoding). UTF-8 (with or without BOM) first, then
    GB18030 (a superset of GBK/GB2312), then charset detection. Raises UnicodeDecodeError."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is None:
        raise UnicodeDecodeError("unknown", data[:16], 0, 1, "no encoding fits these bytes")
    return str(best), best.encoding


# ---------------------------------------------------------------- characters

# Full-width ASCII letters, digits and the symbols PII can contain become half-width; Chinese
# punctuation (，。！？：；) stays, because it carries sentence structure and reads naturally.
_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}  # ０-９
_WIDTH |= {cp: cp - 0xFEE0 for cp in range(0xFF21, 0xFF3B)}  # Ａ-Ｚ
_WIDTH |= {cp: cp - 0xFEE0 for cp in range(0xFF41, 0xFF5B)}  # ａ-ｚ
_WIDTH |= {ord(c): ord(h) for c, h in zip("＠＋－．＿／％＃＆＝￥", "@+-._/%#&=¥", strict=True)}
_WIDTH |= {0x3000: 0x20}  # ideographic space
_ZERO_WIDTH = dict.fromkeys([0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD])
_TRANSLATE = _WIDTH | _ZERO_WIDTH
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f]+")
# Control (Cc) and format (Cf) characters of unicodedata's Unicode version, deleted by one
# str.translate instead of a category lookup per character. Newlines and tabs stay; the
# zero-width joiner stays in `strip_control` (emoji ZWJ sequences; `to_half_width` drops it).
_CONTROL = [cp for cp in range(0x110000) if unicodedata.category(chr(cp)) in ("Cc", "Cf")]
_STRIP_CONTROL = dict.fromkeys(cp for cp in _CONTROL if chr(cp) not in "\n\t\u200d")
# to_half_width + strip_control in one pass for text without '\r' ('\r' becomes a newline
# before controls go, see `_half_width_stripped`).
_HALF_WIDTH_STRIPPED = _STRIP_CONTROL | _TRANSLATE


def _char_class(codepoints: Iterable[int]) -> re.Pattern[str]:
    """A regex matching any of `codepoints` (as ranges: a search is far cheaper than a
    translate, and most texts have nothing to translate)."""
    cps = sorted(codepoints)
    ranges, start, prev = [], cps[0], cps[0]
    for cp in cps[1:]:
        if cp != prev + 1:
            ranges.append((start, prev))
            start = cp
        prev = cp
    ranges.append((start, prev))
    return re.compile("[" + "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges) + "]")


_NEEDS_HALF_WIDTH_STRIPPED = _char_class(_HALF_WIDTH_STRIPPED)


def to_half_width(text: str) -> str:
    return text.translate(_TRANSLATE)


def _tidy_spaces(text: str) -> str:
    """Runs of spaces become one space; every line and the whole text are stripped."""
    text = _SPACES.sub(" ", text)
    if "\n" not in text:
        return text.strip()
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def strip_control(text: str) -> str:
    """Drop control characters except newlines; tabs and odd spaces become one space."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _tidy_spaces(text.translate(_STRIP_CONTROL))


def _half_width_stripped(text: str) -> str:
    """`strip_control(to_half_width(text))`, in one translate unless the text has a '\r'."""
    if "\r" in text:  # a zero-width or control character between \r and \n must go first
        return strip_control(to_half_width(text))
    if _NEEDS_HALF_WIDTH_STRIPPED.search(text):
        text = text.translate(_HALF_WIDTH_STRIPPED)
    return _tidy_spaces(text)


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _t2s_triggers() -> frozenset[str] | None:
    """Characters without which OpenCC's t2s leaves a text as it is, or None if its dictionaries
    cannot be read (then every text is converted).

    t2s replaces phrases (TSPhrases) and then single characters (TSCharacters), taking the first
    of several readings. A text is unchanged unless it has a character that maps to another one
    or a phrase that changes; phrases whose characters all map to themselves (沈默, 瞭解) are
    covered by one marker character each."""
    from pathlib import Path

    import opencc

    folder = Path(opencc.__file__).parent / "dictionary"

    def read(name: str) -> dict[str, str]:
        pairs = (line.rstrip("\n").split("\t") for line in
                 (folder / name).read_text(encoding="utf-8").splitlines() if line.strip())
        return {key: value.split(" ")[0] for key, value in pairs}

    try:
        chars, phrases = read("TSCharacters.txt"), read("TSPhrases.txt")
    except (OSError, ValueError):
        return None
    triggers = {key for key, value in chars.items() if key != value}
    for phrase, value in phrases.items():
        if phrase != value and triggers.isdisjoint(phrase):
            triggers.add(next((ch for ch in phrase if ch in chars), phrase[0]))
    return frozenset(triggers)


def to_simplified(text: str) -> str:
    """OpenCC t2s. OpenCC converts the pieces between separators independently, so only the
    pieces that contain a Traditional character are handed to it (same output, far less work:
    most feedback has none)."""
    triggers = _t2s_triggers()
    if triggers is None:
        return _t2s().convert(text)
    if triggers.isdisjoint(text):
        return text
    parts = _t2s().split_chars_re.split(text)
    for i in range(0, len(parts), 2):  # even items are text, odd items separators
        if not triggers.isdisjoint(parts[i]):
            parts[i] = _convert_piece(parts[i])
    return "".join(parts)


@lru_cache(maxsize=16384)
def _convert_piece(piece: str) -> str:
    """t2s of one piece between separators (short: a clause; template phrases repeat)."""
    return _t2s().convert(piece)


# ---------------------------------------------------------------- ASR clean-up

_ASR_NOISE = re.compile(r"\[[^\]]{1,8}\]|<unk>|<noise>|\(噪音\)|【[^】]{1,6}】", re.IGNORECASE)
# Fillers that carry no meaning in call transcripts; 那个/然后 only when they stand alone.
_ASR_FILLER = re.compile(r"(?:^|(?<=[\s，。,]))(?:嗯+|呃+|额+|啊+|哦+|唉+|那个|就是说|然后呢?)(?=[\s，。,]|$)")
_ASR_LEADING_FILLER = re.compile(r"^(?:嗯+|呃+|额+|啊+)[，,\s]*")
_STUTTER = re.compile(r"([\u4e00-\u9fff])\1{2,}")  # 我我我 -> 我 (ASR stutter); keeps 谢谢/哈哈


def clean_asr(text: str) -> str:
    """Remove recognition noise tags, standalone fillers and stutters from an ASR segment."""
    text = _ASR_NOISE.sub(" ", text)
    text = _STUTTER.sub(r"\1", text)
    for _ in range(2):  # fillers often come in pairs: 嗯 那个
        text = _ASR_FILLER.sub(" ", text)
    text = _ASR_LEADING_FILLER.sub("", text.strip())
    return _SPACES.sub(" ", text).strip(" ，,")


# ---------------------------------------------------------------- PII masking

PII_TAGS = {
    "email": "[邮箱]",
    "id_card": "[身份证]",
    "bank_card": "[银行卡]",
    "mobile": "[手机号]",
    "landline": "[电话]",
    "name": "[姓名]",
}
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z])\d{4}(?:[ -]?\d{2,4}){2,4}(?![0-9A-Za-z])")
_MOBILE = re.compile(
    r"(?<![0-9A-Za-z])(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![0-9A-Za-z])"
)
# Hong Kong, Macau, Taiwan and other international numbers written with a country code.
_INTERNATIONAL = re.compile(
    r"(?<![0-9A-Za-z])(?:\+\d{1,3}|00(?:852|853|886))[ -]?\d{2,4}(?:[ -]?\d{2,4}){1,3}(?![0-9A-Za-z])"
)
_LANDLINE = re.compile(r"(?<![0-9A-Za-z])(?:\(0\d{2,3}\)|0\d{2,3})[ -]?\d{7,8}(?![0-9A-Za-z])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def is_id_card(number: str) -> bool:
    """18-digit resident ID with a valid ISO 7064 checksum."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def is_luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# A long number right after one of these labels is a business reference, not a card or ID: one
# random 16-19 digit order number in ten passes the Luhn check.
_REFERENCE_LABEL = re.compile(r"(?:订单|单号|运单|流水|交易号|编号|工单|order|ref)[号码:：# ]*$",
                              re.IGNORECASE)


def _is_reference(match: re.Match[str]) -> bool:
    return bool(_REFERENCE_LABEL.search(match.string[max(0, match.start() - 8) : match.start()]))


def _mask_ids(match: re.Match[str]) -> str:
    if _is_reference(match) or not is_id_card(match.group()):
        return match.group()
    return PII_TAGS["id_card"]


def _mask_cards(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    if _is_reference(match) or not (16 <= len(digits) <= 19 and is_luhn(digits)):
        return match.group()
    return PII_TAGS["bank_card"]


def _mask_international(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group())
    return PII_TAGS["mobile"] if 10 <= digits <= 15 else match.group()


_DIGIT = re.compile(r"\d")  # any Unicode decimal digit, as the patterns' \d


def mask_pii(text: str, names: Iterable[str] = ()) -> str:
    """Replace personal data by tags. Run after to_half_width so full-width digits are caught.
    `names` are values a source marks as personal (e.g. the customer's name column)."""
    if "@" in text:
        text = _EMAIL.sub(PII_TAGS["email"], text)
    # A pattern only runs on text with enough digits to mask anything: an ID has 17 (+ check
    # digit), a card 16-19, mobile, international and landline numbers at least 10. Masking
    # only removes digits, so the count before the first pattern is an upper bound.
    digits = len(_DIGIT.findall(text)) if len(text) >= 10 else 0
    if digits >= 10:
        if digits >= 17:
            text = _ID_CARD.sub(_mask_ids, text)
        if digits >= 16:
            text = _CARD.sub(_mask_cards, text)
        text = _MOBILE.sub(PII_TAGS["mobile"], text)
        text = _INTERNATIONAL.sub(_mask_international, text)
        text = _LANDLINE.sub(PII_TAGS["landline"], text)
    for name in names:
        name = (name or "").strip()
        if len(name) >= 2:
            text = text.replace(name, PII_TAGS["name"])
    return text


# ---------------------------------------------------------------- sentences

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…])(?![。！？!?；;…”』」）)])|\n+")
_HAS_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")


def split_sentences(text: str, min_chars: int = 2) -> list[str]:
    """Split at Chinese and Western sentence punctuation and newlines. A fragment without any word
    character (trailing emoji such as '😡') joins the sentence before it; fragments shorter than
    `min_chars` are dropped."""
    sentences: list[str] = []
    for part in _SENTENCE_END.split(text):
        part = part.strip(" ，,、")
        if not part:
            continue
        if not _HAS_WORD.search(part):
            if sentences:
                sentences[-1] += part
            continue
        sentences.append(part)
    return [s for s in sentences if len(s) >= min_chars]


# ---------------------------------------------------------------- language


_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str:
    """'zh' when the text has Chinese, 'en' for Latin-only text, 'none' for emoji or symbols only."""
    if _CJK.search(text):
        return "zh"
    if _LATIN.search(text):
        return "en"
    return "none"


# ---------------------------------------------------------------- the whole step


@dataclass(frozen=True, slots=True)
class NormalizedText:
    text: str
    language: str
    truncated: bool


def _normalized(text: str, asr: bool, simplified: bool, names: Iterable[str]) -> str:
    text = _half_width_stripped(text)
    if asr:
        text = clean_asr(text)
    if simplified:
        text = to_simplified(text)
    return mask_pii(text, names)


def normalize_text(
    text: str,
    *,
    asr: bool = False,
    simplified: bool = True,
    max_chars: int = 5000,
    names: Iterable[str] = (),
) -> NormalizedText:
    """Everything a piece of raw text goes through before it may be stored."""
    text = _normalized(text, asr, simplified, names)
    truncated = len(text) > max_chars
    if truncated:
        text = text[:max_chars]
    return NormalizedText(text=text, language=detect_language(text), truncated=truncated)


def normalize_record(record, *, simplified: bool = True, max_chars: int = 5000):
    """A copy of `record` whose every turn is normalised and PII-masked. Names the source marks as
    personal (meta `_pii_names`) are masked and then dropped from meta. Turns left empty (an ASR
    segment of fillers only) are removed. Adds meta `language` and `truncated`."""
    meta = dict(record.meta)
    names = meta.pop("_pii_names", [])
    asr = bool(meta.get("asr"))
    turns, truncated, languages = [], False, []
    for turn in record.turns:  # normalize_text per turn, without building a NormalizedText
        text = _normalized(turn.text, asr, simplified, names)
        if len(text) > max_chars:
            truncated = True
            text = text[:max_chars]
        if not text:
            continue
        turns.append(turn.model_copy(update={"text": text}))
        if turn.role == "customer":
            languages.append(detect_language(text))
    meta["truncated"] = truncated
    meta["language"] = "zh" if "zh" in languages else (languages[0] if languages else "none")
    return record.model_copy(update={"turns": turns, "meta": meta})

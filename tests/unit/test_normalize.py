"""Normalisation: characters, Traditional Chinese, ASR clean-up, sentences and PII masking."""

import pytest

from nlp.normalize import (
    clean_asr,
    decode_bytes,
    detect_language,
    is_id_card,
    is_luhn,
    mask_pii,
    normalize_text,
    split_sentences,
    strip_control,
    to_half_width,
    to_simplified,
)


def test_decode_utf8_bom_and_gbk():
    text = "客服态度很差，退款一直没到账"
    assert decode_bytes(text.encode("utf-8")) == (text, "utf-8-sig")
    assert decode_bytes(("\ufeff" + text).encode("utf-8"))[0] == text
    decoded, encoding = decode_bytes(text.encode("gbk"))
    assert decoded == text and encoding == "gb18030"


def test_full_width_ascii_becomes_half_width_but_chinese_punctuation_stays():
    assert to_half_width("ＡＰＰ一直闪退，订单１２３！") == "APP一直闪退，订单123！"


def test_control_and_zero_width_characters_removed():
    assert strip_control("退款\x00没\u200b到账\t\t了\r\n谢谢") == "退款没到账 了\n谢谢"


def test_traditional_to_simplified():
    assert to_simplified("這個服務態度很差，客戶體驗") == "这个服务态度很差，客户体验"


def test_asr_noise_fillers_and_stutter_removed():
    cleaned = clean_asr("嗯 那个 我我我就是想问一下 [噪音] 宽带 呃 怎么还没装 <unk>")
    assert "噪音" not in cleaned and "<unk>" not in cleaned
    assert "嗯" not in cleaned and "呃" not in cleaned and "我我" not in cleaned
    assert "宽带" in cleaned and "怎么还没装" in cleaned


def test_sentence_split_on_chinese_punctuation_and_newlines():
    assert split_sentences("快递太慢了！客服也不回。\n再也不买了？？😡") == [
        "快递太慢了！", "客服也不回。", "再也不买了？？😡"]
    assert split_sentences("。。。😡😡") == []


@pytest.mark.parametrize("raw", [
    "13812345678", "138-1234-5678", "138 1234 5678", "+86 139 0011 2233", "+8613900112233",
    "１３９００１１２２３３", "+852 9123 4567", "+853 6612 3456", "+886 912 345 678",
])
def test_mobile_numbers_in_any_spelling_are_masked(raw):
    masked = normalize_text(f"我的电话{raw}，请回电").text
    assert "[手机号]" in masked
    assert not any(ch.isdigit() for ch in masked)


def test_landline_email_idcard_bankcard_masked():
    text = ("座机010-62345678，邮箱zhang.wei@example.com，身份证44030519830705553X，"
            "卡号6222 0213 7215 9017")
    masked = mask_pii(text)
    assert masked == "座机[电话]，邮箱[邮箱]，身份证[身份证]，卡号[银行卡]"


def test_checksums_decide_for_ids_and_cards():
    assert is_id_card("44030519830705553X") and not is_id_card("440305198307055531")
    assert is_luhn("6222021372159017") and not is_luhn("6222021372159018")
    # 18 digits that fail the ID checksum and Luhn are not personal data
    assert mask_pii("流水号440305198307055531") == "流水号440305198307055531"


def test_non_pii_numbers_survive():
    text = "订单号DD20261123004521，金额¥299.00，2026-11-23 14:05下单，199元套餐，运单SF1234567890123"
    assert mask_pii(to_half_width(text)) == text


def test_marked_names_are_masked():
    assert mask_pii("张伟说退款没到", names=["张伟"]) == "[姓名]说退款没到"


def test_language_flags():
    assert detect_language("😡😡😡") == "none"
    assert detect_language("Worst delivery ever") == "en"
    assert detect_language("delivery超慢") == "zh"


def test_truncation_is_flagged():
    result = normalize_text("太慢了" * 100, max_chars=50)
    assert result.truncated and len(result.text) == 50

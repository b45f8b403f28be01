"""Fuzz: thousands of personal-data spellings inside Chinese sentences are all masked, and
ordinary numbers (orders, prices, dates, tracking numbers) are left alone."""

import random
import string

from nlp.normalize import normalize_text

RNG = random.Random(20261125)
FULL = str.maketrans("0123456789", "０１２３４５６７８９")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
TEMPLATES = [
    "我的{}，麻烦尽快回电", "联系方式：{}", "请打{}找我", "客户留的是{}。", "({})这个是我的",
    "卡号{}被扣了两次钱", "身份證號碼{}已經提交了", "邮箱是{}，发票发这里", "{}", "嗯 我的是 {} 对",
]


def mobile() -> str:
    digits = RNG.choice("3456789") + "".join(RNG.choices(string.digits, k=9))
    number = "1" + digits
    style = RNG.randrange(7)
    if style == 0:
        return number
    if style == 1:
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if style == 2:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if style == 3:
        return f"+86 {number[:3]} {number[3:7]} {number[7:]}"
    if style == 4:
        return f"+86{number}"
    if style == 5:
        return f"0086-{number}"
    return number.translate(FULL)


def landline() -> str:
    area = RNG.choice(["010", "021", "0755", "0571", "028", "027"])
    local = RNG.choice("2345678") + "".join(RNG.choices(string.digits, k=RNG.choice([6, 7])))
    return RNG.choice([f"{area}-{local}", f"({area}){local}", f"{area} {local}"])


def id_card() -> str:
    body = RNG.choice(["110105", "310104", "440305", "330106"]) + str(RNG.randint(1950, 2005))
    body += f"{RNG.randint(1, 12):02d}{RNG.randint(1, 28):02d}{RNG.randint(0, 999):03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]
    return body + check


def bank_card() -> str:
    length = RNG.choice([16, 19])
    body = RNG.choice(["622202", "621700", "622848", "625807", "436742"])
    body += "".join(RNG.choices(string.digits, k=length - len(body) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    number = body + str((10 - total % 10) % 10)
    if RNG.random() < 0.3:
        number = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number


def email() -> str:
    user = "".join(RNG.choices(string.ascii_lowercase + string.digits + "._", k=RNG.randint(3, 12)))
    return f"{user.strip('._') or 'a'}@{RNG.choice(['qq.com', '163.com', 'example.cn', 'gmail.com'])}"


GENERATORS = [mobile, landline, id_card, bank_card, email]
NON_PII = [
    lambda: f"订单号DD{RNG.randint(10**13, 10**14 - 1)}",
    lambda: f"¥{RNG.randint(1, 9999)}.{RNG.randint(0, 99):02d}",
    lambda: f"2026-{RNG.randint(1, 12):02d}-{RNG.randint(1, 28):02d} {RNG.randint(0, 23):02d}:{RNG.randint(0, 59):02d}",
    lambda: f"运单SF{RNG.randint(10**12, 10**13 - 1)}",
    lambda: f"{RNG.randint(1, 999)}元套餐",
    lambda: f"验证码{RNG.randint(100000, 999999)}",
    lambda: f"工号{RNG.randint(1000, 99999)}",
    lambda: f"等了{RNG.randint(2, 90)}分钟",
    # long labelled references: one in ten random 16-19 digit numbers passes the Luhn check
    lambda: f"订单号{RNG.randint(10**15, 10**16 - 1)}",
    lambda: f"交易流水号：{RNG.randint(10**17, 10**18 - 1)}",
]


def test_no_pii_variant_survives_normalisation():
    leaked = []
    for _ in range(3000):
        value = RNG.choice(GENERATORS)()
        text = RNG.choice(TEMPLATES).format(value)
        out = normalize_text(text, asr=RNG.random() < 0.2).text
        plain = value.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
        digits = "".join(ch for ch in plain if ch.isdigit())
        if plain in out or (len(digits) >= 7 and digits in "".join(c for c in out if c.isdigit())):
            leaked.append((value, out))
    assert not leaked, leaked[:10]


def test_ordinary_numbers_are_rarely_masked():
    wrongly_masked = 0
    n = 2000
    for _ in range(n):
        value = RNG.choice(NON_PII)()
        out = normalize_text(f"您好，{value}，请帮我查一下").text
        wrongly_masked += value not in out
    assert wrongly_masked / n <= 0.01, wrongly_masked / n

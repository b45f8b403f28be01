"""Sentence form: questions and requests carry no sentiment of their own.

A polarity model trained on reviews knows only positive vs negative, so "请问怎么退货" lands
wherever its words happen to lean. The v1 backend damps the score of a question or request
unless it is rhetorical ("到底什么时候能到？", "凭什么扣我钱？"), then calls neutral every
score inside a band fitted on labelled customer sentences (see MODEL.md).
"""

from __future__ import annotations

import re

_QUESTION = re.compile(
    r"[?？]\s*$|^(?:请问|请教|想问|问一下|问下|咨询|想咨询|想了解|了解一下)"
    r"|(?:吗|么|嘛|呢)[。.!！~～]*\s*$"
    r"|怎么|如何|怎样|多少|哪里|哪儿|哪个|哪些|几点|几天|什么时候|何时|能否|能不能|可不可以|可以吗"
    r"|是否|有没有|是不是|請問|怎麼|甚麼|什麼時候|嗎"
)
_REQUEST = re.compile(
    r"^(?:请|麻烦|劳烦|帮我|帮忙|希望|我想|我要|想要|需要|申请|要求|求|請|麻煩|幫我)"
    r"|^(?:how|what|when|where|can|could|please|is|are|do|does)\b",
    re.IGNORECASE,
)
_RHETORICAL = re.compile(
    r"到底|究竟|凭什么|難道|难道|为什么还|為什麼還|怎么还|怎么又|又要|还要等多久|有没有人管|搞什么"
    r"|什么破|什么鬼|有病|骗|坑|垃圾|投诉|曝光|12315|工信部|银保监|消协|退钱|赔|太慢|太差|离谱"
    r"|[!！]{2,}|[?？]{2,}|[😡🤬😤🙄😠💢]"
)


def is_question_or_request(sentence: str) -> bool:
    """A plain question or request: asks for something without complaining about it."""
    text = sentence.strip()
    if not text or _RHETORICAL.search(text):
        return False
    return bool(_QUESTION.search(text) or _REQUEST.search(text))

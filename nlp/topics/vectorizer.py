"""The topic vectoriser: keyword candidates from already-segmented jieba tokens.

Unigrams must carry a topic on their own (two characters or more, no stop word); bigrams join two
adjacent content tokens so that a meaningful single character survives in context ('价格 贵').
The analyser is a module-level class so that a saved model pickles without lambdas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sklearn.feature_extraction.text import CountVectorizer

# Amounts, counts and durations ('459.00', '四十八', '两个', '一个半小时') say nothing about a topic.
_NUMBER = re.compile(r"^[\d.,:%/+-]+$|^[零〇一二两三四五六七八九十百千万亿半几多]+"
                     r"(个|块|元|倍|号|天|周|年|月|日|次|分|秒|点|张|趟|行|口|间|位|单|分钟|小时|礼拜|星期)?$")


def is_keyword_token(token: str, stopwords: frozenset[str]) -> bool:
    return token not in stopwords and not _NUMBER.match(token)


class KeywordAnalyzer:
    """Space-joined tokens in, keyword candidates out."""

    def __init__(self, stopwords: Iterable[str] = ()) -> None:
        self.stopwords = frozenset(stopwords)

    def __call__(self, doc: str) -> list[str]:
        tokens = [t for t in doc.split() if is_keyword_token(t, self.stopwords)]
        grams = [t for t in tokens if len(t) >= 2]
        for left, right in zip(tokens, tokens[1:], strict=False):
            if left != right and len(left) + len(right) >= 3:
                grams.append(f"{left} {right}")
        return grams


def build_vectorizer(stopwords: Iterable[str], n_docs: int) -> CountVectorizer:
    return CountVectorizer(analyzer=KeywordAnalyzer(stopwords), lowercase=False,
                           min_df=2 if n_docs >= 50 else 1)

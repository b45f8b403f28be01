"""each_distinct: a batch function over distinct items only (nlp/distinct.py)."""

from __future__ import annotations

from nlp.distinct import each_distinct


def test_each_distinct_works_once_per_item_and_answers_every_occurrence():
    seen = []

    def work(items):
        seen.append(list(items))
        return [item.upper() for item in items]

    assert each_distinct(["a", "b", "a", "c", "b"], work) == ["A", "B", "A", "C", "B"]
    assert seen == [["a", "b", "c"]]
    assert each_distinct([], work) == [] and len(seen) == 1  # nothing to do: no call


def test_a_key_makes_unhashable_items_distinct_by_it():
    seen = []

    def work(items):
        seen.append([i["text"] for i in items])
        return [len(i["features"]) for i in items]

    items = [{"text": "好", "features": ["a"]}, {"text": "差", "features": []},
             {"text": "好", "features": ["a"]}]
    assert each_distinct(items, work, key=lambda i: (i["text"], tuple(i["features"]))) == [1, 0, 1]
    assert seen == [["好", "差"]]

"""Topic modelling: BERTopic over jieba tokens with swappable embeddings, stable ids, overrides.

`OUTLIER` and `TopicInfo` are plain; the rest is imported on first use (PEP 562), because
importing BERTopic costs ~700 MB of resident memory: a process that only needs the topic ids
(the flow's shard workers, the painpoint tables) never pays it.
"""

from importlib import import_module

from nlp.topics.types import OUTLIER, TopicInfo

_LAZY = {"EmbeddingBackend": "nlp.topics.embeddings", "make_embedder": "nlp.topics.embeddings",
         "readable_label": "nlp.topics.labels", "TopicModel": "nlp.topics.model",
         "TopicParams": "nlp.topics.model"}

__all__ = ["EmbeddingBackend", "OUTLIER", "TopicInfo", "TopicModel", "TopicParams",
           "make_embedder", "readable_label"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nlp.topics' has no attribute '{name}'")

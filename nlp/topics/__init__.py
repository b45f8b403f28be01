"""Topic modelling: BERTopic over jieba tokens with swappable embeddings, stable ids, overrides."""

from nlp.topics.embeddings import EmbeddingBackend, make_embedder
from nlp.topics.labels import readable_label
from nlp.topics.model import TopicModel, TopicParams
from nlp.topics.types import OUTLIER, TopicInfo

__all__ = ["EmbeddingBackend", "OUTLIER", "TopicInfo", "TopicModel", "TopicParams",
           "make_embedder", "readable_label"]

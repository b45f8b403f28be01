"""Topic modelling: BERTopic over jieba tokens with swappable embeddings."""

from nlp.topics.embeddings import EmbeddingBackend, make_embedder
from nlp.topics.model import OUTLIER, TopicInfo, TopicModel, readable_label

__all__ = ["EmbeddingBackend", "OUTLIER", "TopicInfo", "TopicModel", "make_embedder", "readable_label"]

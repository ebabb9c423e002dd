"""Versioned clinical knowledge (ACR tables, score weights, thresholds) loaded from data files."""

from app.knowledge.loader import KnowledgeError, load_knowledge
from app.knowledge.schema import Knowledge

__all__ = ["Knowledge", "KnowledgeError", "load_knowledge"]

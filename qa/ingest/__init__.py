"""Loading a knowledge base: file loaders, chunking, and the indexer that writes to the store."""

from qa.ingest.errors import KnowledgeBaseError, Problem
from qa.ingest.indexer import Indexer, IngestReport

__all__ = ["Indexer", "IngestReport", "KnowledgeBaseError", "Problem"]

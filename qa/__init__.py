"""FAQ and RAG support chatbot: knowledge base in ChromaDB, retrieve → re-rank → answer."""

import os

# Nothing may call the network at run time: Chroma's telemetry stays off everywhere.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

__version__ = "0.1.0"

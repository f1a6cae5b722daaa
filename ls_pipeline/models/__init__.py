"""Model providers: embedding models (local sentence-transformers, API) and, later, chat models."""

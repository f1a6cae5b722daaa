"""Model providers: embedding models (embedding.py) and chat models for LLM labels (chat.py, chat_runner.py)."""

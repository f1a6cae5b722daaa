"""A sentence-transformers model folder read from its JSON files, without importing torch or sentence-transformers.

The ONNX Runtime embedders need only the tokenizer, the maximum length, the pooling and the vector length;
importing sentence-transformers (torch, transformers) to get them cost 4-11 s per process here, more than embedding
a few hundred texts. `tokenizers` (the library sentence-transformers' fast tokenizer wraps) reads tokenizer.json
itself, so the ids are the ones sentence-transformers would make.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Encode = Callable[[list[str]], dict[str, np.ndarray]]  # texts -> input_ids, attention_mask, token_type_ids
Count = Callable[[list[str]], np.ndarray]  # texts -> each one's token count after truncation


@dataclass(frozen=True)
class FolderModel:
    max_length: int
    dimensions: int
    pooling: str  # "mean", "cls", "max", ... as sentence-transformers' Pooling names it
    encode: Encode
    count: Count


def read_folder(location: str) -> FolderModel | None:
    """The model at `location` if it is a local folder of exactly Transformer, Pooling and optionally Normalize
    (anything else, e.g. a Dense layer or a hub id, returns None: the caller loads it with sentence-transformers)."""
    folder = Path(location)
    try:
        modules = json.loads((folder / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) or modules[0]["path"]:
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text())
        config = json.loads((folder / "sentence_bert_config.json").read_text())
        coders = _coders(folder / "tokenizer.json", int(config["max_seq_length"]))
    except (OSError, KeyError, TypeError, ValueError):
        return None
    if coders is None:
        return None
    modes = [k[len("pooling_mode_") :] for k, v in pooling.items() if k.startswith("pooling_mode_") and v is True]
    name = {"mean_tokens": "mean", "cls_token": "cls", "max_tokens": "max"}.get(modes[0], modes[0]) if modes else ""
    return FolderModel(
        int(config["max_seq_length"]),
        int(pooling["word_embedding_dimension"]),
        name if len(modes) == 1 else "",
        *coders,
    )


def _coders(path: Path, max_length: int) -> tuple[Encode, Count] | None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    padding = tokenizer.padding
    if padding is None:
        return None
    # the file's own settings are the hub's (all-MiniLM-L6-v2's: truncate at 128, pad to a fixed 128); use
    # sentence-transformers' instead: truncate at max_seq_length, pad to the batch's longest
    tokenizer.enable_truncation(max_length)
    tokenizer.no_padding()
    pad_id, pad_type_id, left = int(padding["pad_id"]), int(padding["pad_type_id"]), padding["direction"] == "left"

    # One text at a time, padded here: tokenizers' encode_batch and its padding call getenv about four times a text
    # (whether to run in parallel), and getenv races any os.environ write in another thread (setenv frees the old
    # array): that crashed a test process. An unpadded `encode` calls it zero times (counted with an LD_PRELOAD shim).
    def encode(texts: list[str]) -> dict[str, np.ndarray]:
        encodings = [tokenizer.encode(text) for text in texts]
        longest = max((len(e.ids) for e in encodings), default=0)
        ids = np.full((len(texts), longest), pad_id, dtype=np.int64)
        mask = np.zeros((len(texts), longest), dtype=np.int64)
        types = np.full((len(texts), longest), pad_type_id, dtype=np.int64)
        for row, e in enumerate(encodings):
            span = slice(longest - len(e.ids), longest) if left else slice(0, len(e.ids))
            ids[row, span], mask[row, span], types[row, span] = e.ids, 1, e.type_ids
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

    def count(texts: list[str]) -> np.ndarray:
        return np.array([len(tokenizer.encode(text).ids) for text in texts], dtype=np.int64)

    return encode, count

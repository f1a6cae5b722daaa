"""An embeddings server of our own on 127.0.0.1, speaking the OpenAI and Mistral /v1/embeddings wire format.

OpenAI's SDK sends `input` (and `dimensions`), Mistral's sends `inputs`; both read `data[i].embedding` and `usage`.
Vectors are bags of hashed words (texts sharing words get close vectors, so a map has structure), not unit length:
the client normalises. A test sets `policy(number, inputs)` to answer a request with an error status, "drop" (close
the connection unanswered) or "hang" (wait until `release` is set, then drop), and reads `log` afterwards.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tests.api_server import StandIn, serving

Policy = Callable[[int, list[str]], "int | str | None"]  # None: answer; an int: that status; "drop" or "hang"


def tokens(text: str) -> int:
    return max(1, len(text.encode()) // 4)


def served_vector(text: str, dimensions: int) -> np.ndarray:
    total = np.zeros(dimensions)
    for word in re.findall(r"\w+", text.lower()) or [""]:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        total += np.random.default_rng(seed).normal(size=dimensions)
    return total * 3.0  # not unit length on purpose


@dataclass
class Request:
    number: int
    path: str
    headers: dict[str, str]
    inputs: list[str]
    body: dict[str, Any]
    status: int | str


@dataclass
class EmbeddingServer(StandIn):
    dimensions: int = 32
    max_input_tokens: int = 2000  # the server's own limit per input, counted as bytes / 4 as BPE roughly gives
    policy: Policy = lambda number, inputs: None  # noqa: E731
    log: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def arrived(self) -> int:
        """Requests received so far, hanging ones included (the log holds only those answered)."""
        return self._arrived

    def answered(self) -> list[Request]:
        return [r for r in self.log if r.status == 200]

    def respond(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int | str, dict[str, Any]]:
        number = self.arrival()
        inputs = body.get("input", body.get("inputs"))
        inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
        outcome = self.policy(number, inputs)
        if outcome == "hang":  # until released, then closed unanswered: its client is gone by then
            self.release.wait(120)
            outcome = "drop"
        too_long = [i for i, text in enumerate(inputs) if tokens(text) > self.max_input_tokens]
        status: int | str = outcome if outcome is not None else (400 if too_long else 200)
        with self._lock:
            self.log.append(Request(number, path, headers, inputs, body, status))
        if status == "drop":
            return status, {}
        if status != 200:
            message = (
                f"input {too_long[0]} is over {self.max_input_tokens} tokens" if too_long else f"test status {status}"
            )
            return status, {"object": "error", "message": message, "error": {"message": message, "code": status}}
        dimensions = int(body.get("dimensions") or self.dimensions)
        used = sum(tokens(text) for text in inputs)
        data = [
            {"object": "embedding", "index": i, "embedding": served_vector(text, dimensions).tolist()}
            for i, text in enumerate(inputs)
        ]
        usage = {"prompt_tokens": used, "total_tokens": used, "completion_tokens": 0}
        return 200, {
            "id": f"emb-{number}",
            "object": "list",
            "data": data[::-1],
            "model": body["model"],
            "usage": usage,
        }


@contextmanager
def running(server: EmbeddingServer | None = None) -> Iterator[EmbeddingServer]:
    server = server or EmbeddingServer()
    with serving("/v1/embeddings", server.respond, retry_after="1") as port:
        server.port = port
        try:
            yield server
        finally:
            server.release.set()  # hanging requests end before the server shuts down

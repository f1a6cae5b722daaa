"""A chat completions server of our own on 127.0.0.1, speaking the OpenAI and Mistral wire format.

Both SDKs POST to .../v1/chat/completions and read the same response shape. A test sets `reply`, a function
from (request number, request body) to (status, content), and reads `log` afterwards.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.api_server import StandIn, serving

Reply = Callable[[int, dict[str, Any]], tuple[int, str]]


def question(body: dict[str, Any]) -> str:
    """The first user message: what identifies one cluster's question (a repair round repeats it)."""
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def good_answer(body: dict[str, Any]) -> str:
    """A valid label, distinct per question: 'Topic ab12cd'."""
    digest = hashlib.sha256(question(body).encode()).hexdigest()[:6]
    return json.dumps({"label": f"Topic {digest}", "description": f"Texts about {digest}."})


def always_good(_: int, body: dict[str, Any]) -> tuple[int, str]:
    return 200, good_answer(body)


@dataclass
class Logged:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


@dataclass
class ChatServer(StandIn):
    reply: Reply = always_good
    log: list[Logged] = field(default_factory=list)

    def ok(self) -> list[Logged]:
        return [entry for entry in self.log if entry.status == 200]

    def handle(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        number = self.arrival()
        status, content = self.reply(number, body)
        with self._lock:
            self.log.append(Logged(path, headers, body, status))
        if status != 200:
            return status, {"error": {"message": content, "type": "test", "code": status}}
        prompt = sum(len(m["content"]) for m in body["messages"]) // 4
        return 200, {
            "id": f"cmpl-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": 11, "total_tokens": prompt + 11},
        }


@contextmanager
def running(server: ChatServer | None = None) -> Iterator[ChatServer]:
    server = server or ChatServer()
    with serving("/v1/chat/completions", server.handle) as port:
        server.port = port
        yield server

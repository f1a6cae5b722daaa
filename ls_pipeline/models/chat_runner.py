"""Ask a chat model many questions: a few at a time, retrying what is worth retrying, journaling each answer.

The journal (one JSON line per finished question, flushed and fsynced) is what makes a run resumable: a rerun
after a crash, a Ctrl-C or a provider outage reads it and asks only the questions not yet answered.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ls_pipeline.errors import UserError
from ls_pipeline.models.chat import ChatProvider, Message
from ls_pipeline.models.provider_calls import ProviderError, call_with_retries

log = logging.getLogger(__name__)

# Asked after an answer that could not be parsed, once, before falling back.
REPAIR = "That answer was not the JSON object asked for. Reply with only the JSON object, nothing else."


@dataclass(frozen=True)
class ChatSettings:
    """How to call, not what to ask: these never change a result, so they are not part of any fingerprint."""

    concurrency: int = 4
    attempts: int = 3  # tries per call on 429/5xx/timeouts before the run stops with an error
    backoff_s: float = 1.0  # first wait; doubles each try, with jitter, capped at max_backoff_s
    max_backoff_s: float = 30.0
    timeout_s: float = 60.0
    max_answer_tokens: int = 200


@dataclass
class Usage:
    requests: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: dict[str, int]) -> None:
        self.requests += other.get("requests", 0)
        self.retries += other.get("retries", 0)
        self.prompt_tokens += other.get("prompt_tokens", 0)
        self.completion_tokens += other.get("completion_tokens", 0)


@dataclass
class Outcome:
    """All answers by key: the parsed value, or None where the model never gave a usable one."""

    answers: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    reused: int = 0  # answers taken from the journal of an earlier, interrupted run


Parse = Callable[[str], dict[str, Any] | None]


class Journal:
    """Append-only JSON lines; a torn last line (a crash mid-write) is ignored on reading."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def read(self) -> dict[str, dict[str, Any]]:
        if not self.path.is_file():
            return {}
        done: dict[str, dict[str, Any]] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and "key" in entry:
                done[str(entry["key"])] = entry
        return done

    def append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())


def ask_all(
    provider: ChatProvider,
    questions: dict[str, list[Message]],
    parse: Parse,
    journal: Journal,
    settings: ChatSettings,
    what: str = "label",
) -> Outcome:
    """Answers to every question. Ones in the journal are not asked again. A call that still fails after
    `settings.attempts` tries stops the run with a one-line UserError; the answers so far stay journaled."""
    outcome = Outcome()
    for key, entry in journal.read().items():
        if key in questions:
            outcome.answers[key] = entry.get("answer")
            outcome.usage.add(entry.get("usage", {}))
            outcome.reused += 1
    pending = [key for key in questions if key not in outcome.answers]
    if outcome.reused:
        log.info("resuming: %d of %d %ss already answered", outcome.reused, len(questions), what)
    if not pending:
        return outcome
    progress = tqdm(total=len(pending), unit=what, desc=f"{what} ({provider.model.id})", disable=None)
    pool = ThreadPoolExecutor(max_workers=max(1, settings.concurrency))
    futures = {pool.submit(_answer, provider, questions[k], parse, settings): k for k in pending}
    failure = None
    try:
        failure = _collect(futures, journal, outcome, progress)
    finally:  # on a failure or Ctrl-C: cancel what has not started, journal what was already paid for
        for future in futures:
            future.cancel()
        pool.shutdown(wait=True)
        late = _collect({f: k for f, k in futures.items() if k not in outcome.answers}, journal, outcome, progress)
        progress.close()
    failure = failure or late
    if failure is not None:
        tries = f" after {settings.attempts} tries" if failure.transient else ""
        raise UserError(
            f"chat model {provider.model.id!r} failed{tries}: {failure}; {len(outcome.answers)} of {len(questions)} "
            f"{what}s are saved, rerun the same command to resume"
        )
    return outcome


def _collect(
    futures: dict[Future[Any], str], journal: Journal, outcome: Outcome, progress: tqdm | None = None
) -> ProviderError | None:
    """Journal every answer that finishes; stop waiting at the first failure and return it. Answers that land
    after a failure are collected by a second call, once the rest are cancelled, so nothing paid for is lost."""
    remaining = {f for f in futures if not f.cancelled()}
    while remaining:
        done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
        failure = None
        for future in done:
            if future.cancelled():
                continue
            if (error := future.exception()) is not None:
                if not isinstance(error, ProviderError):
                    raise error
                failure = failure or error
                continue
            answer, usage = future.result()
            journal.append({"key": futures[future], "answer": answer, "usage": usage})
            outcome.answers[futures[future]] = answer
            outcome.usage.add(usage)
            if progress is not None:
                progress.update(1)
        if failure is not None:
            return failure
    return None


def _answer(
    provider: ChatProvider, messages: list[Message], parse: Parse, settings: ChatSettings
) -> tuple[dict[str, Any] | None, dict[str, int]]:
    """One question: ask, parse; if unparseable ask once more with a nudge; None if still unusable."""
    usage = {"requests": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0}
    conversation = list(messages)

    def retried() -> None:
        usage["retries"] += 1

    for round_ in range(2):
        reply = _call_with_retries(provider, conversation, settings, retried)
        usage["requests"] += 1
        usage["prompt_tokens"] += reply.prompt_tokens
        usage["completion_tokens"] += reply.completion_tokens
        answer = parse(reply.text)
        if answer is not None:
            return answer, usage
        if round_ == 0:
            log.info("unusable answer from %s (%r...); asking once more", provider.model.id, reply.text[:60])
            repair = [{"role": "assistant", "content": reply.text}, {"role": "user", "content": REPAIR}]
            conversation = [*messages, *repair]
    return None, usage


def _call_with_retries(
    provider: ChatProvider, messages: list[Message], settings: ChatSettings, on_retry: Callable[[], None]
) -> Any:
    return call_with_retries(
        lambda: provider.complete(messages, settings.max_answer_tokens),
        provider.model.id,
        settings.attempts,
        settings.backoff_s,
        settings.max_backoff_s,
        on_retry,
    )

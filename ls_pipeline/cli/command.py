"""What every ls-* command shares: its parser (one-line usage errors), logging to stderr, a user mistake as one
line and exit 2, Ctrl-C as exit 130, and the API the commands call. Thin: parse, call the API, print the id."""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ls_pipeline import params
from ls_pipeline.errors import UserError

Main = Callable[[Sequence[str] | None], int]
# Every ls-* command's parser by name, for the generated CLI reference (ls_pipeline/docs_gen.py)
PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {}
DATASET_HELP = params.ID_HELP["dataset_id"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def command(prog: str, description: str) -> Callable[[Callable[[argparse.Namespace], int]], Main]:
    """Wrap a command body: build its parser, set up logging, turn UserError into one line and exit 2."""

    def wrap(body: Callable[[argparse.Namespace], int]) -> Main:
        def build_parser() -> argparse.ArgumentParser:
            parser = _Parser(prog=prog, description=description)
            body.arguments(parser)  # type: ignore[attr-defined]
            return parser

        @functools.wraps(body)
        def main(argv: Sequence[str] | None = None) -> int:
            parser = build_parser()
            try:
                args = parser.parse_args(argv)
            except SystemExit as exc:  # --help, or a usage error already printed on one line
                return int(exc.code or 0)
            _log_to_stderr()
            try:
                return body(args)
            except UserError as exc:
                print(f"{prog}: error: {exc}", file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                print(f"{prog}: interrupted; finished artifacts are kept, a rerun resumes", file=sys.stderr)
                return 130

        PARSERS[prog] = build_parser
        return main

    return wrap


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (a StreamHandler would keep the one it was born with)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr)


def _log_to_stderr() -> None:
    logger = logging.getLogger("ls_pipeline")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())


def arguments(setup: Callable[[argparse.ArgumentParser], None]) -> Callable[[Any], Any]:
    def attach(body: Any) -> Any:
        body.arguments = setup
        return body

    return attach


def api() -> Any:
    from ls_pipeline import api

    return api


def stage_arguments(
    stage: str, *order: str, required: tuple[str, ...] = ()
) -> Callable[[argparse.ArgumentParser], None]:
    """A stage's arguments, read from its params dataclass (params.add_arguments), imported only when the command
    runs so that another command's start stays fast."""

    def add(parser: argparse.ArgumentParser) -> None:
        module = importlib.import_module(f"ls_pipeline.stages.{stage}")
        params.add_arguments(parser, getattr(module, f"{stage.capitalize()}Params"), order, required)

    return add

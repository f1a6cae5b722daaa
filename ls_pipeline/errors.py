"""The one exception type for user mistakes: the CLI prints its message on one line and exits 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: bad input, unknown id, missing model. The message names the fix."""


class NotFound(UserError):
    """An id (dataset, artifact, model, tag) that does not exist."""


class Conflict(UserError):
    """A change that cannot apply to what is there now: a name taken, or a file changed since the edit to undo."""

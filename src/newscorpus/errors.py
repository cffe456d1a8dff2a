"""Exceptions the library raises and the CLI turns into one-line messages, in one place."""


class NewscorpusError(Exception):
    """Something went wrong that the user can act on; the message says what to do."""


class UsageError(NewscorpusError):
    """The command was called wrongly (exit code 2)."""

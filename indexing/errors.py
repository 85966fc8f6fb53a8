"""Errors every layer shares; each message says what to change."""


class MinigiantError(Exception):
    """Base for errors shown to users as one line, never as a traceback."""


class ModelNotFoundError(MinigiantError):
    """A model setting names nothing that can be loaded here."""


class IndexStateError(MinigiantError):
    """An index folder is missing, incompatible or damaged."""


class SkipFile(MinigiantError):
    """A file that cannot be indexed; the message is the reason shown next to its name."""

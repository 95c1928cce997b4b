"""One exception type for bad input, so scripts can print it as one clear line."""


class LangadaptError(Exception):
    """A user-facing error: bad config, missing package, broken corpus, mismatched models."""

"""Error types the CLI turns into one-line messages (exit code 2)."""


class FdifError(Exception):
    """A user-facing error: bad input, unknown name, invalid file. The message says what is wrong."""


class FileFormatError(FdifError):
    """A shape, preset or bundle file that does not validate; the message names file and field."""

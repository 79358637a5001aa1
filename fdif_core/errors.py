"""Error types the CLI turns into one-line messages (exit code 2)."""


class FdifError(Exception):
    """A user-facing error: bad input, unknown name, invalid file. The message says what is wrong."""


class FileFormatError(FdifError):
    """A shape, preset or bundle file that does not validate; the message names file and field."""


MAX_QUOTED = 80  # characters of one quoted value kept in a message
MAX_MESSAGE = 1000  # characters of a whole message


def one_line(message: str) -> str:
    """``message`` as one readable line: newlines folded, each quoted value cut to
    :data:`MAX_QUOTED` characters and the whole to :data:`MAX_MESSAGE` (a hostile file may put
    megabytes into one value, which a message repeats)."""
    import re

    text = " ".join(str(message).split())
    for quote in "'\"":
        text = re.sub(f"{quote}([^{quote}]{{{MAX_QUOTED}}})[^{quote}]+{quote}",
                      f"{quote}\\1…{quote}", text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"

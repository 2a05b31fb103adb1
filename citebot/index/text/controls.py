"""Control characters out of text that came from outside (files, feeds, pages, servers' error
answers) before it is stored or printed.

A feed's `<title>` holding ESC[2J clears the user's terminal, OSC 0 retitles the window and OSC 52
writes the clipboard; C1 characters (U+0080-U+009F) act as escapes on some terminals. Removing
only the ESC byte would leave "[2J" or "]0;pwned" in the text, so whole sequences go first, then
the lone control characters that remain. Newline and tab stay (they are the text's shape); one-line
fields (titles, names, URLs) get `one_line`, which turns them into spaces.
"""
from __future__ import annotations

import re

# OSC, DCS, SOS, PM, APC: a string up to its terminator (BEL or ST), or to the end when unterminated.
_STRING_SEQ = r"(?:\x1b[\]P X^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x9c\x1b]*(?:\x07|\x9c|\x1b\\)?"
# CSI: parameters, intermediates, one final byte.
_CSI = r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
# Any other escape: intermediates and one final byte (ESC ( B, ESC 7, ESC c ...).
_ESC = r"\x1b[\x20-\x2f]*[\x30-\x7e]?"
_SEQUENCES = re.compile(f"{_STRING_SEQ}|{_CSI}|{_ESC}")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but tab and newline, DEL, C1
_LINE_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+")
_SPACES = re.compile(r" {2,}")


def strip_controls(text: str) -> str:
    """`text` without terminal escape sequences and control characters; newline and tab kept.
    Carriage returns go too (they let a line overwrite what a terminal showed before it)."""
    if not text:
        return text
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


def one_line(text: str | None) -> str | None:
    """A one-line field (title, author, source, URL, a server's error text): controls removed,
    line breaks and tabs become single spaces, ends trimmed. None stays None."""
    if text is None:
        return None
    return _SPACES.sub(" ", strip_controls(_LINE_BREAKS.sub(" ", text))).strip()

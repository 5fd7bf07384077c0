"""Reading data that pages keep in inline JavaScript: object literals and string literals.

Pages embed their metadata as ``window.DATA = {...}`` (not always followed by ``;``) or
``var msg_title = '...'``. A lazy regex cuts objects at the first ``}`` inside a string, so objects
are delimited by matching brackets outside string literals.
"""

from __future__ import annotations

import json
import re
from typing import Any

_OPEN = {"{": "}", "[": "]"}
_SIMPLE_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "0": "\0",
}
_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.S)
# unquoted keys and single-quoted strings are the two JS-isms that stop json.loads most often
_BARE_KEY = re.compile(r"([{,]\s*)([A-Za-z_$][\w$]*)\s*:")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def find_balanced(text: str, start: int) -> int | None:
    """Index just past the bracket closing the one at ``text[start]``, or None if it never closes."""
    opener = text[start]
    if opener not in _OPEN:
        return None
    stack = [_OPEN[opener]]
    i = start + 1
    n = len(text)
    quote: str | None = None
    while i < n:
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c in _OPEN:
            stack.append(_OPEN[c])
        elif c in "}]":
            if c != stack[-1]:
                return None
            stack.pop()
            if not stack:
                return i + 1
        i += 1
    return None


def extract_js_object(text: str, marker: str, *, start: int = 0) -> str | None:
    """The source of the object/array literal that follows ``marker`` (e.g. ``"window.DATA ="``)."""
    pos = text.find(marker, start)
    while pos != -1:
        i = pos + len(marker)
        while i < len(text) and text[i] in " \t\r\n=:":
            i += 1
        if i < len(text) and text[i] in _OPEN:
            end = find_balanced(text, i)
            if end is not None:
                return text[i:end]
        pos = text.find(marker, pos + 1)
    return None


def _unescape_one(m: re.Match[str]) -> str:
    seq = m.group(1)
    if seq.startswith("u{"):
        return chr(int(seq[2:-1], 16))
    if seq[0] == "u" and len(seq) == 5:
        return chr(int(seq[1:], 16))
    if seq[0] == "x" and len(seq) == 3:
        return chr(int(seq[1:], 16))
    if seq == "\n":  # a backslash line continuation
        return ""
    return _SIMPLE_ESCAPES.get(seq, seq)


def js_unescape(s: str) -> str:
    """Decode a JS string literal's body: ``\\xNN``, ``\\uNNNN``, ``\\u{N}``, ``\\/``, ``\\'`` and friends."""
    if "\\" not in s:
        return s
    out = _ESCAPE.sub(_unescape_one, s)
    # \uD83D\uDE00 pairs decode to lone surrogates above; join them into the real character
    try:
        return out.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        return out


def _jsonish(src: str) -> Any:
    try:
        return json.loads(src)
    except ValueError:
        pass
    fixed = _TRAILING_COMMA.sub(r"\1", _BARE_KEY.sub(r'\1"\2":', src))
    fixed = _single_to_double_quotes(fixed)
    return json.loads(fixed)


def _single_to_double_quotes(src: str) -> str:
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append(src[i : j + 1])
            i = j + 1
        elif c == "'":
            j = i + 1
            buf: list[str] = []
            while j < n and src[j] != "'":
                if src[j] == "\\" and j + 1 < n:
                    buf.append(src[j : j + 2] if src[j + 1] != "'" else "'")
                    j += 2
                    continue
                buf.append('\\"' if src[j] == '"' else src[j])
                j += 1
            out.append('"' + "".join(buf) + '"')
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def load_js_object(text: str, marker: str) -> Any | None:
    """The object after ``marker`` as Python data, or None when it is absent or not JSON-like."""
    src = extract_js_object(text, marker)
    if src is None:
        return None
    try:
        return _jsonish(src)
    except ValueError:
        return None


def js_string(text: str, name_regex: str) -> str | None:
    """The unescaped value of the first string literal assigned to ``name_regex``.

    ``name_regex`` matches what precedes the ``=`` or ``:``, e.g. ``r"var\\s+msg_title"`` or
    ``r"\\btitle"``. A value wrapped as ``JsDecode('…')`` is unwrapped too. Returns None when absent.
    """
    pattern = re.compile(
        name_regex + r"""\s*[:=]\s*(?:JsDecode\()?\s*(["'])((?:\\.|(?!\1)[^\\\n])*)\1""",
        re.S,
    )
    m = pattern.search(text)
    if not m:
        return None
    return js_unescape(m.group(2))

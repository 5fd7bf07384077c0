"""Reading data that pages keep in inline JavaScript: object literals and string literals.

Pages embed their metadata as ``window.DATA = {...}`` (not always followed by ``;``) or
``var msg_title = '...'``. A lazy regex cuts objects at the first ``}`` inside a string, so objects
are delimited by matching brackets outside string literals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
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
    except (ValueError, RecursionError):  # RecursionError: nested past the interpreter's limit
        return None


# --- string literals assigned to names ------------------------------------------------------------

# unrolled, possessive string literal patterns: linear and fast on 300 KB strings
STRING = r"""(?:"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"|'[^'\\\n]*+(?:\\.[^'\\\n]*+)*+')"""
STRING_RE = re.compile(STRING)
# `"a" || "b"`: pages fall back from one value to another
_CHAIN = rf"""({STRING}(?:[ \t]*\|\|[ \t]*{STRING})*)"""
# what follows `var name` / `window.name`: `= "a" || "b"`, `= htmlDecode("…")`, `= '…'.html(false)`
_ASSIGN_TAIL = re.compile(rf"""[ \t]*=[ \t]*\(?[ \t]*(?:(?:htmlDecode|JsDecode|decodeURIComponent)\([ \t]*)?{_CHAIN}""")
# what follows `key:` in an object literal: `JsDecode('…')`, `'…' * 1`, `"…"`
_FIELD_TAIL = re.compile(rf"""[ \t]*:[ \t]*(?:JsDecode\([ \t]*)?{_CHAIN}""")
IDENT = re.compile(r"[\w$.]")


def find_name(text: str, needle: str, start: int = 0) -> Iterator[int]:
    """Positions just past ``needle`` where it is not the tail of a longer identifier."""
    i = text.find(needle, start)
    while i != -1:
        if i == 0 or not IDENT.match(text[i - 1]):
            yield i + len(needle)
        i = text.find(needle, i + 1)


def _first_nonempty(chain: str) -> str:
    return next((m.group(0)[1:-1] for m in STRING_RE.finditer(chain) if len(m.group(0)) > 2), "")


def assigned_literal(js: str, end: int, *, field: bool = False) -> str | None:
    """The raw body of the first non-empty string literal assigned at ``end`` (just past a name):
    ``= '…'`` or, with ``field``, ``key: '…'``; "" when only empty ones are; None when none is."""
    m = (_FIELD_TAIL if field else _ASSIGN_TAIL).match(js, end)
    return _first_nonempty(m.group(1)) if m else None


def js_string(
    js: str, name: str, *, prefixes: tuple[str, ...] = ("var ", "window."), field: bool = False
) -> str | None:
    """The first non-empty string assigned to ``var name`` / ``window.name`` (or, with ``field``, to
    ``name:`` in an object literal), JS escapes undone; "" when only empty ones are; None when absent."""
    found: str | None = None
    for prefix in ("",) if field else prefixes:
        for end in find_name(js, prefix + name):
            if not field and end < len(js) and (js[end].isalnum() or js[end] in "_$"):
                continue
            raw = assigned_literal(js, end, field=field)
            if raw:
                return js_unescape(raw)
            if raw is not None:
                found = ""
    return found

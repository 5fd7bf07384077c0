"""Bytes to text: HTTP charset, then BOM, then trial UTF-8, then GB18030.

The ``<meta charset>`` is deliberately not trusted: saved qq.com CMS pages declare gb2312 while their
bytes are UTF-8, and real GBK pages exist too. Trial decoding gets both right, because GBK text is
almost never valid UTF-8 while UTF-8 is always checked first.

:func:`sniff_utf8` answers the same question from samples, for parsers that can take UTF-8 bytes as
they are: decoding a 3 MB page with one emoji builds a 14 MB UCS-4 string the DOM parser then
re-encodes.
"""

from __future__ import annotations

import codecs
import re

from parsers.errors import ParseError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
# gb2312 and gbk are subsets of gb18030; decoding with the superset never loses a character
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "iso-8859-1": "cp1252"}
# bytes that mark binary data: NUL and the C0 controls HTML never carries
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
# how much of each end sniff_utf8 reads; a page up to twice this is checked whole
SNIFF_BYTES = 64 * 1024


def _declared(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _CHARSET.search(content_type)
    if not m:
        return None
    name = m.group(1).lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def looks_binary(data: bytes) -> bool:
    """True when the first KiB holds control bytes no text page has (an image, a zip, a PDF)."""
    head = data[:1024]
    if any(head.startswith(bom) for bom, _ in _BOMS[1:]):
        return False
    return len(_BINARY.findall(head)) > 2


def decode_html(data: bytes | str, *, content_type: str | None = None, name: str | None = None) -> str:
    """Decode page bytes to text; ``name`` (a URL or path) only labels the error."""
    if isinstance(data, str):
        return data
    # look at the head first: stripping a whole 3 MB page copies it just to learn it is not empty
    if not data[:4096].strip() and not data.strip():
        raise ParseError("empty page", url=name)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    if looks_binary(data):
        raise ParseError("binary data, not a web page", url=name)
    declared = _declared(content_type)
    if declared:
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            pass  # servers lie about charsets too; fall through to trial decoding
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        # a page cut mid-character or mixing encodings: keep what reads as UTF-8
        return data.decode("utf-8", errors="replace")


def sniff_utf8(data: bytes, *, content_type: str | None = None) -> bool:
    """True when ``data`` is UTF-8 a parser may take as bytes: what :func:`decode_html` would read as UTF-8.

    No BOM, no other charset in the HTTP header, not empty or binary, and valid UTF-8: the whole page
    when it is small, else its first and last :data:`SNIFF_BYTES`, of which one must hold non-ASCII
    text. GBK is almost never valid UTF-8, so a non-ASCII sample that decodes is the evidence; an
    all-ASCII sample proves nothing and answers False. A stray bad byte in the unread middle is left
    to the parser (lexbor reads it as U+FFFD). False means "decode with decode_html", never "not UTF-8".
    """
    if not isinstance(data, bytes) or _declared(content_type) not in (None, "utf-8"):
        return False
    if any(data.startswith(bom) for bom, _ in _BOMS) or not data[:4096].strip():
        return False
    if looks_binary(data):
        return False
    try:
        if len(data) <= 2 * SNIFF_BYTES:
            data.decode("utf-8")
            return True
        # final=False: a character cut by the sample's end is not an error
        head, _ = codecs.utf_8_decode(data[:SNIFF_BYTES], "strict", False)
        tail = data[-SNIFF_BYTES:]
        start = 0
        while start < 3 and 0x80 <= tail[start] <= 0xBF:  # continuation bytes of a cut character
            start += 1
        tail = tail[start:]
        tail.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not (head.isascii() and tail.isascii())

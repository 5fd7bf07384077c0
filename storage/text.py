"""Text keys for search and duplicates: normalised text, content hash, SimHash, bands, bigram segmentation.

Pure functions with no database: the store calls them inside its transactions, the tests call them directly.

Duplicates. ``content_hash`` is the sha256 of the body with Markdown markup, image lines, URLs, whitespace
and punctuation removed (NFKC, case-folded), so one story rendered by qq.com and by WeChat hashes the same.
``simhash`` is a 64-bit SimHash over overlapping 4-character shingles of that text. Measured on the real
article pages of the corpus (675–22,000 characters of text): one to five changed characters move 0–4 bits;
a WeChat-style header and footer added to a 1,300–1,500-character story 5–6 bits (0–2 bits from 5,000
characters up); a 540-character story with a source line, an editor line and three words changed 7 bits
(the test's reprint). 36 pairs of unrelated articles were 22–37 bits apart. The usual ``k = 3`` misses most
reprints of short news items, so ``MAX_DISTANCE = 7``: still three times closer than the nearest unrelated
pair, and for independent 64-bit fingerprints a chance match at ≤ 7 bits is about 1 in 10^10.

Candidates come from bands, never from a scan: the 64 bits are cut into ``MAX_DISTANCE + 2`` = 9 blocks of
7–8 bits; two fingerprints within ``MAX_DISTANCE`` bits differ in at most that many blocks, so at least two
blocks agree (pigeonhole), and every pair of blocks (14–15 bits) is one indexed key. That is 36 keys per
article, each shared by a random other article with odds of about 1 in 20,000: some 180 candidates at
100,000 articles, read from the covering band index (key, id, simhash) and compared in Python.
"""

from __future__ import annotations

import hashlib
import operator
import re
import unicodedata
from array import array
from itertools import combinations

MIN_TEXT = 50  # normalised characters below which a body never counts as a duplicate of anything
SHINGLE = 4
MAX_DISTANCE = 7
BLOCKS = MAX_DISTANCE + 2
MASK64 = (1 << 64) - 1

_IMAGE_LINE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")
_NOT_WORD = re.compile(r"[\W_]+")  # what unicode61 treats as separators: neither letter nor digit
_SPACES = re.compile(r"\s+")


def plain_text(markdown: str) -> str:
    """Markdown reduced to the words a reader sees: no images, link targets, URLs or markup characters."""
    text = _IMAGE_LINE.sub(" ", markdown)
    text = _LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    return text


def story_text(markdown: str) -> str:
    """Letters and digits only, NFKC and case-folded: the text two copies of one story share."""
    text = unicodedata.normalize("NFKC", plain_text(markdown)).casefold()
    return _NOT_WORD.sub("", text)


def content_hash(markdown: str) -> str:
    return hashlib.sha256(story_text(markdown).encode("utf-8")).hexdigest()


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


# Pure-Python SimHash is too slow shingle by shingle (~1 µs each); instead every character gets a
# fixed random 64-bit value, a shingle's hash is the XOR of its characters' values rotated by position
# (a cyclic-polynomial hash), and all shingles of a text live side by side as 64-bit lanes of one big
# int, so rotating, XOR-ing and counting bits per lane are a few whole-int operations.
_CHAR_HASH: dict[str, int] = {}
_LANES = 8192  # shingles per chunk; the lane masks below are built once for this many
_FIELD16 = int.from_bytes((0x0001000100010001).to_bytes(8, "little") * _LANES, "little")


def _lane_mask(pattern: int) -> int:
    return int.from_bytes(pattern.to_bytes(8, "little") * _LANES, "little")


_ROT_HI = [_lane_mask(MASK64 ^ ((1 << r) - 1)) for r in range(SHINGLE)]
_ROT_LO = [_lane_mask((1 << r) - 1) for r in range(SHINGLE)]


def _rotate_lanes(lanes: int, r: int) -> int:
    if r == 0:
        return lanes
    return ((lanes << r) & _ROT_HI[r]) | ((lanes >> (64 - r)) & _ROT_LO[r])


def _bit_counts(lanes: int, n: int, counts: list[int]) -> None:
    """Add, for each of the 64 bit positions, how many of the ``n`` lanes have that bit set."""
    for r in range(16):
        # one bit per 16-bit field, then fold the lanes onto each other: the fields add up separately
        folded = (lanes >> r) & _FIELD16
        width = n
        while width > 1:
            half = width // 2
            folded = (folded & ((1 << (64 * half)) - 1)) + (folded >> (64 * half))
            width -= half
        for field in range(4):
            counts[16 * field + r] += (folded >> (16 * field)) & 0xFFFF


def simhash(text: str) -> int:
    """64-bit SimHash of normalised ``text`` over ``SHINGLE``-character shingles (unsigned)."""
    shingles = len(text) - SHINGLE + 1
    if shingles <= 0:
        return 0
    counts = [0] * 64
    for start in range(0, shingles, _LANES):
        n = min(_LANES, shingles - start)
        chars = text[start : start + n + SHINGLE - 1]
        try:
            values = operator.itemgetter(*chars)(_CHAR_HASH)
        except KeyError:
            for ch in set(chars).difference(_CHAR_HASH):
                _CHAR_HASH[ch] = _splitmix64(ord(ch))
            values = operator.itemgetter(*chars)(_CHAR_HASH)
        lanes = int.from_bytes(array("Q", values).tobytes(), "little")
        acc = 0
        for j in range(SHINGLE):
            acc ^= _rotate_lanes(lanes, SHINGLE - 1 - j) >> (64 * j)
        acc &= (1 << (64 * n)) - 1
        _bit_counts(acc, n, counts)
    out = 0
    for bit, count in enumerate(counts):
        if 2 * count > shingles:
            out |= 1 << bit
    return out


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & MASK64).bit_count()


def to_signed(value: int) -> int:
    """SQLite integers are signed 64-bit."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    return value & MASK64


_BLOCK_BOUNDS: list[tuple[int, int]] = []
_start = 0
for _i in range(BLOCKS):
    _width = 64 // BLOCKS + (1 if _i < 64 % BLOCKS else 0)
    _BLOCK_BOUNDS.append((_start, _width))
    _start += _width
_PAIRS = list(combinations(range(BLOCKS), 2))


def band_keys(fingerprint: int) -> list[int]:
    """One integer per pair of blocks: equal keys mean both blocks agree (see the module docstring)."""
    blocks = [(fingerprint >> start) & ((1 << width) - 1) for start, width in _BLOCK_BOUNDS]
    return [(n << 40) | (blocks[i] << 20) | blocks[j] for n, (i, j) in enumerate(_PAIRS)]


# What a reader sees of a Markdown body. Links keep their text, images and bare URLs go, and the
# characters that are Markdown syntax rather than words (emphasis, code ticks, heading and quote
# markers, list bullets, table pipes, HTML tags) become spaces. Every pattern is linear: no nested
# quantifiers, and bracketed parts are bounded so a run of ``[`` costs one pass.
_VISIBLE_STEPS = (
    (re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+"), " "),  # control characters: never text
    (re.compile(r"!\[[^\]\n]{0,2000}\]\([^)\n]{0,4000}\)"), " "),  # images
    (re.compile(r"\[([^\]\n]{0,2000})\]\([^)\n]{0,4000}\)"), r"\1"),  # links: their text
    (re.compile(r"\[([^\]\n]{0,2000})\]\[[^\]\n]{0,200}\]"), r"\1"),  # reference links
    (re.compile(r"(?m)^ {0,3}\[[^\]\n]{1,200}\]:\s*\S+.*$"), " "),  # reference definitions
    (re.compile(r"<[A-Za-z/!][^<>\n]{0,2000}>"), " "),  # HTML tags and autolinks
    (re.compile(r"(?:https?|ftp)://\S+|\bwww\.\S+"), " "),  # bare URLs
    (re.compile(r"(?m)^ {0,3}(?:#{1,6}|>+|[-*+]|\d{1,9}[.)])[ \t]"), " "),  # headings, quotes, bullets
    (re.compile(r"(?m)^ {0,3}(?:[-*_][ \t]*){3,}$|^ {0,3}(?:```|~~~).*$"), " "),  # rules, code fences
    (re.compile(r"[*_~`]+"), ""),  # emphasis and code ticks sit inside words: 这是**重要**的 reads 这是重要的
    (re.compile(r"[|#>]+|-{3,}"), " "),  # table pipes and rules, stray markers
    (re.compile(r"\\(?=[^\sA-Za-z0-9])"), ""),  # backslash escapes
)

# Indexed text per article: the first INDEX_CHARS characters of its visible body. The longest real
# article in the corpus has about 30,000; a book-length clipping (or 2 MB repeating one phrase 87,000
# times) would otherwise put hundreds of thousands of positions of one term in a single row, which
# every matching query walks. 100,000 is three times the longest real article and costs at most a
# few milliseconds per query. Search finds words in that part only.
INDEX_CHARS = 100_000
# Markdown read to find those characters: link targets and images take room that is not text
MARKDOWN_CHARS = 4 * INDEX_CHARS


# Full-width ASCII (ＡＩ, ５Ｇ, ａｂｃ) and the ideographic space read as their ASCII forms: the part
# of NFKC that matters for search, at a fraction of its cost (NFKC took 0.15 ms per article)
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold(text: str) -> str:
    """Text as the index compares it: full-width ASCII as ASCII, case-folded."""
    return text.translate(_FULLWIDTH).casefold()


def visible_text(markdown: str) -> str:
    """The words a reader sees in a Markdown body, one line (whitespace collapsed)."""
    text = markdown
    for pattern, repl in _VISIBLE_STEPS:
        text = pattern.sub(repl, text)
    return _SPACES.sub(" ", text).strip()


def index_text(title: str, body: str) -> tuple[str, str]:
    """(title, body) as the search index holds them: visible text, capped, folded (:func:`fold`). The
    trigram table takes them as they are, the short-word table as :func:`grams`; deleting an article's
    rows needs this very text: it depends on nothing else."""
    plain_title = fold(visible_text(title[:MARKDOWN_CHARS])[:INDEX_CHARS])
    plain_body = fold(visible_text(body[:MARKDOWN_CHARS])[:INDEX_CHARS])
    return plain_title, plain_body


def query_runs(query: str) -> list[str]:
    """The runs of letters and digits of ``query`` (folded as the index is), each once, in order: the
    index cannot see separators, so ``小米-汽车`` asks for ``小米`` and ``汽车``."""
    folded = fold(query)
    return list(dict.fromkeys(r for r in _NOT_WORD.sub(" ", folded).split() if r))


def long_match(run: str) -> str:
    """An FTS5 query over the trigram table for a run of 3+ characters: a phrase, which the trigram
    tokenizer matches as exactly that substring."""
    return fts_phrase(run)


def short_match(run: str) -> str:
    """An FTS5 query over the short-word table for a run of 1–2 characters: a 2-character run is one
    bigram token, a 1-character run a prefix query (served by the table's 1-character prefix index)."""
    return fts_phrase(run) + ("*" if len(run) == 1 else "")


def short_word_score(title: str | None, body: str | None, word: str) -> float:
    """How strongly an article is about a 1–2 character ``word`` (the bigram table keeps no positions
    for bm25): its occurrences, a title's counting five times, per 2,000 characters of body. Registered
    on every Store connection as the SQL function ``jianbao_short_score``; counting in Python reads each
    body once, where SQL's ``replace`` and ``length`` read it three times (2,000 candidates: 70 -> 45 ms)."""
    title, body = title or "", body[:MARKDOWN_CHARS] if body else ""
    if word.upper() != word:  # a word with letters that have case (query words come folded): fold the text
        title, body = title.lower(), body.lower()
    hits = 5.0 * title.count(word) + body.count(word)
    return hits / (1.0 + len(body) / 2000.0)


def grams(text: str) -> str:
    """Text for the short-word table: every run of letters/digits as overlapping bigrams plus its last
    character, space-separated, so a 2-character query is one exact token and a 1-character query a
    prefix query. The first character of a run also comes out alone; harmless, and it keeps this a join."""
    spaced = _NOT_WORD.sub(" ", text)
    return " ".join(map(operator.add, spaced, spaced[1:] + " "))


def fts_phrase(word: str) -> str:
    """A query word as an FTS5 string: user input never reaches the query syntax unquoted."""
    return '"' + word.replace('"', '""') + '"'


SNIPPET_SCAN = INDEX_CHARS  # characters of visible text searched for the words: what the index saw
SNIPPET_FIRST = 8000  # Markdown characters looked at first


def _folded(text: str) -> str:
    """``text`` folded as the index folds it, position for position (a character whose folding
    changes the length is kept as it is)."""
    folded = fold(text)
    if len(folded) == len(text):
        return folded
    out = []
    for ch in text:
        f = fold(ch)
        out.append(f if len(f) == 1 else ch)
    return "".join(out)


def make_snippet(
    title: str,
    body: str,
    words: list[str],
    *,
    width: int = 80,
    mark: tuple[str, str] = ("[", "]"),
) -> str:
    """One line of visible text showing every word found (the body first, the title for a word the
    body lacks), each match between ``mark``; about ``width`` characters per fragment.

    Bounded: the body is read up to :data:`MARKDOWN_CHARS`, searched up to :data:`SNIPPET_SCAN`, and
    only the first occurrence of each word is looked for before the window is cut."""
    wanted = [w for w in dict.fromkeys(words) if w]
    # most words show up early: the first few thousand characters first, the whole bound only if not
    for chars in (SNIPPET_FIRST, MARKDOWN_CHARS):
        text = visible_text(body[:chars])[:SNIPPET_SCAN]
        folded = _folded(text)
        found: list[int] = []
        missing: list[str] = []
        for word in wanted:
            pos = folded.find(word)
            if pos >= 0:
                found.append(pos)
            else:
                missing.append(word)
        if not missing or len(body) <= chars:
            break
    fragments: list[tuple[int, int]] = []
    for pos in sorted(found):
        start, end = max(0, pos - width // 3), min(len(text), pos + width - width // 3)
        if fragments and start <= fragments[-1][1]:
            fragments[-1] = (fragments[-1][0], max(end, fragments[-1][1]))
        else:
            fragments.append((start, end))
    fragments = fragments[: max(1, len(wanted))]
    pieces: list[str] = []
    plain_title = visible_text(title[:SNIPPET_FIRST])
    if missing and any(w in _folded(plain_title) for w in missing):
        pieces.append(_marked(plain_title[: 2 * width], wanted, mark))
    if not fragments and not pieces:
        fragments = [(0, min(len(text), width))]
    for start, end in fragments:
        piece = _marked(text[start:end], wanted, mark)
        more = end < len(text) or len(body) > chars
        pieces.append(("…" if start > 0 else "") + piece + ("…" if more else ""))
    return " ".join(p for p in pieces if p)


def _marked(text: str, words: list[str], mark: tuple[str, str]) -> str:
    folded = _folded(text)
    spans: list[tuple[int, int]] = []
    for word in words:
        pos = folded.find(word)
        while pos >= 0:
            spans.append((pos, pos + len(word)))
            pos = folded.find(word, pos + len(word))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    out: list[str] = []
    cursor = 0
    for s, e in merged:
        out.append(text[cursor:s])
        out.append(mark[0] + text[s:e] + mark[1])
        cursor = e
    out.append(text[cursor:])
    return "".join(out)

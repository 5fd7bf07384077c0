"""Raw page compression: zstd with one raw-content dictionary per site family.

WeChat pages are 2–3.5 MB, nearly all of it the same JavaScript on every page. Compressed one by one,
the corpus comes to about 20% with zlib-9, 12% with lzma (at 5 pages/s) and 13–15% with zstd 3–9. The
first sizeable page of a family (``wechat``, ``qq``, or a web host) therefore becomes that family's
dictionary, stored once (itself compressed) in ``page_dicts``; every later page of the family is
compressed against it at level 9, which sends the shared boilerplate to almost nothing: 6–7% for the
whole corpus including the dictionaries, at well over 100 pages/s on 1 MB pages. ``bench/bench_storage.py``
prints the numbers.
"""

from __future__ import annotations

import zstandard

LEVEL = 9
DICT_MIN = 64 * 1024  # a smaller first page is probably a status page: a poor dictionary
DICT_MAX = 8 * 1024 * 1024
CODEC_ZSTD = "zstd"


class Codec:
    """Compressors and decompressors per dictionary id, built once (a 3 MB dictionary costs to load)."""

    def __init__(self) -> None:
        self._dicts: dict[int | None, zstandard.ZstdCompressionDict | None] = {None: None}
        self._compressors: dict[int | None, zstandard.ZstdCompressor] = {}
        self._decompressors: dict[int | None, zstandard.ZstdDecompressor] = {}

    def known(self, dict_id: int) -> bool:
        return dict_id in self._dicts

    def add(self, dict_id: int, content: bytes) -> None:
        self._dicts[dict_id] = zstandard.ZstdCompressionDict(content, dict_type=zstandard.DICT_TYPE_RAWCONTENT)

    def compress(self, data: bytes, dict_id: int | None) -> bytes:
        comp = self._compressors.get(dict_id)
        if comp is None:
            d = self._dicts[dict_id]
            comp = zstandard.ZstdCompressor(level=LEVEL, dict_data=d) if d else zstandard.ZstdCompressor(level=LEVEL)
            self._compressors[dict_id] = comp
        return comp.compress(data)

    def decompress(self, blob: bytes, dict_id: int | None) -> bytes:
        dec = self._decompressors.get(dict_id)
        if dec is None:
            d = self._dicts[dict_id]
            dec = zstandard.ZstdDecompressor(dict_data=d) if d else zstandard.ZstdDecompressor()
            self._decompressors[dict_id] = dec
        return dec.decompress(blob)


def compress_standalone(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=LEVEL).compress(data)


def decompress_standalone(blob: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(blob)

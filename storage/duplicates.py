"""Duplicate links: the same normalised text, or a SimHash within ``MAX_DISTANCE`` bits found through bands.

The keys are explained in :mod:`storage.text`; the Store calls these inside ``save_article``'s transaction.
"""

from __future__ import annotations

import json

from storage.core import StoreCore
from storage.text import MASK64, MAX_DISTANCE, MIN_TEXT, band_keys, to_signed

# Band members read per band key, newest first. Unrelated texts share a band key with a handful of
# articles even at 100,000; only a story copied many times fills one, and then its newest copies
# already lead to the group's earliest article. Without the bound, every copy of a story saved 1,000
# times read all 36,000 band rows of the copies before it: quadratic in the size of the group.
BAND_SCAN = 64
_BAND_HITS = " UNION ALL ".join(
    [
        "SELECT * FROM (SELECT article_id, simhash FROM article_bands WHERE band_key = ?"
        f" ORDER BY article_id DESC LIMIT {BAND_SCAN})"
    ]
    * len(band_keys(0))
)


class DuplicatesPart(StoreCore):
    def _add_bands(self, article_id: int, fingerprint: int | None) -> None:
        if fingerprint is not None:
            signed = to_signed(fingerprint)
            self._conn.executemany(
                "INSERT OR IGNORE INTO article_bands (band_key, article_id, simhash) VALUES (?, ?, ?)",
                ((key, article_id, signed) for key in band_keys(fingerprint)),
            )

    def _drop_bands(self, article_id: int, fingerprint: int | None) -> None:
        if fingerprint is not None:
            self._conn.executemany(
                "DELETE FROM article_bands WHERE band_key = ? AND article_id = ?",
                ((key, article_id) for key in band_keys(fingerprint)),
            )

    def _link(
        self, article_id: int, digest: str, fingerprint: int | None, text_len: int, current: int | None
    ) -> int | None:
        """Point ``article_id`` (and its group) at the earliest article of the same story; returns it."""
        conn = self._conn
        roots: set[int] = set()
        if text_len >= MIN_TEXT:
            for other, dup in conn.execute(
                "SELECT id, duplicate_of FROM articles WHERE content_hash = ? AND id != ?", (digest, article_id)
            ):
                roots.add(dup or other)
        if fingerprint is not None:
            # stored signed: the low 64 bits of a signed XOR are the unsigned XOR, so the distance is
            # counted without converting each of the band hits (this loop is per save)
            signed = to_signed(fingerprint)
            near = {
                other
                for other, fp in conn.execute(_BAND_HITS, band_keys(fingerprint))
                if ((fp ^ signed) & MASK64).bit_count() <= MAX_DISTANCE and other != article_id
            }
            if near:
                for other, dup in conn.execute(
                    "SELECT id, duplicate_of FROM articles WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(sorted(near)),),
                ):
                    roots.add(dup or other)
        if not roots:
            if current is not None:
                conn.execute("UPDATE articles SET duplicate_of = NULL WHERE id = ?", (article_id,))
            return None
        root = min(roots | {article_id})
        for member in (roots | {article_id}) - {root}:
            # a flat union: every member of a merged group points straight at the earliest article
            conn.execute(
                "UPDATE articles SET duplicate_of = ? WHERE id = ? OR duplicate_of = ?", (root, member, member)
            )
        if root == article_id:
            conn.execute("UPDATE articles SET duplicate_of = NULL WHERE id = ?", (article_id,))
            return None
        return root

"""Documents of consecutive source pages packed into full target batches, without loosening exactly-once.

A page of 200 orders is 6.67 QuickBooks batches of 30: posted page by page, every page ends in a part-filled
batch. The packer holds a page's leftover documents until the next page fills the batch. What it holds has no
ledger row yet (intent is recorded just before the post, as for any batch), and the cursor of a page is saved
only once every document queued up to the end of that page has been posted and recorded, so a crash while
documents are held re-reads their pages and posts them then.
"""

from __future__ import annotations

from collections.abc import Callable

from connex.documents import Document


class BatchPacker:
    def __init__(self, batch_size: int | None, post: Callable[[list[Document], dict, dict], None],
                 save_cursor: Callable[[dict], object]):
        """``batch_size`` None: post each page's documents as they come (targets without a batch size)."""
        self.batch_size = batch_size
        self._post = post
        self._save_cursor = save_cursor
        self._documents: list[Document] = []
        self._keys: set[str] = set()
        self._records: dict[str, dict] = {}
        self._digests: dict[str, str] = {}
        self._queued = 0  # documents ever handed over
        self._posted = 0  # of those, posted and recorded
        self._cursors: list[tuple[int, dict]] = []  # (documents queued when the page ended, its cursor)

    def add(self, documents: list[Document], records: dict, digests: dict) -> None:
        for doc in documents:
            if doc.key in self._keys:  # a record seen on two pages while its first copy is still held
                continue
            self._keys.add(doc.key)
            self._documents.append(doc)
            self._queued += 1
        self._records.update(records)
        self._digests.update(digests)
        if self.batch_size is None:
            self._send(len(self._documents))
        elif len(self._documents) >= self.batch_size:
            self._send(len(self._documents) // self.batch_size * self.batch_size)

    def checkpoint(self, cursor: dict) -> None:
        """The page that just ended may be resumed after once what it queued is recorded."""
        self._cursors.append((self._queued, cursor))
        self._save_due()

    def flush(self) -> None:
        """Post whatever is held (the end of the pages, or a stop)."""
        if self._documents:
            self._send(len(self._documents))
        self._save_due()

    def _send(self, count: int) -> None:
        batch, self._documents = self._documents[:count], self._documents[count:]
        records = {doc.key: self._records.pop(doc.key) for doc in batch if doc.key in self._records}
        digests = {doc.key: self._digests.pop(doc.key) for doc in batch if doc.key in self._digests}
        self._keys.difference_update(doc.key for doc in batch)
        self._post(batch, records, digests)  # raises on a transient failure: the held pages are not saved
        self._posted += len(batch)
        self._save_due()

    def _save_due(self) -> None:
        due = None
        while self._cursors and self._cursors[0][0] <= self._posted:
            due = self._cursors.pop(0)[1]
        if due is not None:
            self._save_cursor(due)

"""Documents of consecutive pages share full batches; a page's cursor is saved only once every document queued up
to the end of that page has been posted and recorded, and a failing post saves no later cursor."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connex.errors import TransientError
from connex.sync.packing import BatchPacker


class Doc:
    def __init__(self, key):
        self.key = key


def drive(pages, size, fail_at=None):
    posted, saved, log = [], [], []

    def post(batch, records, digests):
        if fail_at is not None and len(posted) + len(batch) > fail_at:
            raise TransientError("QuickBooks unreachable")
        posted.extend(doc.key for doc in batch)
        log.append(len(batch))

    packer = BatchPacker(size, post, lambda cursor: saved.append((cursor, len(posted))))
    queued, ends = 0, []
    try:
        for number, count in enumerate(pages):
            docs = [Doc(f"p{number}-{n}") for n in range(count)]
            packer.add(docs, {}, {})
            queued += count
            ends.append(queued)
            packer.checkpoint({"page": number})
        packer.flush()
    except TransientError:
        pass
    return posted, saved, log, ends


@given(pages=st.lists(st.integers(0, 75), max_size=12), size=st.sampled_from([None, 1, 7, 30]))
def test_batches_are_full_and_cursors_wait_for_their_documents(pages, size):
    posted, saved, log, ends = drive(pages, size)
    assert posted == [f"p{p}-{n}" for p, count in enumerate(pages) for n in range(count)]
    if size:
        assert all(n % size == 0 for n in log[:-1]) and len(log) <= -(-sum(pages) // size) + 1
    for cursor, when in saved:  # saved only after everything its page queued was posted
        assert when >= ends[cursor["page"]]
    if pages:
        assert saved[-1][0] == {"page": len(pages) - 1}


@given(pages=st.lists(st.integers(1, 50), min_size=1, max_size=8), fail_at=st.integers(0, 200))
def test_a_failed_post_saves_no_cursor_past_what_was_recorded(pages, fail_at):
    posted, saved, _, ends = drive(pages, 30, fail_at=fail_at)
    for cursor, _ in saved:
        assert ends[cursor["page"]] <= len(posted)


def test_a_document_met_twice_while_held_is_queued_once():
    batches = []
    packer = BatchPacker(30, lambda batch, r, d: batches.append([x.key for x in batch]), lambda c: None)
    packer.add([Doc("a"), Doc("b")], {}, {})
    packer.add([Doc("b"), Doc("c")], {}, {})
    packer.flush()
    assert batches == [["a", "b", "c"]]


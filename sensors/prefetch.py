"""Read ahead in a thread: a block iterator whose next blocks are produced while the caller works on
the current one.

Why: ``ingest`` of a video decodes frames (OpenCV, which releases the GIL) and compresses chunks
(zlib in the writer's thread pool, which releases it too). In one thread, decoding waits while the
writer hands chunks to the pool and writes finished ones; with the decoder in its own thread the
two cores stay busy (``weldfusion bench ingest``: ``ingest.decode_ratio``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

_DONE = object()


def prefetched(make_blocks: Callable[[], Iterator], depth: int = 2) -> Callable[[], Iterator]:
    """A block factory like ``make_blocks`` whose iterators run ``make_blocks()`` in a daemon thread,
    at most ``depth`` blocks ahead (bounded memory: ``depth`` + 2 blocks alive).

    Exceptions of the producer (a truncated file) are raised in the consumer at the point where the
    failing block would have come; a consumer that stops early (``close()``, an exception of its
    own) stops the producer before its next block.
    """

    def blocks() -> Iterator:
        q: queue.Queue = queue.Queue(maxsize=depth)
        stop = threading.Event()

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                for block in make_blocks():
                    if not put((block, None)):
                        return
                put((_DONE, None))
            except BaseException as err:  # noqa: BLE001 - handed to the consumer, raised there
                put((None, err))

        worker = threading.Thread(target=produce, name="weldfusion-prefetch", daemon=True)
        worker.start()
        try:
            while True:
                block, err = q.get()
                if err is not None:
                    raise err
                if block is _DONE:
                    return
                yield block
        finally:
            stop.set()
            worker.join()

    return blocks

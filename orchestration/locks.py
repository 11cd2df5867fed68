"""Who may write a data folder when: build steps share it, an erasure has it alone.

Every step of a build that writes personal data (extraction into the raw zone, the dbt build,
the CLV table, publishing, audience exports) holds a *shared* lock on `<data>/.build.lock`
while it writes; several steps may run at once. An erasure needs the folder to itself: it
takes the *exclusive* lock, and is refused with a clear message while any build step holds the
shared one, because a step that read the raw zone or the warehouse before the tombstones were
written could otherwise write the erased person back. Between two steps of a build an erasure
may run: the next step then reads the scrubbed data.

The locks are `flock(2)` locks: the kernel drops them when the holder dies (kill -9 included),
so a killed build never leaves a stale lock that needs manual repair.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

LOCK_NAME = ".build.lock"
# How long a build step waits for a running erasure (they take seconds to minutes).
DEFAULT_WRITER_WAIT_SECONDS = 1800.0


class DataFolderBusy(RuntimeError):
    """The lock could not be had: the message says who holds it and what to do."""


def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOCK_NAME


@contextmanager
def flock(
    path: Path,
    *,
    shared: bool = False,
    wait: bool | float = True,
    busy: Callable[[], Exception] | None = None,
) -> Iterator[IO[str]]:
    """An flock(2) on `path` (created if missing, never truncated) for the `with` block; yields
    the open file. `wait`: True blocks until the lock is free, False gives up at once, a number
    of seconds polls that long. Giving up raises `busy()` (BlockingIOError without it), only
    for the lock itself: an error of the block passes through untouched. Every lock of
    clientbase is one of these: the build/erasure lock below, one publish at a time
    (orchestration/serving.py), one load per raw table (orchestration/extraction/loader.py)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    # "a+": never truncates what an exclusive holder wrote about itself
    with open(path, "a+") as handle:
        if wait is True:
            fcntl.flock(handle, mode)
        else:
            deadline = time.monotonic() + (0.0 if wait is False else float(wait))
            while True:
                try:
                    fcntl.flock(handle, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        if busy is None:
                            raise
                        raise busy() from None
                    time.sleep(0.5)
        yield handle  # closing the file releases the lock


def _holder(path: Path) -> str:
    try:
        text = Path(path).read_text().strip().splitlines()
    except OSError:
        return "unknown"
    return text[-1] if text else "unknown"


@contextmanager
def build_step(
    data_dir: Path, step: str, wait_seconds: float = DEFAULT_WRITER_WAIT_SECONDS
) -> Iterator[None]:
    """Shared lock for a build step that writes; waits (polling) while an erasure runs."""
    path = lock_path(data_dir)

    def busy() -> DataFolderBusy:
        return DataFolderBusy(
            f"{step}: {data_dir} is held by {_holder(path)} for more than "
            f"{wait_seconds:.0f}s; the build step did not start"
        )

    with flock(path, shared=True, wait=wait_seconds, busy=busy):
        yield


@contextmanager
def exclusive(data_dir: Path, what: str) -> Iterator[None]:
    """Exclusive lock for maintenance that must not interleave with a build (erasure).
    Refuses at once, naming the reason, when a build step is writing."""

    def busy() -> DataFolderBusy:
        return DataFolderBusy(
            f"{what} refused: a build is writing {data_dir} right now. Nothing was changed; "
            "run it again when the build has finished (the Dagster UI shows the run)."
        )

    with flock(lock_path(data_dir), wait=False, busy=busy) as handle:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{what} (pid {os.getpid()})\n")
        handle.flush()
        yield

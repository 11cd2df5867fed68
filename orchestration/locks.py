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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".build.lock"
# How long a build step waits for a running erasure (they take seconds to minutes).
DEFAULT_WRITER_WAIT_SECONDS = 1800.0


class DataFolderBusy(RuntimeError):
    """The lock could not be had: the message says who holds it and what to do."""


def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOCK_NAME


def _open(data_dir: Path):
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    # "a": never truncates what the exclusive holder wrote about itself
    return open(lock_path(data_dir), "a+")


def _holder(handle) -> str:
    handle.seek(0)
    text = handle.read().strip().splitlines()
    return text[-1] if text else "unknown"


@contextmanager
def build_step(
    data_dir: Path, step: str, wait_seconds: float = DEFAULT_WRITER_WAIT_SECONDS
) -> Iterator[None]:
    """Shared lock for a build step that writes; waits (polling) while an erasure runs."""
    handle = _open(data_dir)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DataFolderBusy(
                        f"{step}: {data_dir} is held by {_holder(handle)} for more than "
                        f"{wait_seconds:.0f}s; the build step did not start"
                    ) from None
                time.sleep(0.5)
        yield
    finally:
        handle.close()  # releases the lock


@contextmanager
def exclusive(data_dir: Path, what: str) -> Iterator[None]:
    """Exclusive lock for maintenance that must not interleave with a build (erasure).
    Refuses at once, naming the reason, when a build step is writing."""
    handle = _open(data_dir)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataFolderBusy(
                f"{what} refused: a build is writing {data_dir} right now. Nothing was changed; "
                "run it again when the build has finished (the Dagster UI shows the run)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{what} (pid {os.getpid()})\n")
        handle.flush()
        yield
    finally:
        handle.close()

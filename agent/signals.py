"""Signals for the daemon: SIGHUP asks for a reload, SIGTERM and SIGINT for a stop, and
either wakes the loop's sleep at once (signal.set_wakeup_fd on a pipe the sleep selects
on; the handlers only set flags)."""

from __future__ import annotations

import contextlib
import os
import select
import signal
from collections.abc import Iterator
from types import FrameType


class Wakeup:
    def __init__(self) -> None:
        self.stopping = False
        self.reload_wanted = False
        self._fd: int | None = None

    def sleep(self, seconds: float) -> bool:
        """Sleep until the time has passed or a signal came; True when stopping."""
        watched = [] if self._fd is None else [self._fd]
        with contextlib.suppress(InterruptedError):
            ready, _, _ = select.select(watched, [], [], seconds)
            if ready and self._fd is not None:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._fd, 512)
        return self.stopping

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """The handlers, for the time of the `with` block."""
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        os.set_blocking(write_end, False)
        previous_fd = signal.set_wakeup_fd(write_end)
        self._fd = read_end

        def on_hup(signum: int, frame: FrameType | None) -> None:
            self.reload_wanted = True

        def on_stop(signum: int, frame: FrameType | None) -> None:
            self.stopping = True

        old = {
            signal.SIGHUP: signal.signal(signal.SIGHUP, on_hup),
            signal.SIGTERM: signal.signal(signal.SIGTERM, on_stop),
            signal.SIGINT: signal.signal(signal.SIGINT, on_stop),
        }
        try:
            yield
        finally:
            for signum, handler in old.items():
                signal.signal(signum, handler)
            signal.set_wakeup_fd(previous_fd)
            self._fd = None
            os.close(read_end)
            os.close(write_end)

"""A coroutine run in a thread of its own, on an event loop of its own.

What runs there keeps its own time: a CPU-bound caller that does not yield for seconds (an
analysis loop) cannot starve its connections and timeouts; the GIL hands the thread a turn
every few milliseconds (``sys.getswitchinterval()``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class LoopThread:
    """Runs one coroutine in a daemon thread (a stuck thread never keeps the process alive).
    :meth:`call` and :meth:`cancel` may be used from any thread; :meth:`join` (blocking) and
    :meth:`wait` (from another event loop) wait for the end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._finished: concurrent.futures.Future[None] = concurrent.futures.Future()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def running(self) -> bool:
        """Started and its loop not finished yet."""
        return self._thread is not None and not self._finished.done()

    def start(self, coro: Coroutine[Any, Any, None]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._task = loop.create_task(coro, name=self.name)
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()

    def call(self, fn: Callable[[], object]) -> bool:
        """Run ``fn`` in the thread's loop soon; False when the loop has ended."""
        loop = self._loop
        if loop is None:
            return False
        try:
            loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def cancel(self) -> None:
        """Cancel the coroutine (it cleans up as cancelled coroutines do)."""
        task = self._task
        if task is not None:
            self.call(task.cancel)

    def join(self, timeout: float | None) -> bool:
        """Block until the thread ends (or ``timeout``); True when it has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return self._finished.done()

    async def wait(self, timeout: float | None) -> bool:
        """From another event loop: until the thread ends (or ``timeout``); True when it has.
        Cancelling this call does not cancel the thread."""
        if self._thread is None or self._finished.done():
            return True
        loop = asyncio.get_running_loop()
        ended = asyncio.Event()

        def on_end(_f: object) -> None:
            try:
                loop.call_soon_threadsafe(ended.set)
            except RuntimeError:  # that loop has closed meanwhile: nobody waits any more
                pass

        self._finished.add_done_callback(on_end)
        try:
            async with asyncio.timeout(timeout):
                await ended.wait()
        except TimeoutError:
            return False
        return True

    def _main(self) -> None:
        loop, task = self._loop, self._task
        assert loop is not None and task is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        except BaseException:
            log.exception("%s failed", self.name)
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()
                self._finished.set_result(None)

"""A one-line status on a terminal's stderr while something slow happens (creating the private cluster)."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import TextIO

_REFRESH_SECONDS = 0.5


class StatusLine:
    """Call it with what is happening: the line is rewritten in place with the seconds spent so far, and
    cleared when called with an empty text. Draws nothing unless `stream` is a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._enabled = self._stream.isatty()
        self._text = ""
        self._since = 0.0
        self._lock = threading.Lock()
        self._ticker: threading.Thread | None = None

    def __call__(self, text: str) -> None:
        if not self._enabled:
            return
        with self._lock:
            if text and not self._text:
                self._since = time.monotonic()
            self._text = text
            self._draw()
        if text and self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="status-line", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while True:
            time.sleep(_REFRESH_SECONDS)
            with self._lock:
                if not self._text:
                    self._ticker = None
                    return
                self._draw()

    def _draw(self) -> None:
        line = ""
        if self._text:
            elapsed = f" ({time.monotonic() - self._since:.0f} s)"
            room = shutil.get_terminal_size().columns - 1 - len(elapsed)
            text = self._text
            if len(text) > room:  # keep both ends: what is done, and the step
                head = max(room // 2 - 2, 0)
                text = text[:head] + "..." + text[len(text) - max(room - head - 3, 0):]
            line = text + elapsed
        self._stream.write(f"\r\x1b[K{line}")
        self._stream.flush()


def status_line(quiet: bool) -> StatusLine | None:
    """A status line on stderr, or None when the command was asked to be quiet (--quiet, --json)."""
    return None if quiet else StatusLine()

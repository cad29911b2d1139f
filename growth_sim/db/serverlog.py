"""What the server's log says when it would not start: the telling lines, on one line."""

from __future__ import annotations

import re
from pathlib import Path

_LOG_LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] (LOG|ERROR|FATAL|PANIC):\s+(.*)$")
_ROUTINE = re.compile(r"^(starting PostgreSQL|listening on|database system|redirecting log|ending log)")


def startup_failure(startup_log: Path, log_dir: Path) -> str:
    """The most telling recent line of the start-up log or the server's logs, and that log's path."""
    logs = [startup_log]
    if log_dir.is_dir():
        logs += sorted(log_dir.glob("postgresql-*.log"), key=lambda p: p.stat().st_mtime)
    logs = [p for p in logs if p.exists()]
    if not logs:
        return f"no server log was written (expected {startup_log})"
    newest = max(logs, key=lambda p: p.stat().st_mtime)
    return f"{_explain(newest.read_text(errors='replace').splitlines()[-30:])} (server log: {newest})"


def last_line(text: str) -> str:
    """The last non-blank line of a tool's output."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"


def _explain(lines: list[str]) -> str:
    """The server's last FATAL/PANIC message, preceded by the messages of that process that explain it."""
    records = [(m.group(1), m.group(2), m.group(3).strip()) for ln in lines if (m := _LOG_LINE.match(ln))]
    fatal = [i for i, (_pid, level, _text) in enumerate(records) if level in ("FATAL", "PANIC")]
    if not fatal:
        return last_line("\n".join(lines))
    pid, _level, text = records[fatal[-1]]
    causes = [
        t
        for p, level, t in records[max(0, fatal[-1] - 5) : fatal[-1]]
        if p == pid and level in ("LOG", "ERROR") and not _ROUTINE.match(t)
    ]
    return "; ".join([*causes, text])

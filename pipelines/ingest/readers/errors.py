"""The one error a reader raises for a file that cannot be read at all (it goes to rejected/)."""
from __future__ import annotations


class UnreadableFile(Exception):
    """A file that cannot be read at all; the message is for the bureau (Chinese) and for us (English)."""

    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an engine error (DuckDB appends the failing SQL after a blank line)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:limit]

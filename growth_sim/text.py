"""Readable text from a corpus built once with Faker; rows take slices of it, never call Faker."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

_UNSAFE = re.compile(r"[^A-Za-z0-9 .,;:!?()'-]")
CORPUS_CHARS = 1 << 21


@lru_cache(maxsize=1)
def corpus() -> str:
    """About 2 MiB of English-like sentences, the same on every run (fixed Faker seed and locale).

    Only characters that need no escaping in COPY text or JSON strings are kept.
    """
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(20260105)
    parts: list[str] = []
    size = 0
    while size < CORPUS_CHARS:
        para = " ".join(fake.paragraphs(nb=8)) + " " + fake.catch_phrase() + ". " + fake.bs() + ". "
        para = _UNSAFE.sub(" ", para)
        parts.append(para)
        size += len(para)
    return "".join(parts)[:CORPUS_CHARS]


def slices(offsets: np.ndarray, lengths: np.ndarray) -> list[str]:
    """Text of each (offset, length) taken from the corpus, wrapping around its end."""
    text = corpus()
    doubled = text + text
    n = len(text)
    lengths = np.minimum(lengths, n)
    return [doubled[o:o + ln] for o, ln in zip((offsets % n).tolist(), lengths.tolist(), strict=True)]

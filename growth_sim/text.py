"""Readable text from a corpus built once with Faker; rows take slices of it, never call Faker."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

_UNSAFE = re.compile(r"[^A-Za-z0-9 .,;:!?()'-]")
CORPUS_CHARS = 1 << 21
_SEED = 20260105
_WORDS = 400_000


@lru_cache(maxsize=1)
def corpus() -> str:
    """About 2 MiB of English-like sentences, the same on every run (fixed Faker seed and locale).

    Faker draws the words in one call; sentences of 4 to 12 words and paragraphs of 3 to 8 sentences are cut
    from them with a seeded generator, which takes milliseconds where per-sentence Faker calls take seconds.
    Only characters that need no escaping in COPY text or JSON strings are kept.
    """
    import random

    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(_SEED)
    words = [_UNSAFE.sub(" ", w) for w in fake.words(nb=_WORDS)]
    rng = random.Random(_SEED)
    parts: list[str] = []
    size = at = 0
    while size < CORPUS_CHARS:
        sentences = []
        for _ in range(rng.randint(3, 8)):
            n = rng.randint(4, 12)
            chosen = [words[(at + k) % _WORDS] for k in range(n)]
            at += n
            sentences.append(chosen[0].capitalize() + " " + " ".join(chosen[1:]) + ".")
        para = " ".join(sentences) + " "
        parts.append(para)
        size += len(para)
    return "".join(parts)[:CORPUS_CHARS]


@lru_cache(maxsize=1)
def _doubled() -> str:
    """The corpus twice over, so that a slice running past its end is one slice."""
    return corpus() + corpus()


def slices(offsets: np.ndarray, lengths: np.ndarray) -> list[str]:
    """Text of each (offset, length) taken from the corpus, wrapping around its end."""
    doubled = _doubled()
    n = len(doubled) // 2
    lengths = np.minimum(lengths, n)
    return [doubled[o:o + ln] for o, ln in zip((offsets % n).tolist(), lengths.tolist(), strict=True)]

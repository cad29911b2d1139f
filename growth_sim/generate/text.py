"""Readable text from a corpus built once with Faker; rows take slices of it, never call Faker."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

_UNSAFE = re.compile(r"[^A-Za-z0-9 .,;:!?()'-]")
CORPUS_CHARS = 1 << 21
_SEED = 20260105
_WORDS = 600_000


@lru_cache(maxsize=1)
def corpus() -> str:
    """About 2 MiB of English-like sentences, the same on every run (fixed seed).

    The words are Faker's English lorem vocabulary, drawn with a seeded numpy generator into sentences of 4 to
    12 words: milliseconds, where per-sentence Faker calls take seconds.
    Only characters that need no escaping in COPY text or JSON strings are kept.
    """
    from faker.providers.lorem.en_US import Provider

    rng = np.random.default_rng(_SEED)
    vocabulary = [_UNSAFE.sub(" ", w) for w in Provider.word_list]
    words = [vocabulary[i] for i in rng.integers(0, len(vocabulary), _WORDS).tolist()]
    parts: list[str] = []
    size = at = 0
    for length in rng.integers(4, 13, _WORDS // 4).tolist():
        sentence = words[at].capitalize() + " " + " ".join(words[at + 1:at + length]) + "."
        at += length
        parts.append(sentence)
        size += len(sentence) + 1
        if size >= CORPUS_CHARS:
            break
    return " ".join(parts)[:CORPUS_CHARS]


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

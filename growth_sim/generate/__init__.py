"""Generation primitives for models: counter-based randomness, COPY batches, text corpus."""

"""Random initialization: new rows drawn from the source embeddings' distribution (baseline)."""

from __future__ import annotations

from langadapt.transfer.combine import new_rows, sample_like, uncopied


def init(old_in, old_out, overlap, aux=None, distribution: str = "normal", seed: int = 0, **_):
    """Common transfer signature. Only rows that are neither shared nor special are drawn (the
    caller copies the others)."""
    todo = uncopied(overlap)

    def fill(j, old, rows):
        rows[todo] = sample_like(old, len(todo), distribution, seed + j)

    return new_rows(old_in, old_out, overlap, fill)

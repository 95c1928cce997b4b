"""LEP's mean-of-subtokens initialization (LEP eq. 1-2)."""

from __future__ import annotations

import numpy as np
import torch


def conversion_matrix(offsets: np.ndarray, subtokens: np.ndarray, old_size: int) -> torch.Tensor:
    """Sparse T (|V_new| x |V_old|): row t averages the old subtokens spelling new token t.

    Rows without any subtoken are all zero; callers fill them with the mean of all rows.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    weights = np.repeat(1.0 / np.maximum(lengths, 1), lengths)
    idx = torch.from_numpy(np.stack([rows, np.asarray(subtokens, dtype=np.int64)]))
    return torch.sparse_coo_tensor(
        idx, torch.from_numpy(weights), (len(lengths), old_size), check_invariants=False
    ).coalesce()


def mean_subtoken_init(old: torch.Tensor, offsets: np.ndarray, subtokens: np.ndarray,
                       columns: int = 256) -> torch.Tensor:
    """I_new[t] = mean_j I_old[o_j]; tokens with no mapping get the mean of all old rows.

    Summed in float64, `columns` dimensions at a time: the same bits as one float64 product,
    without float64 copies of both whole matrices (16 GB at Gemma 3's 262k × 2560)."""
    T = conversion_matrix(offsets, subtokens, old.shape[0]).to(torch.float64)
    empty = torch.from_numpy(np.diff(np.asarray(offsets)) == 0)
    new = torch.empty((T.shape[0], old.shape[1]), dtype=old.dtype)
    for c in range(0, old.shape[1], columns):
        part_old = old.detach()[:, c:c + columns].to(torch.float64)
        part = torch.sparse.mm(T, part_old)
        if empty.any():
            part[empty] = part_old.mean(0)
        new[:, c:c + columns] = part.to(old.dtype)
    return new


def init(old_in, old_out, overlap: dict, aux=None, **_):
    """Common transfer signature: (input rows, output rows or None) for the new vocabulary."""
    args = (overlap["offsets"], overlap["subtokens"])
    return mean_subtoken_init(old_in, *args), None if old_out is None else mean_subtoken_init(old_out, *args)

"""Shared machinery of the similarity-weighted methods (FOCUS, WECHSEL): batched cosine
similarities in an auxiliary space, sparse or top-k weights, weighted sums of source rows."""

from __future__ import annotations

import torch


def uncopied(overlap: dict) -> torch.Tensor:
    """Ids of new tokens that are neither shared nor special: the only rows a method must compute
    (the others are copied from the source rows afterwards)."""
    copied = torch.zeros(overlap["new_size"], dtype=torch.bool)
    pairs = torch.as_tensor(overlap["shared"] + overlap.get("specials", []), dtype=torch.int64).reshape(-1, 2)
    copied[pairs[:, 0]] = True
    return torch.nonzero(~copied).squeeze(1)


def cosine_topk(query: torch.Tensor, keys: torch.Tensor, k: int, batch: int = 2048, absolute: bool = False):
    """(values, indices) of the k most cosine-similar keys per query row (or of the largest
    absolute cosines), in batches."""
    qn = torch.nn.functional.normalize(query.float(), dim=1)
    kn = torch.nn.functional.normalize(keys.float(), dim=1)
    k = min(k, keys.shape[0])
    vals = qn.new_empty((len(qn), k))
    idx = torch.empty((len(qn), k), dtype=torch.int64)
    sims = qn.new_empty((min(batch, len(qn)), len(kn)))  # reused: fresh pages per batch cost as much as the product
    for i in range(0, len(qn), batch):
        s = sims[:len(qn) - i] if i + batch > len(qn) else sims
        torch.mm(qn[i:i + batch], kn.T, out=s)
        if absolute:
            s.abs_()
        torch.topk(s, k, dim=1, out=(vals[i:i + batch], idx[i:i + batch]))
    return vals, idx


def sparsemax_sorted(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sparsemax of rows whose values are sorted descending: (probabilities, support size)."""
    z = z.to(torch.float64)
    ks = torch.arange(1, z.shape[1] + 1, dtype=z.dtype)
    csum = z.cumsum(1)
    support = (1 + ks * z > csum).sum(1)
    tau = (csum.gather(1, (support - 1)[:, None]).squeeze(1) - 1) / support
    return (z - tau[:, None]).clamp_min(0), support


def sparsemax_topk(query: torch.Tensor, keys: torch.Tensor, k: int = 64, batch: int = 2048):
    """Sparsemax over cosine similarities to all keys, computed from the top k only.

    Exact: sparsemax's support is a prefix of the sorted similarities, and where it fills
    all k the row is recomputed with 4k (up to every key). Returns (weights, indices)."""
    vals, idx = cosine_topk(query, keys, k, batch)
    w, support = sparsemax_sorted(vals)
    full = support >= vals.shape[1]
    if full.any() and vals.shape[1] < keys.shape[0]:
        w2, i2 = sparsemax_topk(query[full], keys, 4 * k, batch)
        w = torch.cat([w, w.new_zeros((len(w), w2.shape[1] - w.shape[1]))], 1)
        idx = torch.cat([idx, idx.new_zeros((len(idx), i2.shape[1] - idx.shape[1]))], 1)
        w[full], idx[full] = w2, i2
    return w, idx


def weighted_rows(weights: torch.Tensor, idx: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """out[b] = Σ_j weights[b, j] · rows[idx[b, j]], in the rows' precision (at least float32).

    One weighted `embedding_bag` over the non-zero weights only: no B × k × d gather is formed,
    and sparsemax's zeros cost nothing (3× faster than a sparse CSR product at 64k × 64 × 4096)."""
    dtype = torch.promote_types(rows.dtype, torch.float32)
    if len(idx) == 0:
        return rows.new_zeros((0, rows.shape[1]), dtype=dtype)
    keep = weights != 0
    counts = keep.sum(1)
    offsets = torch.cat([counts.new_zeros(1), counts.cumsum(0)[:-1]])
    return torch.nn.functional.embedding_bag(idx[keep], rows.detach().to(dtype), offsets, mode="sum",
                                             per_sample_weights=weights[keep].to(dtype))


def new_rows(old_in, old_out, overlap: dict, fill):
    """For each matrix (input, output or None): zeros of the new vocabulary's size, with
    `fill(j, old, rows)` writing the uncopied rows; shared and special rows stay zero for the
    caller to copy."""
    out = []
    for j, old in enumerate((old_in, old_out)):
        if old is None:
            out.append(None)
            continue
        rows = torch.zeros((overlap["new_size"], old.shape[1]), dtype=old.dtype)
        fill(j, old, rows)
        out.append(rows)
    return tuple(out)


def mix_rows(old_in, old_out, overlap: dict, query, weights, idx, key_rows, seed: int):
    """For each matrix: rows `query` = weighted sums of old rows `key_rows[idx]`; the other
    uncopied rows (tokens without an auxiliary vector) drawn from the old rows' per-dimension
    normal."""
    todo = uncopied(overlap)
    rest = todo[~torch.isin(todo, query)]

    def fill(j, old, rows):
        if len(rest):
            rows[rest] = sample_like(old, len(rest), "normal_diag", seed + j)
        rows[query] = weighted_rows(weights, key_rows[idx], old).to(old.dtype)

    return new_rows(old_in, old_out, overlap, fill)


COV_ROWS = 32768  # rows used to estimate the covariance: plenty for d ≤ 8192, bounded cost at 128k tokens


def sample_like(old: torch.Tensor, n: int, distribution: str, seed: int) -> torch.Tensor:
    """n rows from N(mean, Σ) of `old` ('normal': full covariance, 'normal_diag': per-dimension std)."""
    gen = torch.Generator().manual_seed(seed)
    x = old.detach().to(torch.float32)
    mean = x.mean(0)
    if distribution == "normal_diag":
        return (mean + torch.randn((n, x.shape[1]), generator=gen) * x.std(0)).to(old.dtype)
    if len(x) > COV_ROWS:
        x = x[torch.randperm(len(x), generator=gen)[:COV_ROWS]]
    centred = x - x.mean(0)
    cov = (centred.T @ centred).to(torch.float64) / max(len(x) - 1, 1)  # float32 product, centred: exact enough
    cov.diagonal().add_(1e-6 * cov.diagonal().mean().clamp_min(1e-12))
    chol = torch.linalg.cholesky(cov).to(torch.float32)
    zt = torch.randn((x.shape[1], n), generator=gen)
    return lower_times(chol, zt).T.add_(mean).to(old.dtype)


def lower_times(L: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """L @ z for lower-triangular L, skipping its zero upper-right block (3/4 of the work)."""
    h = L.shape[0] // 2
    out = torch.empty((L.shape[0], z.shape[1]), dtype=z.dtype)
    torch.mm(L[:h, :h], z[:h], out=out[:h])
    torch.mm(L[h:], z, out=out[h:])
    return out



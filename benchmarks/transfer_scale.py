"""Initialization time per transfer method at LLaMa-3 scale on synthetic matrices.

128,000-token source and new vocabularies, 4096-dim input and output embeddings, half of
the new vocabulary shared, new tokens spelled by 3 source subtokens on average, a 1024-dim
PLM for LET/SALT and 100-dim auxiliary vectors for FOCUS/WECHSEL. Prints seconds per
method (both matrices, shared rows copied), as `transfer_model` runs them.

    .venv/bin/python benchmarks/transfer_scale.py [--vocab 128000] [--dim 4096] [--methods ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from langadapt.transfer import METHODS, copy_shared, get_method

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=128_000)
    ap.add_argument("--dim", type=int, default=4096)
    ap.add_argument("--plm-dim", type=int, default=1024)
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    args = ap.parse_args()
    n, d = args.vocab, args.dim
    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(0)
    old_in = torch.randn((n, d), generator=gen)
    old_out = torch.randn((n, d), generator=gen)
    n_shared = n // 2
    shared = np.stack([np.arange(n_shared), rng.permutation(n)[:n_shared]], 1)
    lengths = np.zeros(n, dtype=np.int64)
    lengths[n_shared:] = rng.integers(1, 6, n - n_shared)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    subtokens = rng.integers(0, n, int(offsets[-1]))
    lengths[:n_shared] = 1
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    subtokens = np.concatenate([shared[:, 1], subtokens])
    overlap = {"shared": shared.tolist(), "specials": [], "new_size": n, "old_size": n,
               "offsets": offsets, "subtokens": subtokens}
    aux = {"plm_in": torch.randn((n, args.plm_dim), generator=gen),
           "focus": rng.normal(size=(n, 100)).astype(np.float32),
           "source": rng.normal(size=(n, 100)).astype(np.float32),
           "target": rng.normal(size=(n, 100)).astype(np.float32)}
    print(f"{n} tokens x {d} dims (input + output), {n_shared} shared, PLM dim {args.plm_dim}, "
          f"{torch.get_num_threads()} threads")
    print(f"{'method':<10}{'seconds':>10}")
    for m in args.methods:
        t0 = time.perf_counter()
        new_in, new_out = get_method(m)(old_in, old_out, overlap, aux)
        copy_shared(new_in, old_in, overlap)
        copy_shared(new_out, old_out, overlap)
        dt = time.perf_counter() - t0
        assert new_in.shape == (n, d) and torch.isfinite(new_in).all()
        print(f"{m:<10}{dt:>10.1f}", flush=True)
        del new_in, new_out


if __name__ == "__main__":
    main()

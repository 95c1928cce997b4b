"""Every transfer method against planted ground truth: LET recovers a linear map, SALT equals
LET when the map is global and beats it when it is piecewise, OMP recovers sparse combinations
and is scikit-learn's OMP, sparsemax is exact, shared rows are copied bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from langadapt.core.errors import LangadaptError
from langadapt.transfer.apply import copy_shared
from langadapt.transfer.combine import sparsemax_sorted, sparsemax_topk
from langadapt.transfer.registry import METHODS, get_method

N_NEW, N_OLD, D_PLM, D_LLM = 400, 300, 12, 20


def planted(rng, n_shared=200, piecewise=False):
    """PLM rows P for the new vocabulary; LLM rows E for the old one, with E[old(t)] = f(P[t])
    on shared tokens. New token t < n_shared is shared with old token t + 50."""
    P = torch.from_numpy(rng.normal(size=(N_NEW, D_PLM)))
    W1 = torch.from_numpy(rng.normal(size=(D_PLM, D_LLM)))
    if piecewise:  # two well-separated clusters with different maps
        side = torch.from_numpy(rng.integers(0, 2, N_NEW)).bool()
        P[:, 0] = torch.where(side, 8.0, -8.0) + P[:, 0] * 0.5
        W2 = torch.from_numpy(rng.normal(size=(D_PLM, D_LLM)))
        target = torch.where(side[:, None], P @ W2, P @ W1)
    else:
        target = P @ W1
    old = torch.from_numpy(rng.normal(size=(N_OLD, D_LLM)))
    shared = [[t, t + 50] for t in range(n_shared)]
    old[torch.tensor([o for _, o in shared])] = target[:n_shared]
    overlap = {"shared": shared, "specials": [], "new_size": N_NEW, "old_size": N_OLD,
               "offsets": np.arange(N_NEW + 1), "subtokens": np.arange(N_NEW) % N_OLD}
    return P, old, overlap, target


def run(method, old, overlap, aux, **params):
    new_in, _ = get_method(method)(old, None, overlap, aux, **params)
    return copy_shared(new_in, old, overlap)


def test_let_recovers_a_planted_linear_map():
    P, old, ov, target = planted(np.random.default_rng(0))
    new = run("let", old, ov, {"plm_in": P})
    torch.testing.assert_close(new, target, rtol=0, atol=1e-9)


def test_let_maps_between_different_dimensions_with_ridge():
    P, old, ov, target = planted(np.random.default_rng(1))
    new = run("let", old, ov, {"plm_in": P}, ridge=1e-3)
    err = (new[200:] - target[200:]).norm() / target[200:].norm()
    assert new.shape == (N_NEW, D_LLM) and 0 < err < 0.01


def test_salt_equals_let_for_a_global_linear_map():
    P, old, ov, target = planted(np.random.default_rng(2))
    let = run("let", old, ov, {"plm_in": P})
    salt = run("salt", old, ov, {"plm_in": P}, k=40, ridge=1e-10)
    torch.testing.assert_close(salt, let, rtol=0, atol=1e-5)


def test_salt_beats_let_on_a_piecewise_linear_map():
    P, old, ov, target = planted(np.random.default_rng(3), piecewise=True)
    err = {m: ((run(m, old, ov, {"plm_in": P}, **kw)[200:] - target[200:]).norm() / target[200:].norm()).item()
           for m, kw in (("let", {}), ("salt", {"k": 40, "ridge": 1e-8}))}
    assert err["salt"] < 1e-4 < 0.1 < err["let"], err


def sparse_planted(rng, n_shared=200, d=48, support=(2, 6)):
    """PLM rows where every new token t ≥ n_shared is a sparse combination (2–5 terms, coefficients
    ±0.5–2) of shared tokens' rows; the LLM rows it should get are the same combination of theirs."""
    P = torch.from_numpy(rng.normal(size=(N_NEW, d)))
    old = torch.from_numpy(rng.normal(size=(N_OLD, D_LLM)))
    shared = [[t, t + 50] for t in range(n_shared)]
    target = torch.zeros((N_NEW, D_LLM), dtype=torch.float64)
    for t in range(n_shared, N_NEW):
        terms = rng.choice(n_shared, rng.integers(*support), replace=False)
        coef = torch.from_numpy(rng.uniform(0.5, 2, len(terms)) * rng.choice([-1, 1], len(terms)))
        P[t] = coef @ P[terms]
        target[t] = coef @ old[terms + 50]
    overlap = {"shared": shared, "specials": [], "new_size": N_NEW, "old_size": N_OLD}
    return P, old, overlap, target


def test_omp_recovers_a_planted_sparse_combination():
    """Each new token's PLM row is a combination of 2–5 shared rows: OMP over every shared token
    finds those rows and coefficients, gives the same combination of the LLM's rows and stops once
    nothing is left (no further terms). Over a pool of the 64 most similar (of 200), it still finds
    nearly all: the terms it misses are those the pool left out."""
    from langadapt.transfer.combine import cosine_topk
    from langadapt.transfer.omp import pursue

    P, old, ov, target = sparse_planted(np.random.default_rng(8))
    new = run("omp", old, ov, {"plm_in": P}, k=8, pool=200)
    torch.testing.assert_close(new[200:], target[200:], rtol=1e-5, atol=1e-5)  # atoms in float32
    _, candidates = cosine_topk(P[200:], P[:200], 200, absolute=True)
    coef, _ = pursue(P[200:], P[:200], candidates, k=8)
    assert ((coef != 0).sum(1) <= 5).all()

    P, old, ov, target = sparse_planted(np.random.default_rng(8), d=128)
    new = run("omp", old, ov, {"plm_in": P}, k=8, pool=64)
    err = (new[200:] - target[200:]).norm(dim=1) / target[200:].norm(dim=1)
    assert (err < 1e-5).float().mean() > 0.95


def test_omp_is_sklearns_orthogonal_matching_pursuit():
    """On dense rows (nothing to recover exactly), k steps over all shared tokens pick the same
    atoms with the same coefficients as scikit-learn's orthogonal_mp on unit-norm atoms."""
    from sklearn.linear_model import orthogonal_mp

    from langadapt.transfer.omp import pursue

    rng = np.random.default_rng(9)
    atoms, query = torch.from_numpy(rng.normal(size=(150, 40))), torch.from_numpy(rng.normal(size=(30, 40)))
    coef, idx = pursue(query, atoms, torch.arange(150).expand(30, 150), k=6)
    norms = atoms.norm(dim=1)
    want = torch.from_numpy(orthogonal_mp((atoms / norms[:, None]).T.numpy(), query.T.numpy(), n_nonzero_coefs=6)).T
    got = torch.zeros(30, 150, dtype=torch.float64).scatter_add_(1, idx, coef) * norms
    assert ((got != 0) == (want != 0)).all()
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)  # the atoms in float32, the solves in float64


def test_let_salt_and_omp_need_shared_tokens():
    P, old, ov, _ = planted(np.random.default_rng(4))
    ov["shared"] = []
    for m in ("let", "salt", "omp"):
        with pytest.raises(LangadaptError, match="share no tokens"):
            get_method(m)(old, None, ov, {"plm_in": P})


def test_sparsemax_from_top_k_is_exact():
    rng = np.random.default_rng(5)
    q, keys = torch.from_numpy(rng.normal(size=(50, 8))), torch.from_numpy(rng.normal(size=(300, 8)))
    w, idx = sparsemax_topk(q, keys, k=2)  # forces the widening path
    qn, kn = torch.nn.functional.normalize(q, dim=1), torch.nn.functional.normalize(keys, dim=1)
    full, order = (qn @ kn.T).sort(1, descending=True)
    ref, _ = sparsemax_sorted(full)
    dense = torch.zeros(50, 300, dtype=torch.float64).scatter_add_(1, idx, w)
    expect = torch.zeros(50, 300, dtype=torch.float64).scatter_(1, order, ref)
    torch.testing.assert_close(dense, expect, rtol=0, atol=1e-6)
    torch.testing.assert_close(w.sum(1), torch.ones(50, dtype=torch.float64))


def test_focus_is_sparsemax_over_cosine_to_shared_tokens():
    rng = np.random.default_rng(6)
    old = torch.from_numpy(rng.normal(size=(N_OLD, D_LLM)))
    aux = rng.normal(size=(N_NEW, 16)).astype(np.float32)
    aux[390:] = 0  # unseen by fastText: drawn at random, never used as keys
    ov = {"shared": [[t, t + 50] for t in range(200)], "specials": [], "new_size": N_NEW, "old_size": N_OLD}
    new = run("focus", old, ov, {"focus": aux})
    a = torch.nn.functional.normalize(torch.from_numpy(aux[200:390]).double(), dim=1)
    keys = torch.nn.functional.normalize(torch.from_numpy(aux[:200]).double(), dim=1)
    z, order = (a @ keys.T).sort(1, descending=True)
    w, _ = sparsemax_sorted(z)
    dense = torch.zeros(190, 200, dtype=torch.float64).scatter_(1, order, w)
    torch.testing.assert_close(new[200:390], dense @ old[50:250], rtol=0, atol=1e-5)
    assert (dense > 0).sum(1).float().mean() < 20  # sparse: a few shared tokens per new token


def test_wechsel_softmax_over_nearest_source_tokens():
    rng = np.random.default_rng(7)
    old = torch.from_numpy(rng.normal(size=(N_OLD, D_LLM)))
    src = rng.normal(size=(N_OLD, 16)).astype(np.float32)
    tgt = rng.normal(size=(N_NEW, 16)).astype(np.float32)
    tgt[350] = src[11]
    ov = {"shared": [], "specials": [], "new_size": N_NEW, "old_size": N_OLD}
    new = run("wechsel", old, ov, {"source": src, "target": tgt}, k=10, temperature=0.1)
    sims = torch.nn.functional.normalize(torch.from_numpy(src), dim=1) @ torch.nn.functional.normalize(
        torch.from_numpy(tgt[350]), dim=0)
    top = sims.topk(10)
    w = torch.softmax(top.values.double() / 0.1, 0)
    torch.testing.assert_close(new[350], (w[:, None] * old[top.indices]).sum(0), rtol=0, atol=1e-6)


def test_random_rows_follow_the_source_distribution():
    rng = np.random.default_rng(8)
    L = torch.from_numpy(rng.normal(size=(6, 6)))
    old = torch.from_numpy(rng.normal(size=(4000, 6))) @ L.T + 3.0
    ov = {"shared": [], "specials": [], "new_size": 20000, "old_size": 4000}
    new = run("random", old, ov, None)
    torch.testing.assert_close(new.mean(0), old.mean(0), rtol=0, atol=0.1)
    torch.testing.assert_close(torch.cov(new.T), torch.cov(old.T), rtol=0.1, atol=0.1)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_copies_shared_rows_bit_for_bit(method):
    rng = np.random.default_rng(9)
    P, old, ov, _ = planted(rng)
    old = old.float()
    aux = {"plm_in": P, "focus": rng.normal(size=(N_NEW, 8)).astype(np.float32),
           "source": rng.normal(size=(N_OLD, 8)).astype(np.float32),
           "target": rng.normal(size=(N_NEW, 8)).astype(np.float32)}
    new = run(method, old, ov, aux)
    pairs = torch.tensor(ov["shared"])
    assert new.dtype == old.dtype and new.shape == (N_NEW, D_LLM)
    assert torch.equal(new[pairs[:, 0]], old[pairs[:, 1]])
    assert torch.isfinite(new).all()

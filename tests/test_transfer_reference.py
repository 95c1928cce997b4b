"""Our FOCUS and WECHSEL against the authors' packages (PyPI deepfocus, wechsel) on one fixed
case: equal auxiliary vectors in, row-wise cosine of the new tokens' rows out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from langadapt.transfer.reference import focus_reference, rowwise_cosine, wechsel_reference
from langadapt.transfer.registry import get_method

N_OLD, N_NEW, D, D_AUX = 300, 400, 32, 16


@pytest.fixture
def case():
    rng = np.random.default_rng(0)
    old = torch.from_numpy(rng.normal(size=(N_OLD, D)).astype(np.float32))
    overlap = {"shared": [[t, t + 50] for t in range(200)], "specials": [], "new_size": N_NEW, "old_size": N_OLD}
    # clustered auxiliary vectors, so sparsemax keeps several shared tokens per new token
    centres = rng.normal(size=(12, D_AUX))
    target = (centres[rng.integers(0, 12, N_NEW)] + 0.6 * rng.normal(size=(N_NEW, D_AUX))).astype(np.float32)
    target[390:] = 0  # tokens fastText never saw: no vector
    source = (centres[rng.integers(0, 12, N_OLD)] + 0.6 * rng.normal(size=(N_OLD, D_AUX))).astype(np.float32)
    return old, overlap, target, source


def test_focus_matches_deepfocus(case):
    pytest.importorskip("deepfocus")
    old, overlap, target, _ = case
    ours, _ = get_method("focus")(old, None, overlap, {"focus": target})
    ref, ids = focus_reference(old, overlap, target)
    cos = rowwise_cosine(ours[ids], ref[ids])
    print(f"FOCUS vs deepfocus: {len(ids)} new tokens, row-wise cosine min {cos.min():.6f} mean {cos.mean():.6f}")
    assert len(ids) == 190 and cos.min() >= 0.99
    assert (ref[ids].abs().sum(1) > 0).all()


def test_wechsel_matches_wechsel(case):
    pytest.importorskip("wechsel")
    old, overlap, target, source = case
    ours, _ = get_method("wechsel")(old, None, overlap, {"source": source, "target": target}, k=10, temperature=0.1)
    ref, ids = wechsel_reference(old, source, target, k=10, temperature=0.1)
    # the reference recomputes tokens both vocabularies share; every method here copies them
    ids = ids[ids >= 200]
    cos = rowwise_cosine(ours[ids], ref[ids])
    print(f"WECHSEL vs wechsel: {len(ids)} new tokens, row-wise cosine min {cos.min():.6f} mean {cos.mean():.6f}")
    assert len(ids) == 190 and cos.min() >= 0.99


def test_a_changed_temperature_is_seen_by_the_comparison(case):
    """The check can fail: a different temperature on our side moves the rows away from the reference."""
    pytest.importorskip("wechsel")
    old, overlap, target, source = case
    ours, _ = get_method("wechsel")(old, None, overlap, {"source": source, "target": target}, k=10, temperature=1.0)
    ref, ids = wechsel_reference(old, source, target, k=10, temperature=0.1)
    ids = ids[ids >= 200]
    assert rowwise_cosine(ours[ids], ref[ids]).min() < 0.99

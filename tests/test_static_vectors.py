"""WECHSEL's and FOCUS's auxiliary spaces: Mueller dictionary entries and pairs files parsed into
single-word pairs, Procrustes recovers a planted rotation, alignment precision measured on held-out
dictionary pairs (1.0 for a planted rotation, near 0 for unrelated spaces), FOCUS vectors cover the
frequent tokens."""

import gzip

import numpy as np
import pytest

from langadapt.core.errors import LangadaptError
from langadapt.data.dictionaries import read_dictionary, read_mueller
from langadapt.transfer.vectors import alignment_precision, focus_vectors, procrustes

MUELLER = """00databaseinfo
   header line
window
   [wɪndɜʊ] _n.
   1) окно
   2) _attr. оконный; to have all one's goods in the window
table
   [tɛɪbl]
   1. _n.
      1) стол; to be at table быть за столом
      2) пища, стол; еда
look-out
   1) наблюдение
"""


def test_mueller_pairs(tmp_path):
    path = tmp_path / "m.dict.dz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(MUELLER)
    assert read_mueller(path, "en", "ru") == [("window", "окно"), ("window", "оконный"), ("table", "стол"), ("table", "пища")]


def test_dictionary_from_package_dir_or_pairs_file(tmp_path):
    pkg = tmp_path / "pkg" / "usr" / "share" / "dictd"
    pkg.mkdir(parents=True)
    with gzip.open(pkg / "mueller7.dict.dz", "wt", encoding="utf-8") as f:
        f.write(MUELLER)
    assert read_dictionary(tmp_path / "pkg", None, "en", "ru")[0] == ("window", "окно")
    (tmp_path / "pairs.tsv").write_text("Cat\tкошка\nbad line\ndog\tсобака\n", encoding="utf-8")
    assert read_dictionary(tmp_path / "pairs.tsv", None, "en", "ru") == [("cat", "кошка"), ("dog", "собака")]
    (tmp_path / "empty.tsv").write_text("no pairs here\n")
    with pytest.raises(LangadaptError, match="empty.tsv: holds no tab-separated word pairs"):
        read_dictionary(tmp_path / "empty.tsv", None, "en", "ru")


def test_procrustes_recovers_a_planted_rotation():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    X = rng.normal(size=(200, 16))
    np.testing.assert_allclose(procrustes(X, X @ q), q, atol=1e-10)


def test_alignment_precision_is_measured_on_held_out_pairs():
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    X = rng.normal(size=(300, 16))
    X /= np.linalg.norm(X, axis=1, keepdims=True)  # unit rows, as wechsel_vectors passes them
    words = [f"w{i}" for i in range(300)]
    exact = alignment_precision(X, X @ q.T, words, seed=0)  # target = source rotated: perfectly alignable
    assert exact == {"heldout_pairs": 60, "heldout_p_at_1": 1.0, "heldout_p_at_10": 1.0}
    noise = alignment_precision(X, rng.normal(size=(300, 16)), words, seed=0)  # unrelated spaces
    assert noise["heldout_p_at_1"] < 0.1


def test_focus_vectors_cover_frequent_tokens(spm_tok, ru_docs):
    vec = focus_vectors(spm_tok, ru_docs, dim=16, epochs=2, min_count=5)
    assert vec.shape == (len(spm_tok), 16)
    counts = np.bincount(np.concatenate([spm_tok.encode(d, add_special_tokens=False) for d in ru_docs]),
                         minlength=len(spm_tok))
    seen = np.abs(vec).sum(1) > 0
    assert np.array_equal(seen, counts >= 5)

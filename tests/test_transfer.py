"""Transfer through the model: the mean-of-subtokens rows match their definition, shared rows are
copied bit for bit, LET and SALT build a model with the new vocabulary, and before any work an
unknown method, a method without its input (vectors, PLM), a PLM with another tokenizer, with
fewer embedding rows than tokens, or sharing no token with the LLM are refused."""

import json

import numpy as np
import pytest
import torch

from langadapt.core.errors import LangadaptError
from langadapt.transfer.apply import transfer_model
from langadapt.transfer.mean import conversion_matrix, mean_subtoken_init
from langadapt.transfer.registry import get_method
from langadapt.vocab.overlap import compute_overlap


def test_mean_of_subtokens_matches_definition():
    old = torch.randn(10, 4)
    offsets = np.array([0, 2, 3, 3, 6])
    subtokens = np.array([1, 2, 5, 0, 0, 9])
    new = mean_subtoken_init(old, offsets, subtokens)
    torch.testing.assert_close(new[0], (old[1] + old[2]) / 2)
    assert torch.equal(new[1], old[5])
    torch.testing.assert_close(new[2], old.mean(0))  # no mapping: mean of all rows
    torch.testing.assert_close(new[3], (2 * old[0] + old[9]) / 3)



@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_mean_is_summed_in_float64_a_few_columns_at_a_time_with_the_same_bits(dtype):
    """The column blocks that keep memory flat (no float64 copy of either whole matrix) change
    no bit of the result against one float64 product over all columns."""
    rng = np.random.default_rng(0)
    old = (torch.randn(3000, 300) * 3).to(dtype)
    offsets = np.concatenate([[0], np.cumsum(rng.integers(0, 6, 4000))])  # some new tokens unmapped
    subtokens = rng.integers(0, 3000, offsets[-1])
    whole = mean_subtoken_init(old, offsets, subtokens, columns=300)
    assert torch.equal(mean_subtoken_init(old, offsets, subtokens, columns=7), whole)
    ref = torch.sparse.mm(conversion_matrix(offsets, subtokens, 3000).to(torch.float64), old.to(torch.float64))
    ref[torch.from_numpy(np.diff(offsets) == 0)] = old.to(torch.float64).mean(0)
    assert torch.equal(whole, ref.to(dtype))

def test_transfer_copies_shared_rows_bit_for_bit(tiny_model, byte_level_tok, spm_tok):
    ov = compute_overlap(byte_level_tok, spm_tok)
    ov["offsets"], ov["subtokens"] = np.asarray(ov["offsets"]), np.asarray(ov["subtokens"])
    old_in = tiny_model.get_input_embeddings().weight.detach().clone()
    old_out = tiny_model.get_output_embeddings().weight.detach().clone()
    inner = {n: p.detach().clone() for n, p in tiny_model.named_parameters() if "embed" not in n and "lm_head" not in n}
    transfer_model(tiny_model, spm_tok, ov, "mean")
    new_in = tiny_model.get_input_embeddings().weight
    new_out = tiny_model.get_output_embeddings().weight
    assert new_in.shape[0] == len(spm_tok) == tiny_model.config.vocab_size
    pairs = np.array(ov["shared"] + ov["specials"])
    assert torch.equal(new_in[pairs[:, 0]], old_in[pairs[:, 1]])
    assert torch.equal(new_out[pairs[:, 0]], old_out[pairs[:, 1]])
    for n, p in tiny_model.named_parameters():
        if n in inner:
            assert torch.equal(p, inner[n])
    assert tiny_model.config.bos_token_id == spm_tok.bos_token_id


def test_unknown_method_is_refused():
    with pytest.raises(LangadaptError, match="transfer method 'magic' is unknown"):
        get_method("magic")


@pytest.fixture
def dirs(tmp_path, tiny_model, byte_level_tok, spm_tok):
    """A saved base model, a new tokenizer with its overlap, and a PLM (other width) on that tokenizer."""
    from langadapt.models.io import save_model
    from langadapt.train.bootstrap import tiny_llama
    from langadapt.vocab.overlap import write_overlap

    save_model(tiny_model, byte_level_tok, tmp_path / "base")
    spm_tok.save_pretrained(tmp_path / "tok")
    write_overlap(tmp_path / "base", tmp_path / "tok", tmp_path / "overlap.json")
    plm = tiny_llama(spm_tok, hidden_size=8, layers=1, heads=2, intermediate_size=16, max_len=64, seed=1)
    save_model(plm, spm_tok, tmp_path / "plm")
    return tmp_path


def build(d, method, **kw):
    from langadapt.transfer.apply import build_init_model

    build_init_model(d / "base", d / "tok", d / "overlap.json", d / "out", method, {}, **kw)


@pytest.mark.parametrize("method", ["let", "salt", "omp"])
def test_plm_methods_build_a_model_with_the_new_vocabulary(dirs, spm_tok, method):
    from langadapt.models.io import load_model

    build(dirs, method, plm=dirs / "plm")
    model = load_model(dirs / "out")
    assert model.get_input_embeddings().weight.shape == (len(spm_tok), 16)
    assert torch.isfinite(model.get_input_embeddings().weight).all()


def test_plm_with_another_tokenizer_is_refused_before_any_work(dirs, byte_level_tok):
    byte_level_tok.save_pretrained(dirs / "plm")  # the PLM dir now holds the wrong tokenizer
    with pytest.raises(LangadaptError, match=r"PLM .*plm: its tokenizer does not match the vocabulary variant"):
        build(dirs, "let", plm=dirs / "plm")
    assert not (dirs / "out").exists()


def test_plm_with_fewer_rows_than_tokens_is_refused(dirs, spm_tok):
    from langadapt.models.io import save_model
    from langadapt.train.bootstrap import tiny_llama

    plm = tiny_llama(spm_tok, hidden_size=8, layers=1, heads=2, intermediate_size=16, max_len=64, seed=1)
    plm.resize_token_embeddings(len(spm_tok) - 5)
    save_model(plm, spm_tok, dirs / "plm")
    with pytest.raises(LangadaptError, match=f"its tokenizer has {len(spm_tok)} tokens but its embeddings only"):
        build(dirs, "salt", plm=dirs / "plm")
    assert not (dirs / "out").exists()


def test_no_shared_tokens_is_refused_for_plm_methods(dirs):
    ov = json.loads((dirs / "overlap.json").read_text())
    ov["shared"] = []
    (dirs / "overlap.json").write_text(json.dumps(ov))
    with pytest.raises(LangadaptError, match="shares no tokens with the LLM's: there is nothing to fit the map on"):
        build(dirs, "let", plm=dirs / "plm")
    assert not (dirs / "out").exists()


@pytest.mark.parametrize("method, need", [("focus", "vectors"), ("salt", "plm")])
def test_missing_method_input_is_refused(dirs, method, need):
    with pytest.raises(LangadaptError, match=f"transfer method '{method}' needs its {need} input"):
        build(dirs, method)


@pytest.mark.parametrize("method", ["random", "mean", "focus", "wechsel", "let", "salt", "omp"])
@pytest.mark.parametrize("tied", [True, False])
def test_every_method_leaves_rows_padded_past_the_tokenizer_out(method, tied):
    """A source model padded past its tokenizer (Qwen: 151,936 rows for 151,669 tokens), tied or
    not: every method reads one row per source token, gives one row per new token, and nothing
    it writes depends on the padding rows (here huge, so any leak would show)."""
    from langadapt.transfer.apply import transfer_rows

    gen = torch.Generator().manual_seed(0)
    n_old, pad, n_new, d = 40, 24, 30, 8
    old_in = torch.cat([torch.randn(n_old, d, generator=gen), torch.full((pad, d), 1e6)])
    old_out = None if tied else torch.cat([torch.randn(n_old, d, generator=gen), torch.full((pad, d), 1e6)])
    lengths = np.r_[np.ones(10, dtype=np.int64), np.full(n_new - 10, 2)]
    subtokens = np.r_[np.arange(10), np.arange(n_old - 1, n_old - 1 - 2 * (n_new - 10), -1) % n_old]
    overlap = {"shared": [[i, i] for i in range(10)], "specials": [], "old_size": n_old, "new_size": n_new,
               "offsets": np.r_[0, np.cumsum(lengths)], "subtokens": subtokens}
    rng = np.random.default_rng(0)
    aux = {"focus": rng.normal(size=(n_new, 5)).astype(np.float32),
           "source": rng.normal(size=(n_old, 5)).astype(np.float32),
           "target": rng.normal(size=(n_new, 5)).astype(np.float32),
           "plm_in": torch.randn(n_new, 6, generator=gen), "plm_out": None if tied else torch.randn(n_new, 6, generator=gen)}
    new_in, new_out = transfer_rows(old_in, old_out, overlap, method, {}, aux)
    assert new_in.shape == (n_new, d) and (new_out is None) == tied
    for rows in (new_in, new_out):
        if rows is not None:
            assert rows.abs().max() < 1e3  # no padding row was read

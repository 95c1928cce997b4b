"""LEP propagation: with instruct == base every propagation returns the adapted embeddings; with
the instruct rows the base rows times a planted invertible matrix, Overlap and Conversion recover
it (adapted rows × the matrix, to 1e-4) while Swap does not; the float64 map to 1e-10; tied
embeddings propagate the input rows only; chat tokens keep the instruct model's rows; a donor
whose tokenizer is not the variant's, and a base of another width (checked on the configs, before
any weights load) are refused with no output."""

import numpy as np
import pytest
import torch

from langadapt.core.errors import LangadaptError
from langadapt.train.bootstrap import CHAT_TEMPLATE, CHAT_TOKENS, tiny_llama
from langadapt.train.lep import propagate
from langadapt.transfer.apply import transfer_model
from langadapt.vocab.overlap import compute_overlap


def _instruct_tok(tok):
    import copy

    t = copy.deepcopy(tok)
    t.chat_template = CHAT_TEMPLATE
    t.eos_token = CHAT_TOKENS[-1]
    return t


def test_swap_keeps_instruct_layers_and_adapted_embeddings(tiny_model, byte_level_tok, spm_tok):
    import copy

    instruct = tiny_llama(byte_level_tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=64, seed=1)
    inst_tok = _instruct_tok(byte_level_tok)
    ov = compute_overlap(byte_level_tok, spm_tok)
    ov["offsets"], ov["subtokens"] = np.asarray(ov["offsets"]), np.asarray(ov["subtokens"])
    cpt = transfer_model(tiny_model, copy.deepcopy(spm_tok), ov, "mean")
    inst_rows = instruct.get_input_embeddings().weight.detach().clone()
    inner = {n: p.detach().clone() for n, p in instruct.named_parameters() if "embed" not in n and "lm_head" not in n}
    model, tok = propagate(instruct, inst_tok, cpt, copy.deepcopy(spm_tok), "swap")
    n_new = len(spm_tok)
    assert len(tok) == n_new + len(CHAT_TOKENS)
    assert torch.equal(model.get_input_embeddings().weight[:n_new], cpt.get_input_embeddings().weight)
    assert torch.equal(model.get_output_embeddings().weight[:n_new], cpt.get_output_embeddings().weight)
    for t in CHAT_TOKENS:  # chat tokens keep the instruct model's rows
        assert torch.equal(model.get_input_embeddings().weight[tok.convert_tokens_to_ids(t)],
                           inst_rows[byte_level_tok.convert_tokens_to_ids(t)])
    for n, p in model.named_parameters():
        if n in inner:
            assert torch.equal(p, inner[n])
    assert tok.chat_template == CHAT_TEMPLATE and tok.eos_token == "<|eot_id|>"
    text = tok.apply_chat_template([{"role": "user", "content": "Привет"}], tokenize=False, add_generation_prompt=True)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.convert_tokens_to_ids("<|start_header_id|>") in ids
    assert model.generation_config.eos_token_id == tok.convert_tokens_to_ids("<|eot_id|>")


def test_mismatched_hidden_size_is_refused(tiny_model, byte_level_tok, spm_tok):
    other = tiny_llama(byte_level_tok, hidden_size=32, layers=2, heads=2, intermediate_size=32, max_len=64, seed=1)
    with pytest.raises(LangadaptError, match="does not match"):
        propagate(other, _instruct_tok(byte_level_tok), tiny_model, spm_tok, "swap")


# ------------------------------------------------------------------ overlap and conversion


def _setup(byte_level_tok, spm_tok, tied=False, seed=0):
    """(base, instruct made from it, cpt: base with the new vocabulary and perturbed rows, overlap)."""
    import copy

    base = tiny_llama(byte_level_tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=64, seed=seed,
                      tie_word_embeddings=tied)
    ov = compute_overlap(byte_level_tok, spm_tok)
    ov["offsets"], ov["subtokens"] = np.asarray(ov["offsets"]), np.asarray(ov["subtokens"])
    cpt = transfer_model(copy.deepcopy(base), copy.deepcopy(spm_tok), ov, "mean")
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # stands in for continued pretraining
        for m in {id(cpt.get_input_embeddings().weight): cpt.get_input_embeddings().weight,
                  id(cpt.get_output_embeddings().weight): cpt.get_output_embeddings().weight}.values():
            m.add_(0.5 * torch.randn(m.shape, generator=g))
    return base, copy.deepcopy(base), cpt, ov


def _planted(d, seed):
    """A well-conditioned invertible d×d matrix."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn((d, d), generator=g, dtype=torch.float64))
    return (q * torch.linspace(0.5, 2.0, d, dtype=torch.float64)).to(torch.float32)


def _run(method, base, inst, cpt, spm_tok, byte_level_tok, ov):
    import copy

    model, tok = propagate(copy.deepcopy(inst), _instruct_tok(byte_level_tok), cpt, copy.deepcopy(spm_tok), method,
                           base_model=base, overlap=ov)
    return model


@pytest.mark.parametrize("method", ["swap", "overlap", "conversion"])
def test_instruct_equal_to_base_gives_the_adapted_embeddings(method, byte_level_tok, spm_tok):
    base, inst, cpt, ov = _setup(byte_level_tok, spm_tok)
    model = _run(method, base, inst, cpt, spm_tok, byte_level_tok, ov)
    n = len(spm_tok)
    torch.testing.assert_close(model.get_input_embeddings().weight[:n], cpt.get_input_embeddings().weight,
                               atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(model.get_output_embeddings().weight[:n], cpt.get_output_embeddings().weight,
                               atol=1e-5, rtol=1e-5)


def test_overlap_and_conversion_recover_a_planted_map_swap_does_not(byte_level_tok, spm_tok):
    base, inst, cpt, ov = _setup(byte_level_tok, spm_tok)
    m_in, m_out = _planted(16, 3), _planted(16, 4)
    with torch.no_grad():
        inst.get_input_embeddings().weight.copy_(base.get_input_embeddings().weight @ m_in)
        inst.get_output_embeddings().weight.copy_(base.get_output_embeddings().weight @ m_out)
    n = len(spm_tok)
    want_in = cpt.get_input_embeddings().weight.detach() @ m_in
    want_out = cpt.get_output_embeddings().weight.detach() @ m_out
    for method in ("overlap", "conversion"):
        model = _run(method, base, inst, cpt, spm_tok, byte_level_tok, ov)
        torch.testing.assert_close(model.get_input_embeddings().weight[:n], want_in, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(model.get_output_embeddings().weight[:n], want_out, atol=1e-4, rtol=1e-4)
    swap = _run("swap", base, inst, cpt, spm_tok, byte_level_tok, ov).get_input_embeddings().weight[:n]
    assert (swap - want_in).abs().max() > 0.1


def test_fit_linear_map_recovers_the_map_in_float64():
    from langadapt.train.lep import fit_linear_map

    g = torch.Generator().manual_seed(0)
    x = torch.randn((200, 16), generator=g, dtype=torch.float64)
    m = torch.randn((16, 16), generator=g, dtype=torch.float64)
    p = fit_linear_map(x, x @ m)
    assert p.dtype == torch.float64 and torch.allclose(p, m, atol=1e-10)


def test_tied_embeddings_propagate_the_input_rows_only(byte_level_tok, spm_tok):
    base, inst, cpt, ov = _setup(byte_level_tok, spm_tok, tied=True)
    m = _planted(16, 5)
    with torch.no_grad():
        inst.get_input_embeddings().weight.copy_(base.get_input_embeddings().weight @ m)
    model = _run("conversion", base, inst, cpt, spm_tok, byte_level_tok, ov)
    n = len(spm_tok)
    w = model.get_input_embeddings().weight
    assert model.get_output_embeddings().weight.data_ptr() == w.data_ptr()
    torch.testing.assert_close(w[:n], cpt.get_input_embeddings().weight.detach() @ m, atol=1e-4, rtol=1e-4)


def test_donor_with_another_vocabulary_is_refused(tmp_path, byte_level_tok, spm_tok):
    """A CPT model whose tokenizer is not the variant's: one line, before any output."""
    import copy

    from langadapt.models.io import save_model
    from langadapt.train.lep import build_propagated

    base, inst, cpt, ov = _setup(byte_level_tok, spm_tok)
    save_model(inst, _instruct_tok(byte_level_tok), tmp_path / "instruct")
    save_model(base, byte_level_tok, tmp_path / "base")
    save_model(cpt, copy.deepcopy(spm_tok), tmp_path / "cpt")
    byte_level_tok.save_pretrained(tmp_path / "variant")  # claims a vocabulary it does not have
    with pytest.raises(LangadaptError, match="does not match the vocabulary variant"):
        build_propagated(tmp_path / "instruct", tmp_path / "cpt", tmp_path / "out", "overlap",
                         tokenizer_dir=tmp_path / "variant", base_dir=tmp_path / "base", overlap_json=None)
    assert not (tmp_path / "out").exists()


def test_instruct_model_from_another_base_is_refused(byte_level_tok, spm_tok):
    base, inst, cpt, ov = _setup(byte_level_tok, spm_tok)
    other = tiny_llama(byte_level_tok, hidden_size=16, layers=3, heads=2, intermediate_size=32, max_len=64, seed=1)
    with pytest.raises(LangadaptError, match="does not match"):
        _run("overlap", other, inst, cpt, spm_tok, byte_level_tok, ov)


def test_base_of_another_width_is_refused_before_loading_weights(tmp_path, byte_level_tok, spm_tok):
    """Checked on the configs: a base model of another hidden size never gets its weights loaded."""
    import copy

    from langadapt.models.io import save_model
    from langadapt.train.lep import build_propagated

    base, inst, cpt, ov = _setup(byte_level_tok, spm_tok)
    save_model(inst, _instruct_tok(byte_level_tok), tmp_path / "instruct")
    save_model(cpt, copy.deepcopy(spm_tok), tmp_path / "cpt")
    wide = tiny_llama(byte_level_tok, hidden_size=32, layers=2, heads=2, intermediate_size=32, max_len=64, seed=1)
    save_model(wide, byte_level_tok, tmp_path / "base")
    for f in (tmp_path / "base").glob("*.safetensors"):
        f.write_bytes(b"not weights")  # loading them would fail differently
    with pytest.raises(LangadaptError, match="does not match the base model"):
        build_propagated(tmp_path / "instruct", tmp_path / "cpt", tmp_path / "out", "conversion",
                         base_dir=tmp_path / "base", overlap_json=tmp_path / "missing.json")
    assert not (tmp_path / "out").exists()

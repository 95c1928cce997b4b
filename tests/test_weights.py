"""Embedding rows read and replaced in save_pretrained directories without building the model:
the file-level transfer and LEP must write what the model-level path writes."""

import copy
import json
import os

import numpy as np
import pytest
import torch
from test_lep import _instruct_tok, _setup

from langadapt.models.io import load_model, load_tokenizer, save_model
from langadapt.train.bootstrap import tiny_llama


def _load(d):
    return load_model(d), load_tokenizer(d)


def _assert_same_model(a, b, rows_atol=0.0):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        tol = rows_atol if ("embed" in k or "lm_head" in k) else 0.0
        torch.testing.assert_close(sa[k], sb[k], atol=tol, rtol=0, msg=k)
    assert a.config.vocab_size == b.config.vocab_size
    for role in ("bos", "eos", "pad"):
        assert getattr(a.config, f"{role}_token_id") == getattr(b.config, f"{role}_token_id")
        assert getattr(a.generation_config, f"{role}_token_id") == getattr(b.generation_config, f"{role}_token_id")


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("method", ["swap", "overlap", "conversion"])
def test_build_propagated_writes_what_propagate_gives(tmp_path, byte_level_tok, spm_tok, method, tied):
    from langadapt.train.lep import build_propagated, propagate
    from langadapt.vocab.overlap import load_overlap, write_overlap

    base, inst, cpt, _ = _setup(byte_level_tok, spm_tok, tied=tied)
    with torch.no_grad():  # an instruct model that differs from its base
        inst.get_input_embeddings().weight.mul_(1.5)
    save_model(base, byte_level_tok, tmp_path / "base")
    save_model(inst, _instruct_tok(byte_level_tok), tmp_path / "instruct")
    save_model(cpt, copy.deepcopy(spm_tok), tmp_path / "cpt")
    spm_tok.save_pretrained(tmp_path / "variant")
    write_overlap(tmp_path / "base", tmp_path / "variant", tmp_path / "overlap.json")
    build_propagated(tmp_path / "instruct", tmp_path / "cpt", tmp_path / "out", method, tokenizer_dir=tmp_path / "variant",
                     base_dir=tmp_path / "base", overlap_json=tmp_path / "overlap.json")

    (i, it), (c, ct), (b, _) = _load(tmp_path / "instruct"), _load(tmp_path / "cpt"), _load(tmp_path / "base")
    want, want_tok = propagate(i, it, c, ct, method, base_model=b, overlap=load_overlap(tmp_path / "overlap.json"))
    got, got_tok = _load(tmp_path / "out")
    _assert_same_model(got, want, rows_atol=1e-6)  # float64 least squares may differ in the last bit
    assert got.generation_config.eos_token_id == want.generation_config.eos_token_id == got_tok.eos_token_id
    assert got_tok.get_vocab() == want_tok.get_vocab() and got_tok.chat_template == want_tok.chat_template
    assert (got.get_output_embeddings().weight.data_ptr() == got.get_input_embeddings().weight.data_ptr()) == tied


@pytest.mark.parametrize("method", ["mean", "random"])
def test_build_init_model_writes_what_transfer_model_gives(tmp_path, tiny_model, byte_level_tok, spm_tok, method):
    from langadapt.transfer.apply import build_init_model, transfer_model
    from langadapt.vocab.overlap import load_overlap, write_overlap

    save_model(tiny_model, byte_level_tok, tmp_path / "base")
    spm_tok.save_pretrained(tmp_path / "tok")
    write_overlap(tmp_path / "base", tmp_path / "tok", tmp_path / "overlap.json")
    build_init_model(tmp_path / "base", tmp_path / "tok", tmp_path / "overlap.json", tmp_path / "out", method,
                     {"seed": 3})
    want = transfer_model(load_model(tmp_path / "base"), load_tokenizer(tmp_path / "tok"),
                          load_overlap(tmp_path / "overlap.json"), method, {"seed": 3})
    got, tok = _load(tmp_path / "out")
    _assert_same_model(got, want)
    assert tok.get_vocab() == spm_tok.get_vocab()


def _sharded(tmp_path, byte_level_tok, dtype):
    model = tiny_llama(byte_level_tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=64, seed=0)
    model.to(dtype).save_pretrained(tmp_path / "src", max_shard_size="4KB")
    byte_level_tok.save_pretrained(tmp_path / "src")
    return model


def test_sharded_bf16_checkpoint_rewrites_only_the_embedding_shards(tmp_path, byte_level_tok, spm_tok):
    from langadapt.models.weights import INDEX, Embeddings, write_model

    _sharded(tmp_path, byte_level_tok, torch.bfloat16)
    index = json.loads((tmp_path / "src" / INDEX).read_text())
    shards = set(index["weight_map"].values())
    assert len(shards) > 3
    src = Embeddings(tmp_path / "src")
    assert src.dtype == torch.bfloat16 and src.input.dtype == torch.float32 and not src.tied
    n = len(spm_tok)
    g = torch.Generator().manual_seed(0)
    new_in, new_out = torch.randn((n, 16), generator=g), torch.randn((n, 16), generator=g)
    (tmp_path / "out").mkdir()
    write_model(src, tmp_path / "out", new_in, new_out, spm_tok)

    rewritten = {index["weight_map"][src.in_name], index["weight_map"][src.out_name]}
    for s in shards:  # unchanged shards are the same file (linked), the others new files
        same = os.stat(tmp_path / "src" / s).st_ino == os.stat(tmp_path / "out" / s).st_ino
        assert same == (s not in rewritten), s
    out_index = json.loads((tmp_path / "out" / INDEX).read_text())
    sizes = {k: v for k, v in load_model(tmp_path / "out", dtype=torch.bfloat16).state_dict().items()}
    assert out_index["metadata"]["total_size"] == sum(t.numel() * 2 for t in sizes.values())
    got, before = load_model(tmp_path / "out"), load_model(tmp_path / "src")
    assert torch.equal(got.get_input_embeddings().weight, new_in.to(torch.bfloat16).float())
    assert torch.equal(got.get_output_embeddings().weight, new_out.to(torch.bfloat16).float())
    inner = lambda m: {k: v for k, v in m.state_dict().items() if "embed" not in k and "lm_head" not in k}  # noqa: E731
    assert all(torch.equal(v, inner(before)[k]) for k, v in inner(got).items())
    assert got.config.vocab_size == n and got.config.pad_token_id == spm_tok.pad_token_id
    assert json.loads((tmp_path / "out" / "config.json").read_text())["dtype"] == "bfloat16"


def test_tied_model_takes_no_output_rows(tmp_path, byte_level_tok, spm_tok):
    from langadapt.core.errors import LangadaptError
    from langadapt.models.weights import Embeddings, write_model

    model = tiny_llama(byte_level_tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=64, seed=0,
                       tie_word_embeddings=True)
    save_model(model, byte_level_tok, tmp_path / "src")
    src = Embeddings(tmp_path / "src")
    assert src.tied and src.output is None
    assert torch.equal(src.input, model.get_input_embeddings().weight.detach())
    rows = torch.zeros((len(spm_tok), 16))
    with pytest.raises(LangadaptError, match="tied embeddings need no output rows"):
        write_model(src, tmp_path, rows, rows, spm_tok)


def test_embedding_names_of_an_unlisted_architecture_come_from_the_meta_model(tmp_path, byte_level_tok, monkeypatch):
    from langadapt.models import weights

    _sharded(tmp_path, byte_level_tok, torch.float32)
    monkeypatch.setattr(weights, "INPUT_NAMES", ())
    monkeypatch.setattr(weights, "OUTPUT_NAMES", ())
    src = weights.Embeddings(tmp_path / "src")
    assert (src.in_name, src.out_name) == ("model.embed_tokens.weight", "lm_head.weight")
    assert src.input.shape == (len(byte_level_tok), 16)
    assert np.isfinite(src.output.numpy()).all()


@pytest.mark.parametrize("via_auto", [False, True])
def test_a_saved_tokenizer_is_the_same_whether_the_hub_was_offline_or_not(tmp_path, byte_level_tok, via_auto,
                                                                          monkeypatch):
    """transformers writes the hub mode a tokenizer was loaded in into its tokenizer_config.json
    (local_files_only): loaded from a local directory, the bytes written must not depend on
    whether HF_HUB_OFFLINE was set in the job's environment."""
    import huggingface_hub.constants as hub

    byte_level_tok.save_pretrained(tmp_path / "src")
    if via_auto:  # a tokenizer_config that is not the plain backend goes through AutoTokenizer
        conf = json.loads((tmp_path / "src" / "tokenizer_config.json").read_text())
        conf["tokenizer_class"] = "PreTrainedTokenizerFast"
        (tmp_path / "src" / "tokenizer_config.json").write_text(json.dumps(conf))
    written = {}
    for offline in (False, True):
        monkeypatch.setattr(hub, "HF_HUB_OFFLINE", offline)
        load_tokenizer(tmp_path / "src").save_pretrained(tmp_path / f"out{offline}")
        written[offline] = (tmp_path / f"out{offline}" / "tokenizer_config.json").read_text()
    assert written[False] == written[True]

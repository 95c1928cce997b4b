import pytest
import torch

from langadapt.bootstrap import CHAT_TEMPLATE, CHAT_TOKENS, tiny_llama
from langadapt.errors import LangadaptError
from langadapt.lep import propagate
from langadapt.overlap import compute_overlap
from langadapt.transfer import transfer_model
import numpy as np


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

"""CLO: preference pairs from translated data, the loss, and one optimizer step moving the right way."""

import copy

import numpy as np
import torch

from langadapt.train.bootstrap import CHAT_TEMPLATE, CHAT_TOKENS, tiny_llama
from langadapt.train.clo import (
    clo_loss,
    encode_pairs,
    preference_pairs,
    reference_logps,
    sequence_logps,
    train_only_attention,
)

EN = [[{"role": "user", "content": "Repeat: open the file"}, {"role": "assistant", "content": "open the file"}]]
RU = [[{"role": "user", "content": "Повтори: открыть файл"}, {"role": "assistant", "content": "открыть файл"}]]


def _chat(tok):
    t = copy.deepcopy(tok)
    t.chat_template, t.eos_token = CHAT_TEMPLATE, CHAT_TOKENS[-1]
    return t


def test_each_translated_conversation_gives_two_opposite_pairs():
    pairs = preference_pairs(EN + EN, RU + [None])
    assert len(pairs) == 2  # the untranslated one is skipped
    en, ru = pairs
    assert en["prompt"] == EN[0][:1] and en["chosen"] == "open the file" and en["rejected"] == "открыть файл"
    assert ru["prompt"] == RU[0][:1] and ru["chosen"] == "открыть файл" and ru["rejected"] == "open the file"
    assert (en["target"], ru["target"]) == (False, True)


def test_loss_values_by_hand():
    z = torch.zeros(3)
    loss, pref, nll = clo_loss(torch.tensor([-1.0, -4.0, -3.0]), torch.tensor([-3.0, -2.0, -3.0]), z, z,
                               torch.tensor([2, 4, 1]), torch.tensor([0.0, 1.0, 1.0]), beta=0.5, nll_weight=2.0)
    ls = torch.nn.functional.logsigmoid
    want_pref = -(ls(torch.tensor(1.0)) + ls(torch.tensor(-1.0)) + ls(torch.tensor(0.0))) / 3
    # the target replies' 7 nats over their 5 tokens (a mean of per-reply means would say 2.0)
    assert torch.isclose(pref, want_pref) and torch.isclose(nll, torch.tensor(1.4))
    assert torch.isclose(loss, want_pref + 2.8)
    _, _, both = clo_loss(torch.tensor([-1.0, -4.0, -3.0]), torch.tensor([-3.0, -2.0, -3.0]), z, z,
                          torch.tensor([2, 4, 1]), torch.tensor([0.0, 1.0, 1.0]), beta=0.5, nll_weight=2.0, nll_on="both")
    assert torch.isclose(both, torch.tensor(8 / 7))  # every chosen reply: 8 nats over 7 tokens


def test_one_step_prefers_the_right_language(byte_level_tok):
    """On a hand-made pair, one optimizer step on the CLO loss raises the chosen reply's
    log-probability relative to the rejected one, for both prompts, and lowers the loss."""
    tok = _chat(byte_level_tok)
    model = tiny_llama(tok, hidden_size=32, layers=2, heads=2, intermediate_size=64, max_len=128, seed=0)
    enc = encode_pairs(tok, preference_pairs(EN, RU), 64)
    ref_c, ref_r = reference_logps(model, enc)
    assert train_only_attention(model) > 0
    assert not model.get_input_embeddings().weight.requires_grad
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in enc.items()}

    def step():
        ids = torch.cat([t["chosen_ids"], t["rejected_ids"]])
        lab = torch.cat([t["chosen_labels"], t["rejected_labels"]])
        lp, n = sequence_logps(model, ids, lab)
        return lp, clo_loss(lp[:2], lp[2:], ref_c, ref_r, n[:2], t["target"], beta=0.5, nll_weight=1.0)[0]

    model.train()
    lp0, loss0 = step()
    opt.zero_grad()
    loss0.backward()
    opt.step()
    with torch.no_grad():
        lp1, loss1 = step()
    margin0, margin1 = lp0[:2] - lp0[2:], lp1[:2] - lp1[2:]
    assert (margin1 > margin0.detach()).all() and loss1 < loss0
    inner = {n for n, p in model.named_parameters() if p.requires_grad}
    assert inner and all(any(a in n for a in ("q_proj", "k_proj", "v_proj", "o_proj")) for n in inner)


def test_build_cross_lingual_trains_attention_only(tmp_path, byte_level_tok):
    import json

    import pytest

    from langadapt.core.errors import LangadaptError
    from langadapt.models.io import load_model, save_model
    from langadapt.train.clo import build_cross_lingual

    tok = _chat(byte_level_tok)
    save_model(tiny_llama(tok, hidden_size=32, layers=2, heads=2, intermediate_size=64, max_len=128, seed=0), tok,
               tmp_path / "instruct")
    with open(tmp_path / "tr.jsonl", "w") as f:
        for _ in range(6):
            f.write(json.dumps({"en": EN[0], "ru": RU[0], "path": "joint"}, ensure_ascii=False) + "\n")
        f.write(json.dumps({"en": EN[0], "ru": None, "path": "failed"}) + "\n")
    train_cfg = {"lr": 0.01, "batch_size": 4, "grad_accum": 1, "epochs": 1, "max_steps": -1, "warmup_steps": 0,
                 "weight_decay": 0.0, "logging_steps": 1}
    old = load_model(tmp_path / "instruct").state_dict()
    for objective in ("clo", "sft"):
        info = build_cross_lingual(tmp_path / "instruct", tmp_path / "tr.jsonl", tmp_path / objective,
                                   objective=objective, n=6, beta=0.5, nll_weight=1.0, train_cfg=train_cfg,
                                   max_len=64, seed=0, langs=("en", "ru"))
        assert info["examples"] == (12 if objective == "clo" else 6)
        new = load_model(tmp_path / objective).state_dict()
        changed = {k for k in old if not torch.equal(old[k], new[k])}
        assert changed and all(any(a in k for a in ("q_proj", "k_proj", "v_proj", "o_proj")) for k in changed)
        assert (tmp_path / objective / "loss.csv").exists()
    with pytest.raises(LangadaptError, match="fewer than the 7"):
        build_cross_lingual(tmp_path / "instruct", tmp_path / "tr.jsonl", tmp_path / "x", objective="clo", n=7,
                            beta=0.5, nll_weight=1.0, train_cfg=train_cfg, max_len=64, seed=0,
                            langs=("en", "ru"))
    assert not (tmp_path / "x").exists()

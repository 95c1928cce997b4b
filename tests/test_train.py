"""The shared training path: batches of chat examples lose their padding, not their loss."""

import copy

import numpy as np
import torch

from langadapt.train.bootstrap import CHAT_TEMPLATE, CHAT_TOKENS, tiny_llama
from langadapt.train.trainer import BlockDataset, sft_examples, trim_batch, trim_padding


def _chat_data(byte_level_tok, ru_docs, max_len=200):
    tok = copy.deepcopy(byte_level_tok)
    tok.chat_template, tok.eos_token = CHAT_TEMPLATE, CHAT_TOKENS[-1]
    convs = [[{"role": "user", "content": "Повтори."}, {"role": "assistant", "content": d[: 20 + 7 * i]}]
             for i, d in enumerate(ru_docs[:6])]
    ids, labels = sft_examples(tok, convs, max_len)
    return tok, ids, labels


def test_a_batch_of_chat_examples_is_cut_after_its_last_learned_token(byte_level_tok, ru_docs):
    tok, ids, labels = _chat_data(byte_level_tok, ru_docs)
    data = BlockDataset(ids, labels)
    batch = trim_padding([data[i] for i in range(len(data))])
    last = max(int(np.nonzero(row != -100)[0].max()) for row in labels)
    assert batch["input_ids"].shape == batch["labels"].shape == (6, last + 1) and last + 1 < 200
    assert torch.equal(batch["input_ids"], torch.from_numpy(ids[:, : last + 1]))
    # nothing learned is cut: every label of the padded batch is in the trimmed one
    assert int((batch["labels"] != -100).sum()) == int((labels != -100).sum())


def test_the_trimmed_batch_has_the_padded_batchs_loss(byte_level_tok, ru_docs):
    tok, ids, labels = _chat_data(byte_level_tok, ru_docs)
    model = tiny_llama(tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=256, seed=0).eval()
    full = {"input_ids": torch.from_numpy(ids), "labels": torch.from_numpy(labels)}
    short = trim_batch(dict(full))
    assert short["input_ids"].shape[1] < ids.shape[1]
    with torch.no_grad():
        assert abs(float(model(**full).loss) - float(model(**short).loss)) < 1e-5


def test_pretraining_blocks_and_preference_pairs_keep_a_common_width():
    blocks = torch.arange(24).reshape(3, 8)
    assert torch.equal(trim_padding([{"input_ids": b, "labels": b} for b in blocks])["input_ids"], blocks)
    lab_c, lab_r = torch.full((2, 10), -100), torch.full((2, 10), -100)
    lab_c[0, 3], lab_r[1, 6] = 1, 1  # the rejected replies run longer: both sides keep 7 columns
    out = trim_batch({"chosen_ids": torch.zeros(2, 10), "chosen_labels": lab_c, "rejected_ids": torch.zeros(2, 10),
                      "rejected_labels": lab_r, "target": torch.ones(2)})
    assert {k: tuple(v.shape) for k, v in out.items()} == {"chosen_ids": (2, 7), "chosen_labels": (2, 7),
                                                           "rejected_ids": (2, 7), "rejected_labels": (2, 7),
                                                           "target": (2,)}


def test_learned_logits_are_the_models_own_at_the_learned_positions(byte_level_tok, ru_docs):
    from langadapt.train.trainer import head_is_plain, learned_logits

    tok, ids, labels = _chat_data(byte_level_tok, ru_docs)
    model = tiny_llama(tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=256, seed=0).eval()
    ids, labels = torch.from_numpy(ids), torch.from_numpy(labels)
    with torch.no_grad():
        full = model(input_ids=ids).logits[:, :-1]
        logits, target, row = learned_logits(model, ids, labels)
        mask = labels[:, 1:] != -100
        assert logits.shape[0] == int(mask.sum()) < mask.numel() // 2  # replies are the minority
        torch.testing.assert_close(logits, full[mask], atol=1e-5, rtol=1e-5)
        assert torch.equal(target, labels[:, 1:][mask]) and torch.equal(row, mask.nonzero()[:, 0])
        loss = torch.nn.functional.cross_entropy(logits, target)
        torch.testing.assert_close(loss, model(input_ids=ids, labels=labels).loss, atol=1e-6, rtol=1e-6)
    assert head_is_plain(model, ids, labels)


def test_a_soft_capped_head_is_not_plain_and_keeps_full_logits(byte_level_tok, ru_docs):
    from transformers import Gemma2Config, Gemma2ForCausalLM

    from langadapt.train.trainer import head_is_plain

    tok, ids, labels = _chat_data(byte_level_tok, ru_docs)
    torch.manual_seed(0)
    cfg = Gemma2Config(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=1, head_dim=8, final_logit_softcapping=0.5)
    model = Gemma2ForCausalLM(cfg).eval()
    assert not head_is_plain(model, torch.from_numpy(ids), torch.from_numpy(labels))


def test_chat_training_on_learned_positions_matches_the_plain_trainer(tmp_path, byte_level_tok, ru_docs, monkeypatch):
    """Same losses, same weights as the Trainer's own loss on full logits, with gradient
    accumulation (the loss summed over the accumulated batch's learned tokens)."""
    from langadapt.train import trainer as T

    tok, ids, labels = _chat_data(byte_level_tok, ru_docs)
    ids, labels = np.concatenate([ids] * 4), np.concatenate([labels] * 4)
    make = lambda: tiny_llama(tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=256, seed=0)  # noqa: E731
    kw = dict(lr=1e-2, batch_size=3, grad_accum=2, max_steps=4, logging_steps=1, seed=0)
    calls = []
    real = T.learned_logits
    monkeypatch.setattr(T, "learned_logits", lambda *a, **k: calls.append(1) or real(*a, **k))
    ours = make()
    rows = T.train(ours, BlockDataset(ids, labels), tmp_path / "a", **kw)
    assert len(calls) == 1 + 4 * 2  # the head check, then every micro-batch
    monkeypatch.setattr(T, "learned_tokens_trainer", lambda base: base)
    plain = make()
    want = T.train(plain, BlockDataset(ids, labels), tmp_path / "b", **kw)
    assert len(rows) == len(want) == 4
    np.testing.assert_allclose([r["loss"] for r in rows], [r["loss"] for r in want], rtol=1e-4)
    for (n, a), b in zip(ours.named_parameters(), plain.parameters()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4, msg=n)


def test_the_head_check_skips_examples_that_learn_nothing(byte_level_tok, ru_docs):
    """A prompt cut off by max_len leaves an example without a learned token: the check
    uses the first example that learns something, and a batch of none cannot tell."""
    from langadapt.train.trainer import head_is_plain

    tok, ids, labels = _chat_data(byte_level_tok, ru_docs)
    model = tiny_llama(tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=256, seed=0).eval()
    ids, labels = torch.from_numpy(ids), torch.from_numpy(labels)
    labels[0] = -100
    assert head_is_plain(model, ids, labels)
    assert not head_is_plain(model, ids, torch.full_like(labels, -100))

"""The shared training path: batches of chat examples lose their padding, not their loss."""

import copy

import numpy as np
import torch

from langadapt.bootstrap import CHAT_TEMPLATE, CHAT_TOKENS, tiny_llama
from langadapt.train import BlockDataset, sft_examples, trim_batch, trim_padding


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

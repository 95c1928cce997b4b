"""Cross-lingual optimization (CLO; arXiv:2505.14297) and its SFT baseline.

English instruction data (x_en, y_en) and its translation (x_l, y_l) become two preference
examples: x_en → chosen y_en over rejected y_l, and x_l → chosen y_l over rejected y_en; the
model learns to answer in the language of the question. The objective is a DPO-style loss on
those pairs plus the negative log-likelihood of the target-language chosen responses; only the
attention layers train. SFT, the baseline, learns (x_l, y_l) with the same layers trainable.
"""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import torch
import torch.nn.functional as F
from transformers import Trainer

from langadapt.core import launch
from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir, write_json
from langadapt.models.io import load_chat_model
from langadapt.train.trainer import (
    BlockDataset,
    head_is_plain,
    learned_logits,
    save_trained,
    sft_examples,
    train,
    train_kwargs,
    trim_batch,
)

log = logging.getLogger(__name__)

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")


def preference_pairs(source: list[list[dict]], target: list[list[dict] | None]) -> list[dict]:
    """Both preference examples per translated conversation: {prompt, chosen, rejected, target}."""
    out = []
    for en, tl in zip(source, target):
        if tl is None:
            continue
        out.append({"prompt": en[:-1], "chosen": en[-1]["content"], "rejected": tl[-1]["content"], "target": False})
        out.append({"prompt": tl[:-1], "chosen": tl[-1]["content"], "rejected": en[-1]["content"], "target": True})
    return out


def encode_pairs(tok, pairs: list[dict], max_len: int) -> dict[str, np.ndarray]:
    """Token ids and reply-only labels of the chosen and the rejected conversation of each pair."""
    conv = lambda p, reply: p["prompt"] + [{"role": "assistant", "content": reply}]  # noqa: E731
    c_ids, c_lab = sft_examples(tok, [conv(p, p["chosen"]) for p in pairs], max_len)
    r_ids, r_lab = sft_examples(tok, [conv(p, p["rejected"]) for p in pairs], max_len)
    return {"chosen_ids": c_ids, "chosen_labels": c_lab, "rejected_ids": r_ids, "rejected_labels": r_lab,
            "target": np.asarray([p["target"] for p in pairs], dtype=np.float32)}


def sequence_logps(model, ids: torch.Tensor, labels: torch.Tensor, plain: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of reply-token log-probabilities, reply length) per row. With a plain output head
    (train.head_is_plain) the vocabulary is projected at reply positions only."""
    lab = labels[:, 1:]
    if plain:
        logits, target, row = learned_logits(model, ids, labels, torch.ones_like(ids))
        lp = -F.cross_entropy(logits.float(), target, reduction="none")  # fused log-softmax + pick
        return lp.new_zeros(len(ids)).index_add(0, row, lp), (lab != -100).sum(1)
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[:, :-1].float()
    lp = -F.cross_entropy(logits.transpose(1, 2), lab, ignore_index=-100, reduction="none")  # 0 where -100
    return lp.sum(1), (lab != -100).sum(1)


def clo_loss(pol_c, pol_r, ref_c, ref_r, len_c, target, beta: float, nll_weight: float, nll_on: str = "target"):
    """DPO on (chosen, rejected) plus the NLL of the chosen replies of target-language prompts
    (`nll_on` 'target', the paper's) or of every prompt ('both'), per token over the batch as
    SFT's (a mean of per-reply means weighs a one-word reply's end of turn like a whole passage,
    and taught the default's instruct model to stop at once: Russian answers 0.17 of prompts
    instead of 0.75, docs/results.md). Returns (loss, preference part, NLL part)."""
    pref = -F.logsigmoid(beta * ((pol_c - ref_c) - (pol_r - ref_r))).mean()
    w = target if nll_on == "target" else torch.ones_like(target)
    nll = -(pol_c * w).sum() / (len_c * w).sum().clamp_min(1)
    return pref + nll_weight * nll, pref, nll


class PreferenceData(torch.utils.data.Dataset):
    def __init__(self, enc: dict[str, np.ndarray], ref_c: torch.Tensor, ref_r: torch.Tensor):
        self.t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in enc.items()}
        self.t["ref_chosen"], self.t["ref_rejected"] = ref_c, ref_r

    def __len__(self):
        return len(self.t["target"])

    def __getitem__(self, i):
        return {k: v[i] for k, v in self.t.items()}


@torch.no_grad()
def reference_logps(model, enc: dict[str, np.ndarray], batch_size: int = 16, plain: bool = True):
    """The frozen starting model's log-probabilities of every chosen and rejected reply."""
    model.eval()
    out = []
    for key in ("chosen", "rejected"):
        ids, lab = torch.from_numpy(enc[f"{key}_ids"]), torch.from_numpy(enc[f"{key}_labels"])
        batches = (trim_batch({"ids": ids[i:i + batch_size], "labels": lab[i:i + batch_size]})
                   for i in range(0, len(ids), batch_size))
        out.append(torch.cat([sequence_logps(model, b["ids"], b["labels"], plain)[0] for b in batches]))
    return out


def clo_trainer_class(beta: float, nll_weight: float, plain: bool = True, nll_on: str = "target"):
    """A Hugging Face Trainer whose loss is CLO's (so scheduling, accumulation, logging and
    multi-GPU launch stay the Trainer's)."""
    class CLOTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            ids = torch.cat([inputs["chosen_ids"], inputs["rejected_ids"]])
            lab = torch.cat([inputs["chosen_labels"], inputs["rejected_labels"]])
            lp, n = sequence_logps(model, ids, lab, plain)
            b = len(inputs["chosen_ids"])
            loss, _, _ = clo_loss(lp[:b], lp[b:], inputs["ref_chosen"], inputs["ref_rejected"], n[:b],
                                  inputs["target"], beta, nll_weight, nll_on)
            return (loss, None) if return_outputs else loss

    return CLOTrainer


def train_only_attention(model) -> int:
    """Freeze everything but the attention projections (CLO trains the attention layers only);
    returns the number of trainable parameters."""
    n = 0
    for name, p in model.named_parameters():
        p.requires_grad = any(f".{a}." in name for a in ATTENTION)
        n += p.numel() if p.requires_grad else 0
    if n == 0:
        raise LangadaptError(f"no attention projections ({', '.join(ATTENTION)}) found to train")
    return n


def read_translations(path, n: int, langs: tuple[str, str]) -> tuple[list, list]:
    """The first n successfully translated conversations: (source-language, target-language),
    keyed in the file by the two languages' codes `langs`."""
    src, tgt = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row.get(langs[1]):
                src.append(row[langs[0]])
                tgt.append(row[langs[1]])
            if len(src) == n:
                break
    if len(src) < n:
        raise LangadaptError(f"{path}: {len(src)} translated conversations, fewer than the {n} asked for "
                             "(the translate stage makes max(clo.sizes); raise translate.spare)")
    return src, tgt


def build_cross_lingual(model_dir, translations, out_dir, *, objective: str, n: int, beta: float,
                        nll_weight: float, train_cfg: dict, max_len: int, seed: int,
                        langs: tuple[str, str], trust_remote_code: bool = False,
                        nll_on: str = "target") -> dict:
    """clo/{n}/ or sft/{n}/: the instruct model trained on n translated conversations, attention
    layers only; CLO on both preference examples per conversation, SFT on the translations."""
    if objective not in ("clo", "sft"):
        raise LangadaptError(f"cross-lingual objective '{objective}' is unknown; choose clo or sft")
    src, tgt = read_translations(translations, n, langs)  # before loading the model
    model, tok = load_chat_model(model_dir, trust_remote_code, objective)
    kw = train_kwargs(train_cfg)
    with launch.output_dir(out_dir, atomic_dir) as tmp:
        if objective == "clo":
            enc = encode_pairs(tok, preference_pairs(src, tgt), max_len)
            plain = head_is_plain(model, *(torch.from_numpy(enc[f"chosen_{k}"]) for k in ("ids", "labels")))
            ref_c, ref_r = reference_logps(model, enc, kw["batch_size"], plain)
            # a sharded head's weight is gathered only inside the model's forward: full logits
            plain = plain and not launch.sharded()
            data = PreferenceData(enc, ref_c, ref_r)
            trainer_cls = clo_trainer_class(beta, nll_weight, plain, nll_on)
        else:
            ids, labels = sft_examples(tok, tgt, max_len)
            data, trainer_cls = BlockDataset(ids, labels), None
        n_train = train_only_attention(model)
        log.info("%s: %d examples, %d trainable (attention) parameters", objective, len(data), n_train)
        train(model, data, tmp / "trainer", seed=seed, loss_csv=tmp / "loss.csv", tokens_per_example=max_len,
              trainer_cls=trainer_cls, **kw)
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        for p in model.parameters():
            p.requires_grad = True
        save_trained(model, tok, tmp)
        info = {"objective": objective, "conversations": n, "examples": len(data), "trainable_parameters": n_train}
        write_json(tmp / "training.json", info)
    return info

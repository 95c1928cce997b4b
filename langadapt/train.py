"""Causal-LM training on the Hugging Face Trainer: packing, prompt masking, loss logging.

The same code path runs on CPU, one GPU, or many under torchrun/accelerate.
"""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)


def pack_blocks(tokenizer, docs: list[str], block_size: int, max_tokens: int | None = None) -> np.ndarray:
    """Tokenize documents (eos after each), concatenate, and cut into full blocks."""
    ids = tokenizer(docs, add_special_tokens=False)["input_ids"]
    eos = np.array([tokenizer.eos_token_id], dtype=np.int64)
    flat = np.concatenate([a for x in ids for a in (np.asarray(x, dtype=np.int64), eos)]) if ids else eos[:0]
    if max_tokens:
        flat = flat[:max_tokens]
    n = len(flat) // block_size
    return flat[: n * block_size].reshape(n, block_size)


TRAIN_KEYS = ("lr", "batch_size", "grad_accum", "epochs", "max_steps", "warmup_steps", "weight_decay", "logging_steps")


def train_kwargs(cfg: dict) -> dict:
    """The keyword arguments of `train` from a config's train block (other keys ignored)."""
    return {k: cfg[k] for k in TRAIN_KEYS}


class BlockDataset(torch.utils.data.Dataset):
    def __init__(self, blocks: np.ndarray, labels: np.ndarray | None = None):
        self.blocks = torch.from_numpy(np.ascontiguousarray(blocks))
        self.labels = None if labels is None else torch.from_numpy(np.ascontiguousarray(labels))

    def __len__(self):
        return len(self.blocks)

    def __getitem__(self, i):
        ids = self.blocks[i]
        return {"input_ids": ids, "labels": ids if self.labels is None else self.labels[i]}


def sft_examples(tokenizer, conversations: list[list[dict]], max_len: int):
    """Token ids and labels for chat examples; only the assistant's reply is learned."""
    prompts = [tokenizer.apply_chat_template(c[:-1], tokenize=False, add_generation_prompt=True) for c in conversations]
    replies = [c[-1]["content"] + (tokenizer.eos_token or "") for c in conversations]
    p_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    r_ids = tokenizer(replies, add_special_tokens=False)["input_ids"]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids = np.full((len(prompts), max_len), pad, dtype=np.int64)
    labels = np.full((len(prompts), max_len), -100, dtype=np.int64)
    for i, (p, r) in enumerate(zip(p_ids, r_ids)):
        seq = (p + r)[:max_len]
        ids[i, : len(seq)] = seq
        labels[i, len(p) : len(seq)] = seq[len(p) :]
    return ids, labels


class _LossLog:
    """Trainer callback collecting (step, loss, lr, tokens seen) for loss.csv."""

    def __init__(self, tokens_per_step: int):
        from transformers import TrainerCallback

        self.rows: list[dict] = []
        outer = self

        class CB(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kw):
                if logs and "loss" in logs:
                    outer.rows.append(
                        {
                            "step": state.global_step,
                            "loss": float(logs["loss"]),
                            "lr": float(logs.get("learning_rate", float("nan"))),
                            "tokens": state.global_step * tokens_per_step,
                        }
                    )

        self.callback = CB()

    def write(self, path):
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["step", "loss", "lr", "tokens"])
            w.writeheader()
            w.writerows(self.rows)


def train(
    model,
    dataset,
    work_dir,
    *,
    lr: float,
    batch_size: int,
    grad_accum: int = 1,
    epochs: float = 1.0,
    max_steps: int = -1,
    warmup_steps: int = 0,
    weight_decay: float = 0.0,
    scheduler: str = "cosine",
    seed: int = 0,
    logging_steps: int = 10,
    loss_csv=None,
    tokens_per_example: int = 0,
    trainer_cls=None,
):
    """Train `model` in place with the HF Trainer (or `trainer_cls`, a subclass with its own
    loss); write loss.csv if asked; return the log rows."""
    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(
        output_dir=str(work_dir),
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum,
        num_train_epochs=epochs,
        max_steps=max_steps,
        learning_rate=lr,
        warmup_steps=warmup_steps,
        weight_decay=weight_decay,
        lr_scheduler_type=scheduler,
        logging_steps=logging_steps,
        logging_first_step=True,
        save_strategy="no",
        report_to=[],
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=0,
        disable_tqdm=True,
        remove_unused_columns=False,  # the datasets hold exactly what the loss reads
        use_cpu=not torch.cuda.is_available(),
    )
    world = max(1, args.world_size)
    losses = _LossLog(tokens_per_example * batch_size * grad_accum * world)
    trainer = (trainer_cls or Trainer)(model=model, args=args, train_dataset=dataset, callbacks=[losses.callback])
    trainer.train()
    if loss_csv:
        Path(loss_csv).parent.mkdir(parents=True, exist_ok=True)
        losses.write(loss_csv)
    return losses.rows


@torch.no_grad()
def mean_loss(model, blocks: np.ndarray, batch_size: int = 8) -> float:
    """Average next-token loss over blocks (used before training, e.g. for init quality)."""
    model.eval()
    total, n = 0.0, 0
    for i in range(0, len(blocks), batch_size):
        x = torch.from_numpy(blocks[i : i + batch_size])
        out = model(input_ids=x, labels=x)
        total += float(out.loss) * len(x)
        n += len(x)
    return total / max(n, 1) if n else math.nan

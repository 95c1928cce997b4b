"""Causal-LM training on the Hugging Face Trainer: packing, prompt masking, loss logging.

The same code path runs on CPU, one GPU, or many under torchrun/accelerate: data parallel
(DDP, a whole model per process) or, when the job's `parallel` resource says `fsdp`, sharded
(FSDP2 through accelerate: every decoder layer its own unit, parameters, gradients and
optimizer state split across the processes; checkpoints sharded, the final model gathered
once and written by rank 0).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from transformers import Trainer, TrainingArguments

from langadapt.core import launch
from langadapt.core.errors import LangadaptError
from langadapt.models.io import save_model

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


TRAIN_KEYS = ("lr", "batch_size", "grad_accum", "epochs", "max_steps", "warmup_steps", "weight_decay", "logging_steps",
              "save_steps")


def train_kwargs(cfg: dict) -> dict:
    """The keyword arguments of `train` from a config's train block (other keys ignored)."""
    return {k: cfg[k] for k in TRAIN_KEYS if k in cfg}


class BlockDataset(torch.utils.data.Dataset):
    def __init__(self, blocks: np.ndarray, labels: np.ndarray | None = None):
        self.blocks = torch.from_numpy(np.ascontiguousarray(blocks))
        self.labels = None if labels is None else torch.from_numpy(np.ascontiguousarray(labels))

    def __len__(self):
        return len(self.blocks)

    def __getitem__(self, i):
        ids = self.blocks[i]
        return {"input_ids": ids, "labels": ids if self.labels is None else self.labels[i]}


class TokenBlockDataset(torch.utils.data.Dataset):
    """Pretraining blocks read from memory-mapped token shards (vocab.tokens.TokenShards)."""

    def __init__(self, shards):
        self.shards = shards

    def __len__(self):
        return len(self.shards)

    def __getitem__(self, i):
        ids = torch.from_numpy(self.shards.block(i))
        return {"input_ids": ids, "labels": ids}


def trim_padding(features: list[dict]) -> dict:
    """Collate a batch (the Trainer's data_collator) and cut its trailing padding (trim_batch)."""
    return trim_batch({k: torch.stack([f[k] for f in features]) for k in features[0]})


def trim_batch(batch: dict) -> dict:
    """Cut the padding columns that follow every row's last learned token.

    Chat examples are padded to max_len once; a batch of short ones would otherwise pay for
    max_len positions. Right padding under causal attention changes no logit of a real token,
    so the loss is the padded batch's. Pretraining blocks (no -100 labels) are left whole."""
    labels = [v for k, v in batch.items() if k.endswith("labels") and v.dim() == 2]
    if not labels:
        return batch
    learned = torch.stack([(lab != -100).any(0) for lab in labels]).any(0)
    width = int(learned.nonzero().max()) + 1 if learned.any() else 1
    return {k: v[:, :width].contiguous() if v.dim() == 2 and k.endswith(("ids", "labels")) else v
            for k, v in batch.items()}


def reply_text(tokenizer, conversation: list[dict], prompt: str) -> str:
    """What the template writes after the generation prompt for the last (assistant) turn, up to
    and including the end of the turn (eos): Qwen3's empty think block, Gemma's trimmed content,
    Mistral's `</s>`. A template whose full rendering does not extend the prompt gives content+eos."""
    eos = tokenizer.eos_token or ""
    full = tokenizer.apply_chat_template(conversation, tokenize=False)
    if not full.startswith(prompt):
        return conversation[-1]["content"] + eos
    tail = full[len(prompt):]
    return tail[: tail.index(eos) + len(eos)] if eos and eos in tail else tail


def sft_examples(tokenizer, conversations: list[list[dict]], max_len: int):
    """Token ids and labels for chat examples; only the assistant's reply, as the chat template
    writes it, is learned."""
    prompts = [tokenizer.apply_chat_template(c[:-1], tokenize=False, add_generation_prompt=True) for c in conversations]
    replies = [reply_text(tokenizer, c, p) for c, p in zip(conversations, prompts)]
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


def learned_logits(model, input_ids: torch.Tensor, labels: torch.Tensor, attention_mask=None):
    """(logits, targets, row of each) at the positions whose next token is learned, only.

    A chat example learns its reply, 10-17% of the positions of the default's batches, but the
    vocabulary projection and the cross-entropy would run on all of them: more than every
    layer of a small model, and most of the activation memory of a 128k-vocabulary one. The
    model runs as usual (through any DDP or PEFT wrapper, keeping its hidden states; one
    position of logits), then its output embeddings project the learned positions alone."""
    out = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True, logits_to_keep=1)
    target = labels[:, 1:]
    mask = target != -100
    hidden = out.hidden_states[-1][:, :-1][mask]
    head = getattr(model, "module", model).get_output_embeddings()  # DDP keeps the model in .module
    return head(hidden), target[mask], mask.nonzero()[:, 0]


def head_is_plain(model, input_ids: torch.Tensor, labels: torch.Tensor, attention_mask=None) -> bool:
    """Whether the model's logits are its output embeddings applied to its last hidden state
    (not so with logit soft-capping or scaling), checked on the first example of a batch that
    learns anything: only then may learned_logits stand in for the model's own logits. A batch
    that learns nothing cannot tell, and counts as not plain."""
    learns = (labels[:, 1:] != -100).any(1).nonzero()
    if len(learns) == 0:
        return False
    one = slice(int(learns[0]), int(learns[0]) + 1)
    mask = None if attention_mask is None else attention_mask[one]
    with torch.no_grad():
        full = model(input_ids=input_ids[one], attention_mask=mask).logits[:, :-1][labels[one, 1:] != -100]
        mine = learned_logits(model, input_ids[one], labels[one], mask)[0]
    return full.shape == mine.shape and torch.allclose(full.float(), mine.float(), rtol=1e-3,
                                                       atol=1e-3 * float(full.abs().max().clamp_min(1)))


def learned_tokens_trainer(base):
    """`base` (a Trainer class) whose causal-LM loss on prompt-masked labels projects only the
    learned positions (learned_logits): the same loss as the model's own (summed over the
    accumulated batch's learned tokens when the Trainer counts them, else their mean). Blocks
    without masked labels (pretraining), models whose head is not plain and sharded models (their
    head's weight is gathered only inside the model's own forward) take the base path."""
    class LearnedTokensTrainer(base):
        _plain = None

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.get("labels")
            if self.is_fsdp_enabled or return_outputs or labels is None or set(inputs) - {"input_ids", "labels", "attention_mask"} \
                    or not bool((labels == -100).any()) or not bool((labels[:, 1:] != -100).any()):
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            ids, mask = inputs["input_ids"], inputs.get("attention_mask")
            if self._plain is None:
                self._plain = head_is_plain(model, ids, labels, mask)
                if not self._plain:
                    log.info("the model's logits are not its plain output projection: full logits for the loss")
            if not self._plain:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            logits, target, _ = learned_logits(model, ids, labels, mask)
            loss = torch.nn.functional.cross_entropy(logits.float(), target, reduction="sum")
            if self.model_accepts_loss_kwargs and num_items_in_batch is not None:
                loss = loss / num_items_in_batch
                if self.args.average_tokens_across_devices:  # as Trainer.compute_loss: the count is global
                    loss = loss * self.accelerator.num_processes
            else:
                loss = loss / max(len(target), 1)
            return loss

    return LearnedTokensTrainer


def sharded_trainer(base):
    """`base` (a Trainer class) that shards under FSDP on CPU too. accelerate keeps FSDP for
    accelerators and, on CPU, silently trains data parallel instead; torch's FSDP2 runs on CPU
    with gloo, so there the accelerator's state is set to FSDP after it is built, and the rest
    (wrapping, sharded checkpoints, clipping) is accelerate's own FSDP2 path, as on GPUs."""
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    class ShardedTrainer(base):
        def create_accelerator_and_postprocess(self):
            super().create_accelerator_and_postprocess()
            if self.args.fsdp_plugin_args is not None and not self.is_fsdp_enabled:
                state = self.accelerator.state
                state.distributed_type = DistributedType.FSDP
                state.fsdp_plugin = FullyShardedDataParallelPlugin(**self.args.fsdp_plugin_args)
                self.is_fsdp_enabled = True

    return ShardedTrainer


def fsdp_config(model, checkpointing: bool = False) -> dict:
    """FSDP2 settings for `model`: each of its decoder layers (the classes its architecture
    names as not to be split) one unit, the embeddings, final norm and head the root's;
    parameters resharded after each forward; checkpoints sharded (each rank writes its part);
    with `checkpointing`, FSDP's own activation checkpointing of each layer."""
    layers = sorted(set(getattr(model, "_no_split_modules", None) or []))
    if not layers:
        raise LangadaptError(f"parallel fsdp: {type(model).__name__} names no decoder layer class "
                             "(_no_split_modules) to shard by; use parallel: ddp for it")
    return {"version": 2, "auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "transformer_layer_cls_to_wrap": layers,
            "reshard_after_forward": True, "state_dict_type": "SHARDED_STATE_DICT",
            "activation_checkpointing": checkpointing}


def recomputed_layers(model) -> int:
    """Layers that recompute their activations in the backward pass: FSDP's checkpoint wrappers
    or the Hugging Face layers with gradient checkpointing on."""
    from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import CheckpointWrapper
    from transformers.modeling_layers import GradientCheckpointingLayer

    return sum(isinstance(m, CheckpointWrapper) or isinstance(m, GradientCheckpointingLayer) and m.gradient_checkpointing
               for m in model.modules())


def is_sharded(model) -> bool:
    """Whether `model` (or a module in it) was sharded by FSDP2 (fully_shard changes it in place)."""
    from torch.distributed.fsdp import FSDPModule

    return any(isinstance(m, FSDPModule) for m in model.modules())


def full_state_dict(model) -> dict | None:
    """A sharded model's whole state dict on rank 0 (in CPU memory; None on the other ranks),
    gathered layer by layer: every rank must call it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    sd = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if not launch.is_main_process():
        return None
    # a parameter used twice (tied embeddings) is gathered once per name: keep its first name,
    # as save_pretrained keeps one tensor of a tied pair
    first = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        if first.setdefault(id(p), name) != name:
            sd.pop(name, None)
    return sd


def save_trained(model, tokenizer, out_dir) -> None:
    """Write a trained model's directory (models.io.save_model). A sharded model is gathered
    first, so every rank must call this; rank 0 writes it, as one ordinary directory."""
    if not is_sharded(model):
        save_model(model, tokenizer, out_dir)
        return
    sd = full_state_dict(model)
    if sd is not None:
        save_model(model, tokenizer, out_dir, state_dict=sd)


CHECKPOINT_KEY = "langadapt_resume_key.json"


def files_key(*paths) -> dict:
    """Size and mtime of every file under `paths`: a checkpoint is resumed only from the same inputs."""
    out = {}
    for p in map(Path, paths):
        for f in sorted([p] if p.is_file() else p.rglob("*")):
            if f.is_file():
                st = f.stat()
                out[str(f)] = [st.st_size, st.st_mtime_ns]
    return out


def resume_point(checkpoint_dir, key: dict) -> str | None:
    """The newest complete checkpoint written for the same `key` (inputs, settings, world size),
    else None. Checkpoints of another key are removed; an incomplete one (killed while saving:
    trainer_state.json is written last) is skipped and removed."""
    d = Path(checkpoint_dir)
    if not d.is_dir():
        return None
    key_file = d / CHECKPOINT_KEY
    try:
        same = json.loads(key_file.read_text()) == key
    except (OSError, ValueError):
        same = False
    if not same:
        log.info("checkpoints in %s were written for other inputs or settings: removed", d)
        shutil.rmtree(d)
        return None
    found = [c for c in d.glob("checkpoint-*") if c.name.removeprefix("checkpoint-").isdigit()]
    for c in sorted(found, key=lambda c: int(c.name.removeprefix("checkpoint-")), reverse=True):
        try:
            json.loads((c / "trainer_state.json").read_text())
            return str(c)
        except (OSError, ValueError):
            log.info("incomplete checkpoint %s removed", c)
            shutil.rmtree(c, ignore_errors=True)
    return None


def _write_loss_csv(path, log_history: list[dict], tokens_per_step: int) -> list[dict]:
    """loss.csv from the Trainer's log history, which a resumed run restores from its checkpoint."""
    rows = [{"step": h["step"], "loss": float(h["loss"]), "lr": float(h.get("learning_rate", float("nan"))),
             "tokens": h["step"] * tokens_per_step} for h in log_history if "loss" in h]
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["step", "loss", "lr", "tokens"])
            w.writeheader()
            w.writerows(rows)
    return rows


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
    save_steps: int = 0,
    checkpoint_dir=None,
    resume_key: dict | None = None,
    loss_csv=None,
    tokens_per_example: int = 0,
    trainer_cls=None,
):
    """Train `model` in place with the HF Trainer (or `trainer_cls`, a subclass with its own
    loss); write loss.csv if asked; return the log rows.

    With `checkpoint_dir` and `save_steps`, a checkpoint (weights, optimizer, scheduler, RNG,
    data position) is kept every `save_steps` steps, and a run killed midway resumes from the
    last one written for the same `resume_key` (inputs, settings and process count), ending with
    the weights of an unbroken run. Under torchrun with the `fsdp` strategy (launch.setup) the
    model is sharded in place: write it with save_trained."""
    checkpointing = bool(checkpoint_dir and save_steps)
    sharded, how = launch.sharded(), launch.setup()
    recompute, bf16 = how.activation_checkpointing, how.precision == "bf16"
    if checkpointing and save_steps % logging_steps:
        # the first loss logged after a resume averages from the resume point, not the last log

        raise LangadaptError(f"save_steps {save_steps} is not a multiple of logging_steps {logging_steps}")
    args = TrainingArguments(
        output_dir=str(checkpoint_dir if checkpointing else work_dir),
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
        save_strategy="steps" if checkpointing else "no",
        save_steps=save_steps or 500,
        save_total_limit=2,  # the newest may be cut off by a kill; the one before it is whole
        report_to=[],
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=0,
        disable_tqdm=True,
        remove_unused_columns=False,  # the datasets hold exactly what the loss reads
        use_cpu=not torch.cuda.is_available(),
        bf16=bf16,  # autocast to bfloat16 (under FSDP: layers gathered and gradients reduced in it; the shards stay float32)
        **({"fsdp": True, "fsdp_config": fsdp_config(model, recompute)} if sharded else
           {"gradient_checkpointing": recompute, "gradient_checkpointing_kwargs": {"use_reentrant": False}}),
    )
    world = max(1, args.world_size)
    trainer_cls = learned_tokens_trainer(trainer_cls or Trainer)
    if sharded:
        trainer_cls = sharded_trainer(trainer_cls)
    trainer = trainer_cls(model=model, args=args, train_dataset=dataset, data_collator=trim_padding)
    resume = None
    if checkpointing:
        key = resume_key or {}
        resume = resume_point(checkpoint_dir, key) if args.process_index == 0 else None
        if world > 1:
            resume = _broadcast(resume)
        if args.process_index == 0:
            Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
            (Path(checkpoint_dir) / CHECKPOINT_KEY).write_text(json.dumps(key, sort_keys=True))
        if resume:
            log.info("resuming from %s", resume)
    trainer.train(resume_from_checkpoint=resume)
    if recompute:
        log.info("activation checkpointing: %d layers recomputed their activations", recomputed_layers(trainer.model))
    return _write_loss_csv(loss_csv, trainer.state.log_history, tokens_per_example * batch_size * grad_accum * world)


def _broadcast(obj):
    """Rank 0's value on every rank (where the checkpoint to resume from is decided once)."""
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


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

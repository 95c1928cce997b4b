"""Continued pretraining of the embeddings only (LEP §2.1.3): every inner layer frozen."""

from __future__ import annotations

import logging
import shutil

from langadapt.core import launch
from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir, read_lines, write_json
from langadapt.models.io import load_model, load_tokenizer, save_model
from langadapt.train.trainer import TokenBlockDataset, files_key, mean_loss, pack_blocks, train, train_kwargs
from langadapt.vocab.tokens import TokenShards

log = logging.getLogger(__name__)


def freeze_all_but_embeddings(model) -> list[str]:
    """Train only input and output embeddings; return the names of trainable parameters."""
    for p in model.parameters():
        p.requires_grad_(False)
    model.get_input_embeddings().weight.requires_grad_(True)
    if model.get_output_embeddings() is not None:
        model.get_output_embeddings().weight.requires_grad_(True)
    return [n for n, p in model.named_parameters() if p.requires_grad]


def check_blocks(shards: TokenShards) -> None:
    if len(shards) == 0:
        have = sum(m["tokens"] for m in shards.meta)
        raise LangadaptError(f"pretrain: the training text gives no full block of {shards.block_size} tokens "
                             f"({have} tokens in {len(shards.meta)} shards)")


def continued_pretraining(model, tokenizer, shards: TokenShards, heldout_docs: list[str], work_dir, *,
                          block_size: int, max_tokens: int | None = None, seed: int = 0, loss_csv=None,
                          checkpoint_dir=None, resume_key: dict | None = None, **train_cfg) -> dict:
    """Train the embeddings of `model` in place on the blocks of its token shards; return held-out
    loss before/after. `train_cfg` holds train()'s settings (lr, batch_size, ..., save_steps)."""
    check_blocks(shards)
    held = pack_blocks(tokenizer, heldout_docs, block_size)[:64]
    trainable = freeze_all_but_embeddings(model)
    log.info("CPT on %d blocks x %d tokens; trainable: %s", len(shards), block_size, trainable)
    before = mean_loss(model, held) if len(held) else float("nan")
    rows = train(model, TokenBlockDataset(shards), work_dir, seed=seed, loss_csv=loss_csv,
                 tokens_per_example=block_size, checkpoint_dir=checkpoint_dir, resume_key=resume_key,
                 **train_kwargs(train_cfg))
    after = mean_loss(model, held) if len(held) else float("nan")
    return {
        "train_blocks": int(len(shards)),
        "train_tokens": int(len(shards) * block_size),
        "steps": int(rows[-1]["step"]) if rows else 0,
        "first_loss": rows[0]["loss"] if rows else float("nan"),
        "last_loss": rows[-1]["loss"] if rows else float("nan"),
        "heldout_loss_before": before,
        "heldout_loss_after": after,
        "trainable": trainable,
    }


def run_cpt(init_dir, token_shards: list, heldout_file, out_dir, cfg: dict, seed: int, checkpoint_dir=None) -> dict:
    """cpt/{vocab}/{init}/: the initialized model after embedding-only CPT on its vocabulary's
    token shards, with loss.csv. Under torchrun every rank trains (data parallel: the sampler
    gives each rank its own blocks) and rank 0 writes the directory. With `checkpoint_dir`, a
    killed run resumes from its last checkpoint there; it is removed at the end."""
    tok = load_tokenizer(init_dir)
    shards = TokenShards(token_shards, cfg["block_size"], cfg.get("max_tokens") or None)
    shards.check_tokenizer(tok, f"initialized model {init_dir}")
    check_blocks(shards)
    model = load_model(init_dir)
    with launch.output_dir(out_dir, atomic_dir) as tmp:
        # what a checkpoint must have been written for: these settings, seed and input files
        key = {"cfg": {k: v for k, v in cfg.items() if k != "save_steps"}, "seed": seed,
               "processes": launch.world_size(), "inputs": files_key(init_dir, *token_shards)}
        metrics = continued_pretraining(
            model, tok, shards, read_lines(heldout_file), tmp / "trainer", seed=seed,
            loss_csv=tmp / "loss.csv", checkpoint_dir=checkpoint_dir, resume_key=key, **cfg,
        )
        metrics["processes"] = launch.world_size()
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        for p in model.parameters():
            p.requires_grad_(True)
        save_model(model, tok, tmp)
        write_json(tmp / "cpt_metrics.json", metrics)
    if checkpoint_dir and launch.is_main_process():
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return metrics

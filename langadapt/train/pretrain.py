"""Continued pretraining of the embeddings only (LEP §2.1.3): every inner layer frozen."""

from __future__ import annotations

import logging
import shutil

import numpy as np
from torch.utils.data import ConcatDataset, Subset

from langadapt.core import launch
from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir, read_lines, write_json
from langadapt.models.io import load_model, load_tokenizer
from langadapt.train.trainer import (
    TokenBlockDataset,
    files_key,
    mean_loss,
    pack_blocks,
    save_trained,
    train,
    train_kwargs,
)
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


def mixed_blocks(target: TokenShards, source: TokenShards | None = None, share: float = 0.0, warn: bool = True):
    """CPT's blocks: every target-language block, plus source-language blocks spread evenly over
    the source text so that they make `share` of the whole (LEP's CPT mixes the target language
    with English: shared tokens keep being used as the source language uses them). A source text
    too short for the share is warned about (`warn`), one with no block refused."""
    blocks = TokenBlockDataset(target)
    if not share:
        return blocks
    want = int(round(len(target) * share / (1 - share)))
    have = len(source) if source is not None else 0
    if have == 0:
        raise LangadaptError(f"pretrain.source_share {share}: the source-language training text gives no full block "
                             f"of {target.block_size} tokens")
    if have < want and warn:
        log.warning("pretrain.source_share %.2f asks for %d source blocks; the text has %d (share %.2f)",
                    share, want, have, have / (have + len(target)))
    picked = np.linspace(0, have - 1, min(want, have)).round().astype(np.int64)
    return ConcatDataset([blocks, Subset(TokenBlockDataset(source), picked.tolist())])


def continued_pretraining(model, tokenizer, shards: TokenShards, heldout_docs: list[str], work_dir, *,
                          block_size: int, max_tokens: int | None = None, seed: int = 0, loss_csv=None,
                          checkpoint_dir=None, resume_key: dict | None = None, source_shards: TokenShards | None = None,
                          source_share: float = 0.0, **train_cfg) -> dict:
    """Train the embeddings of `model` in place on the blocks of its token shards (and the
    source-language share, `mixed_blocks`); return held-out loss before/after. `train_cfg` holds
    train()'s settings (lr, batch_size, ..., save_steps)."""
    check_blocks(shards)
    data = mixed_blocks(shards, source_shards, source_share)
    held = pack_blocks(tokenizer, heldout_docs, block_size)[:64]
    trainable = freeze_all_but_embeddings(model)
    log.info("CPT on %d blocks x %d tokens (%d in the source language); trainable: %s", len(data), block_size,
             len(data) - len(shards), trainable)
    before = mean_loss(model, held) if len(held) else float("nan")
    rows = train(model, data, work_dir, seed=seed, loss_csv=loss_csv,
                 tokens_per_example=block_size, checkpoint_dir=checkpoint_dir, resume_key=resume_key,
                 **train_kwargs(train_cfg))
    after = mean_loss(model, held) if len(held) else float("nan")
    return {
        "train_blocks": int(len(data)),
        "source_blocks": int(len(data) - len(shards)),
        "train_tokens": int(len(data) * block_size),
        "steps": int(rows[-1]["step"]) if rows else 0,
        "first_loss": rows[0]["loss"] if rows else float("nan"),
        "last_loss": rows[-1]["loss"] if rows else float("nan"),
        "heldout_loss_before": before,
        "heldout_loss_after": after,
        "trainable": trainable,
    }


def run_cpt(init_dir, token_shards: list, heldout_file, out_dir, cfg: dict, seed: int, checkpoint_dir=None,
            source_shards: list = ()) -> dict:
    """cpt/{vocab}/{init}/: the initialized model after embedding-only CPT on its vocabulary's
    token shards (the target language's, and `cfg["source_share"]` of blocks from the source
    language's `source_shards`), with loss.csv. Under torchrun every rank trains (data parallel:
    the sampler gives each rank its own blocks) and rank 0 writes the directory. With
    `checkpoint_dir`, a killed run resumes from its last checkpoint there; it is removed at the end."""
    tok = load_tokenizer(init_dir)
    shards = TokenShards(token_shards, cfg["block_size"], cfg.get("max_tokens") or None)
    shards.check_tokenizer(tok, f"initialized model {init_dir}")
    check_blocks(shards)
    source = None
    if cfg.get("source_share"):
        source = TokenShards(source_shards, cfg["block_size"])
        source.check_tokenizer(tok, f"initialized model {init_dir}")
        mixed_blocks(shards, source, cfg["source_share"], warn=False)  # its errors before the model loads
    model = load_model(init_dir)
    with launch.output_dir(out_dir, atomic_dir) as tmp:
        # what a checkpoint must have been written for: these settings, seed and input files
        how = launch.setup()
        key = {"cfg": {k: v for k, v in cfg.items() if k != "save_steps"}, "seed": seed,
               "processes": launch.world_size(), "parallel": how.parallel, "precision": how.precision,
               "inputs": files_key(init_dir, *token_shards, *source_shards)}
        metrics = continued_pretraining(
            model, tok, shards, read_lines(heldout_file), tmp / "trainer", seed=seed,
            loss_csv=tmp / "loss.csv", checkpoint_dir=checkpoint_dir, resume_key=key, source_shards=source, **cfg,
        )
        metrics["processes"] = launch.world_size()
        metrics["parallel"] = how.parallel if launch.world_size() > 1 else "none"
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        for p in model.parameters():
            p.requires_grad_(True)
        save_trained(model, tok, tmp)
        write_json(tmp / "cpt_metrics.json", metrics)
    if checkpoint_dir and launch.is_main_process():
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return metrics

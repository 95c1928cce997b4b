"""Loading and saving Hugging Face model directories: safetensors only, no remote code by default."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .errors import LangadaptError

log = logging.getLogger(__name__)


def check_model_dir(path: str | os.PathLike) -> Path:
    """Refuse directories without a config or without safetensors weights (no pickle loading)."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise LangadaptError(f"model directory {path}: no config.json (not a save_pretrained directory)")
    if not any(path.glob("*.safetensors")):
        pickles = [p.name for p in path.glob("*.bin")] + [p.name for p in path.glob("*.pt")]
        what = f"only pickle checkpoints ({', '.join(pickles)})" if pickles else "no weights"
        raise LangadaptError(f"model directory {path}: {what}; langadapt loads safetensors only")
    return path


def load_model(path, trust_remote_code: bool = False, dtype=None):
    import torch
    from transformers import AutoModelForCausalLM

    check_model_dir(path)
    return AutoModelForCausalLM.from_pretrained(
        path, use_safetensors=True, trust_remote_code=trust_remote_code, dtype=dtype or torch.float32
    )


def load_tokenizer(path, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)


def load_chat_model(path, trust_remote_code: bool = False, stage: str = "model"):
    """(model, tokenizer) of an instruct model; one without a chat template is refused before
    its weights load."""
    tok = load_tokenizer(path, trust_remote_code=trust_remote_code)
    if not tok.chat_template:
        raise LangadaptError(f"{stage}: {path} has no chat template to format conversations with")
    return load_model(path, trust_remote_code=trust_remote_code), tok


def save_model(model, tokenizer, out_dir) -> None:
    """Write a directory that AutoModelForCausalLM, lm-eval and vLLM load as it is."""
    model.save_pretrained(out_dir, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(out_dir)


def fetch_hf_model(hub_id: str, out_dir, revision: str | None = None, trust_remote_code: bool = False) -> None:
    """Snapshot a hub model into a local save_pretrained directory (real configs only)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(
        hub_id, revision=revision, use_safetensors=True, trust_remote_code=trust_remote_code, dtype=torch.bfloat16
    )
    tok = AutoTokenizer.from_pretrained(hub_id, revision=revision, trust_remote_code=trust_remote_code)
    save_model(model, tok, out_dir)


def embedding_matrices(model):
    """(input embeddings, output embeddings or None when tied) as tensors."""
    inp = model.get_input_embeddings().weight
    out = model.get_output_embeddings()
    tied = out is None or out.weight.data_ptr() == inp.data_ptr() or getattr(model.config, "tie_word_embeddings", False)
    return inp, (None if tied else out.weight)


def inner_state_dict(model) -> dict:
    """Every parameter except the input and output embeddings."""
    skip = {id(model.get_input_embeddings().weight)}
    if model.get_output_embeddings() is not None:
        skip.add(id(model.get_output_embeddings().weight))
    return {n: p for n, p in model.named_parameters() if id(p) not in skip}

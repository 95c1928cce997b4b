"""Loading and saving Hugging Face model directories: safetensors only, no remote code by default.

transformers' Auto classes are imported in the functions that use them: importing them costs
about 2.5 s, which the transfer, LEP and overlap jobs skip (they read embedding rows through
models/weights.py and tokenizers through the TokenizersBackend fast path of load_tokenizer)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir
from langadapt.models.files import (check_model_dir, check_remote_code, check_rows_fit, check_tokenizer_files, is_local,
                                    read_model_json)

log = logging.getLogger(__name__)


def load_config(path, trust_remote_code: bool = False):
    """The model config of a checked directory (no weights read)."""
    from transformers import AutoConfig

    check_model_dir(path, trust_remote_code)
    return AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)


def load_model(path, trust_remote_code: bool = False, dtype=None, device_map=None):
    """Every causal LM langadapt reads comes through here: safetensors only, remote code only if
    trusted; on the CPU, or as `device_map` places it (e.g. "auto": over every visible GPU)."""
    from transformers import AutoModelForCausalLM

    check_model_dir(path, trust_remote_code)
    return AutoModelForCausalLM.from_pretrained(
        path, use_safetensors=True, trust_remote_code=trust_remote_code, dtype=dtype or torch.float32,
        device_map=device_map,
    )


def load_tokenizer(path, trust_remote_code: bool = False):
    """A directory saved as a plain `tokenizers` backend (every tokenizer langadapt writes) loads
    as that class directly: AutoTokenizer would first import the model-config machinery (about
    1.2 s of a 5 s transfer or LEP job) only to pick the same class. Anything else, hub
    tokenizers included, goes through AutoTokenizer and its per-model rules."""
    check_remote_code(path, trust_remote_code)
    # transformers saves the hub mode it loaded in (local_files_only) into tokenizer_config.json:
    # a local directory loads as offline always, so what a job writes does not depend on whether
    # HF_HUB_OFFLINE was set in its environment
    kw = {"local_files_only": True} if is_local(path) else {}
    if kw:
        check_tokenizer_files(path)
    conf = Path(path).expanduser() / "tokenizer_config.json"
    if conf.is_file() and read_model_json(conf).get("tokenizer_class") == "TokenizersBackend" and (conf.parent / "tokenizer.json").is_file():
        from transformers import TokenizersBackend

        return TokenizersBackend.from_pretrained(path, **kw)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code, **kw)


def chat_template_text(tokenizer) -> str:
    """Every chat template of a tokenizer as one text: one template, or the named templates of the
    older format (a list of {name, template}, read by transformers as a dict: default, tool_use, ...)."""
    t = getattr(tokenizer, "chat_template", None)
    if isinstance(t, dict):
        return "\n".join(t.values())
    if isinstance(t, list):
        return "\n".join(x.get("template", "") for x in t)
    return t or ""


def load_chat_model(path, trust_remote_code: bool = False, stage: str = "model", inference: bool = False):
    """(model, tokenizer) of an instruct model; one without a chat template is refused before
    its weights load. For `inference` on GPUs, in bfloat16 and spread over every visible GPU
    (a 70B model fits no single one); on CPU as for training."""
    tok = load_tokenizer(path, trust_remote_code=trust_remote_code)
    if not tok.chat_template:
        raise LangadaptError(f"{stage}: {path} has no chat template to format conversations with")
    if inference and torch.cuda.is_available():
        return load_model(path, trust_remote_code, dtype=torch.bfloat16, device_map="auto"), tok
    return load_model(path, trust_remote_code=trust_remote_code), tok


def save_model(model, tokenizer, out_dir, state_dict: dict | None = None) -> None:
    """Write a directory that AutoModelForCausalLM, lm-eval and vLLM load as it is (the weights
    `state_dict`, when given, e.g. those gathered from a sharded model)."""
    model.save_pretrained(out_dir, safe_serialization=True, state_dict=state_dict)
    if tokenizer is not None:
        tokenizer.save_pretrained(out_dir)


def fetch_hf_model(hub_id: str, out_dir, revision: str | None = None, trust_remote_code: bool = False,
                   chat: bool = False) -> None:
    """Snapshot a hub model (or a local directory, checked first) into a local save_pretrained
    directory, atomically. The tokenizer must fit the model, and an instruct model (`chat`) have a
    chat template, checked before the weights load."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    kw = {"revision": revision, "trust_remote_code": trust_remote_code}
    if is_local(hub_id):
        hub_id = str(check_model_dir(hub_id, trust_remote_code))
        check_tokenizer_files(hub_id)
        kw["local_files_only"] = True  # the same bytes whatever HF_HUB_OFFLINE says (see load_tokenizer)
    try:
        tok = AutoTokenizer.from_pretrained(hub_id, **kw)
        config = AutoConfig.from_pretrained(hub_id, **kw)
        check_rows_fit(f"model directory {hub_id}", len(tok), getattr(config, "vocab_size", None))
        if chat and not chat_template_text(tok):
            raise LangadaptError(f"model '{hub_id}': its tokenizer has no chat template, and the instruct model "
                                 "(models.hf.instruct) is prompted through one")
        model = AutoModelForCausalLM.from_pretrained(hub_id, use_safetensors=True, dtype=torch.bfloat16, **kw)
    except (OSError, ValueError) as e:  # not found, no safetensors on the hub, unknown architecture
        first = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
        raise LangadaptError(f"model '{hub_id}': {first}") from None
    with atomic_dir(out_dir) as tmp:
        save_model(model, tok, tmp)


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


def set_embeddings(model, tokenizer, new_in: torch.Tensor, new_out: torch.Tensor | None) -> None:
    """Resize the model to the new rows and set ids of bos/eos/pad from `tokenizer`."""
    n = new_in.shape[0]
    model.resize_token_embeddings(n, mean_resizing=False)
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(new_in)
        if new_out is not None:
            model.get_output_embeddings().weight.copy_(new_out)
    model.config.vocab_size = n
    for role in ("bos", "eos", "pad"):
        tid = getattr(tokenizer, f"{role}_token_id", None)
        setattr(model.config, f"{role}_token_id", tid)
        if getattr(model, "generation_config", None) is not None:
            setattr(model.generation_config, f"{role}_token_id", tid)



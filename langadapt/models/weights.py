"""The embedding rows of a save_pretrained directory, read and replaced without building the model.

Transfer and LEP change only the input and output embeddings. Building the model to do so
reads every weight (three 8B models in float32 for a LEP conversion: about 100 GB) and, on
the miniature, costs more in model-class imports than the work itself. Here only the
embedding tensors are read; a shard without them is linked (or copied) unchanged, and
config.json / generation_config.json get the new vocabulary size and special-token ids.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from langadapt.core.errors import LangadaptError
from langadapt.core.io import write_json
from langadapt.models.files import check_model_dir, read_model_json
from langadapt.models.io import load_config

log = logging.getLogger(__name__)

INDEX = "model.safetensors.index.json"
# tensor names of the input / output embeddings in the checkpoints of common architectures
INPUT_NAMES = ("model.embed_tokens.weight", "model.language_model.embed_tokens.weight", "transformer.wte.weight",
               "gpt_neox.embed_in.weight", "transformer.word_embeddings.weight", "model.decoder.embed_tokens.weight")
OUTPUT_NAMES = ("lm_head.weight", "embed_out.weight")


def read_config(path, trust_remote_code: bool = False) -> dict:
    """config.json of a checked model directory, as a dict (no model code imported)."""
    return read_model_json(check_model_dir(path, trust_remote_code) / "config.json")


def weight_map(path: Path) -> dict[str, str]:
    """Tensor name → safetensors file of a directory (sharded or not)."""
    if (path / INDEX).is_file():
        return read_model_json(path / INDEX)["weight_map"]

    files = sorted(p.name for p in path.glob("*.safetensors"))
    out = {}
    for name in files:
        with safe_open(path / name, framework="pt") as f:
            out.update(dict.fromkeys(f.keys(), name))
    return out


def _names_from_model(path: Path, trust_remote_code: bool) -> tuple[str, str]:
    """Names of the embedding parameters of an architecture not in the table: the model built on
    the meta device (no memory, no weights read) knows them."""
    from transformers import AutoModelForCausalLM  # a rare fallback: see load_config's note

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(load_config(path, trust_remote_code), trust_remote_code=trust_remote_code)
    names = {id(p): n for n, p in model.named_parameters(remove_duplicate=False)}
    out = model.get_output_embeddings()
    return names[id(model.get_input_embeddings().weight)], (names[id(out.weight)] if out is not None else "")


def embedding_names(path: Path, config: dict, wmap: dict, trust_remote_code: bool = False) -> tuple[str, str | None]:
    """(input name, output name or None when the model ties them). A tied model's checkpoint
    stores the shared matrix once; an untied one stores lm_head too."""
    inp = next((n for n in INPUT_NAMES if n in wmap), None)
    out = next((n for n in OUTPUT_NAMES if n in wmap), None)
    if inp is None:
        inp, out = _names_from_model(path, trust_remote_code)
        if inp not in wmap:
            raise LangadaptError(f"model directory {path}: no input embeddings ({inp}) in its safetensors files")
        out = out if out in wmap else None
    if config.get("tie_word_embeddings") is True:
        out = None
    return inp, out


class Embeddings:
    """The embedding rows of one model directory, in float32 (as the methods compute), and where
    they are stored."""

    def __init__(self, path, trust_remote_code: bool = False):
        self.path = Path(path)
        self.config = read_config(self.path, trust_remote_code)
        self.wmap = weight_map(self.path)
        self.in_name, self.out_name = embedding_names(self.path, self.config, self.wmap, trust_remote_code)
        rows = {}
        for name in filter(None, (self.in_name, self.out_name)):
            with safe_open(self.path / self.wmap[name], framework="pt") as f:
                rows[name] = f.get_tensor(name)
        self.dtype = rows[self.in_name].dtype
        self.shapes = {n: t.shape for n, t in rows.items()}
        self.input = rows[self.in_name].float()
        self.output = rows[self.out_name].float() if self.out_name else None

    @property
    def tied(self) -> bool:
        return self.out_name is None


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def write_model(src: Embeddings, out_dir, new_in: torch.Tensor, new_out: torch.Tensor | None, tokenizer,
                generation: dict | None = None) -> None:
    """`out_dir`: the model of `src` with new embedding rows and `tokenizer` (saved beside it).
    Rows are stored in the source's dtype; config vocab_size and bos/eos/pad ids follow the
    tokenizer; `generation` overrides generation_config.json fields. Only the shards that hold
    the embeddings are rewritten."""
    out = Path(out_dir)
    if (new_out is None) != src.tied:
        raise LangadaptError(f"{src.path}: {'tied' if src.tied else 'untied'} embeddings need "
                             f"{'no' if src.tied else 'new'} output rows")
    new = {src.in_name: new_in}
    if new_out is not None:
        new[src.out_name] = new_out
    new = {k: v.detach().to(src.dtype).contiguous() for k, v in new.items()}
    grown = 0
    for shard in sorted(set(src.wmap.values())):
        names = [n for n, s in src.wmap.items() if s == shard]
        if not set(names) & new.keys():
            _link_or_copy(src.path / shard, out / shard)
            continue
        with safe_open(src.path / shard, framework="pt") as f:
            tensors = {n: new[n] if n in new else f.get_tensor(n) for n in f.keys()}
            metadata = f.metadata() or {}
        grown += sum(new[n].nbytes - src.shapes[n].numel() * src.dtype.itemsize for n in names if n in new)
        save_file(tensors, out / shard, metadata={**metadata, "format": "pt"})
    if (src.path / INDEX).is_file():
        index = read_model_json(src.path / INDEX)
        index.setdefault("metadata", {})["total_size"] = index.get("metadata", {}).get("total_size", 0) + grown
        write_json(out / INDEX, index, sort_keys=True)
    ids = {f"{role}_token_id": getattr(tokenizer, f"{role}_token_id", None) for role in ("bos", "eos", "pad")}
    write_json(out / "config.json", _updated(src.config, {"vocab_size": int(new_in.shape[0]), **ids}), sort_keys=True)
    if (src.path / "generation_config.json").is_file() or generation:
        gen = read_model_json(src.path / "generation_config.json") if (src.path / "generation_config.json").is_file() else {}
        write_json(out / "generation_config.json", _updated(gen, {**ids, **(generation or {})}), sort_keys=True)
    tokenizer.save_pretrained(out)


def _updated(cfg: dict, values: dict) -> dict:
    """`cfg` with `values` set; a None value removes the key (as save_pretrained leaves unset ids out)."""
    out = dict(cfg)
    for k, v in values.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out

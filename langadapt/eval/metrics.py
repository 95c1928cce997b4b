"""Scores of the generation tasks, called by lm-eval through the task hooks in tasks/: the copy
task (DaruCopy's exact match, length and LCS ratios) and the response language."""

from __future__ import annotations

import unicodedata

from langadapt.core.errors import LangadaptError

SCRIPTS = {"ru": "CYRILLIC", "uk": "CYRILLIC", "bg": "CYRILLIC", "en": "LATIN", "de": "LATIN", "fr": "LATIN"}


def lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence, bit-parallel (Allison–Dix): one big-integer
    step per character of `b` instead of a |a|×|b| table."""
    masks: dict[str, int] = {}
    for i, c in enumerate(a):
        masks[c] = masks.get(c, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for c in b:
        u = v & masks.get(c, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def copy_scores(reference: str, output: str) -> dict:
    """DaruCopy's scores: exact copy, output/reference length, LCS / reference length."""
    ref, out = reference.strip(), output.strip()
    return {"exact_match": float(out == ref), "length_ratio": len(out) / max(len(ref), 1),
            "lcs_ratio": lcs_length(ref, out) / max(len(ref), 1)}


def in_language(text: str, lang: str) -> float:
    """1.0 when most letters of `text` are in the script of `lang` (Cyrillic for ru, Latin for en):
    the CLO paper's check that a model answers in the language it was asked in."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    script = SCRIPTS.get(lang)
    if script is None:
        raise LangadaptError(f"evaluate: no script known for language '{lang}' ({', '.join(SCRIPTS)})")
    share = sum(unicodedata.name(c, "").startswith(script) for c in letters) / len(letters)
    return float(share > 0.5)


def lang_scores(lang: str, output: str) -> dict:
    return {"in_language": in_language(output, lang), "answered": float(bool(output.strip()))}

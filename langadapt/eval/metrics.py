"""Scores of the generation tasks, called by lm-eval through the task hooks in tasks/: the copy
task (DaruCopy's exact match, length and LCS ratios) and the response language."""

from __future__ import annotations

from langadapt.lang.identify import in_language


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


def lang_scores(doc: dict, output: str) -> dict:
    """Is the answer in the language asked (doc: its code, scripts, and the other languages of
    the run written in them, told apart by the identifier)? The CLO paper's check."""
    ok = in_language(output, doc["lang"], tuple(doc["scripts"]), tuple(doc.get("rivals") or ()))
    return {"in_language": float(ok), "answered": float(bool(output.strip()))}

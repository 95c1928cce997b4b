"""Which language a text is in: the share of its letters in a language's scripts (vectorized over
a batch), and, where two languages share a script, a language identifier.

The identifier is py3langid (langid.py's model, 97 languages, in the wheel: offline, deterministic,
numpy only, ~50 µs a text) restricted to the languages in question — an answer in French is told
from one in English though both are Latin. Chosen over lingua (better on one-word texts, but a
wheel of several hundred MB), fastText's lid.176 (a model download: not offline) and langdetect
(random unless seeded, slower).
"""

from __future__ import annotations

import functools
from collections import Counter

import numpy as np
import regex
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from langadapt.lang.profiles import profile, script_letters

_LETTER = regex.compile(r"[^\W\d_]")


@functools.cache
def _bmp_table(pattern: regex.Pattern) -> np.ndarray:
    """Which characters of the Basic Multilingual Plane the one-character `pattern` matches."""
    table = np.zeros(0x10000, dtype=bool)
    plane = "".join(map(chr, range(0x10000)))
    table[[m.start() for m in pattern.finditer(plane)]] = True
    return table


def _counts(pattern: regex.Pattern, cps: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Characters matching `pattern` in each text of a batch (code points `cps`, text i spanning
    bounds[i]:bounds[i + 1]), by table lookup; characters past the BMP (rare) one by one."""
    hit = _bmp_table(pattern)[np.minimum(cps, 0xFFFF)]
    astral = np.flatnonzero(cps > 0xFFFF)
    hit[astral] = [bool(pattern.fullmatch(chr(c))) for c in cps[astral].tolist()]
    total = np.concatenate([[0], np.cumsum(hit)])
    return total[bounds[1:]] - total[bounds[:-1]]


def script_shares(texts: list[str], lang) -> np.ndarray:
    """The share of each text's letters that are in `lang`'s scripts (a code, a profile, or a
    tuple of script names; 0 for a text without letters), for a whole batch at once."""
    if not texts:
        return np.zeros(0)
    letters = script_letters(tuple(lang)) if isinstance(lang, (tuple, list)) else profile(lang).letters
    cps = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    bounds = np.concatenate([[0], np.cumsum([len(t) for t in texts])])
    return np.where((n := _counts(_LETTER, cps, bounds)) > 0, _counts(letters, cps, bounds) / np.maximum(n, 1), 0.0)


@functools.cache
def _identifier(langs: tuple[str, ...] | None):
    ident = LanguageIdentifier.from_model_file(MODEL_FILE)
    if langs:
        ident.set_languages(list(langs))
    return ident


def known_to_identifier(code: str) -> bool:
    return code in set(_identifier(None).nb_classes)


def identify(texts: list[str], among: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """The language code of each text: among `among` (those the identifier knows), else any of
    the identifier's 97."""
    langs = tuple(sorted(c for c in set(among) if known_to_identifier(c))) if among else None
    ident = _identifier(langs or None)
    return [ident.classify(t)[0] for t in texts]


def in_language(text: str, code: str, scripts: tuple[str, ...], rivals: tuple[str, ...] = ()) -> bool:
    """Whether `text` is in language `code` rather than in one of `rivals` (codes of languages
    written in its `scripts` too): most of its letters in those scripts, and where there are
    rivals, the identifier (between `code` and them) says `code`."""
    if script_shares([text], tuple(scripts))[0] <= 0.5:
        return False
    if not rivals or not known_to_identifier(code):
        return True
    return identify([text], [code, *rivals])[0] == code


def language_shares(texts: list[str]) -> dict[str, float]:
    """For a sample of a corpus: the share of its texts identified as each language, largest first."""
    counts = Counter(identify(texts))
    return {code: n / len(texts) for code, n in counts.most_common()}

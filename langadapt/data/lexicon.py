"""A word translation table for the offline dictionary translator.

A bilingual dictionary lists senses, not the sense a text needs: Mueller's first sense of
"file" is a metal file, of "default" a legal one. With an aligned parallel corpus the choice is
made by association: among the dictionary's senses, the one whose stem co-occurs most with the
word's stem (Dice over aligned sentences); where the dictionary has no usable sense, the corpus's
own strongest association; frequent source words with no consistent counterpart (articles,
copulas: Russian has neither) are dropped. All associations are one sparse product.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np
import snowballstemmer
from scipy import sparse

from langadapt.core.errors import LangadaptError
from langadapt.lang.profiles import profile

log = logging.getLogger(__name__)

WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)


def stemmer(lang):
    """The Snowball stemmer of a language's profile; None (identity) where it names none."""
    name = profile(lang).stemmer
    if name is None:
        return None
    if name not in snowballstemmer.algorithms():
        raise LangadaptError(f"language '{profile(lang).code}': Snowball has no stemmer '{name}' "
                             f"({', '.join(snowballstemmer.algorithms())})")
    return snowballstemmer.stemmer(name)


def stem_words(words: list[str], lang) -> list[str]:
    st = stemmer(lang)
    return st.stemWords(words) if st else list(words)


def _doc_stems(sentences: list[str], lang: str):
    """Binary sentence × stem matrix, the stems, and each stem's most frequent surface form."""
    toks = [WORD.findall(s.lower()) for s in sentences]
    flat = [w for t in toks for w in t]
    words, word_ids, word_counts = np.unique(np.asarray(flat, dtype=object), return_inverse=True,
                                             return_counts=True)
    stems, stem_of_word = np.unique(np.asarray(stem_words(list(words), lang), dtype=object), return_inverse=True)
    rows = np.repeat(np.arange(len(toks)), [len(t) for t in toks])
    mat = sparse.csr_matrix((np.ones(len(flat), np.float32), (rows, stem_of_word[word_ids])),
                            shape=(len(toks), len(stems)))
    mat.data[:] = 1  # presence per sentence, duplicates summed then clipped
    mat.sum_duplicates()
    mat.data[:] = 1
    # the most frequent surface form per stem: sort words by (stem, -count), first of each stem
    order = np.lexsort((-word_counts, stem_of_word))
    first = order[np.r_[True, stem_of_word[order][1:] != stem_of_word[order][:-1]]]
    return mat, list(stems), list(words[first])


@dataclass
class Lexicon:
    """Source stem → target word ('' drops the word), and how each entry was chosen."""

    table: dict[str, str]
    lang: object = None  # the source language (code or profile) whose stems key the table
    sources: dict[str, int] = field(default_factory=dict)

    def translate_words(self, words: list[str]) -> dict[str, str | None]:
        """Lower-cased source words → their translation (None: unknown, kept as it is)."""
        uniq = sorted(set(words))
        return {w: self.table.get(s) for w, s in zip(uniq, stem_words(uniq, self.lang))}


def build_lexicon(pairs: list[tuple[str, str]], parallel: list[tuple[str, str]] | None, src, tgt, *,
                  min_dice: float = 0.02, corpus_dice: float = 0.15,
                  min_count: int = 3, min_lift: float = 1.5, corpus_lift: float = 4.0,
                  drop_share: float = 0.02) -> Lexicon:
    """The table from dictionary `pairs` (source word, target word; first-listed sense first) and,
    where given, aligned `parallel` sentence pairs that pick among the senses."""
    single = [(s.lower(), t.lower()) for s, t in pairs if s and t and " " not in s.strip() and " " not in t.strip()]
    if not single and not parallel:
        raise LangadaptError("translate: the dictionary holds no single-word entries, and no parallel corpus "
                             "gives word pairs instead")
    d_src = stem_words([s for s, _ in single], src)
    first: dict[str, str] = {}
    for s, (_, t) in zip(d_src, single):
        first.setdefault(s, t)
    sources = {"dictionary_first_sense": len(first)}
    if not parallel:
        return Lexicon(first, src, sources)

    E, e_stems, _ = _doc_stems([p[0] for p in parallel], src)
    R, r_stems, r_surface = _doc_stems([p[1] for p in parallel], tgt)
    n = E.shape[0]
    ce, cr = np.asarray(E.sum(0)).ravel(), np.asarray(R.sum(0)).ravel()
    C = (E.T @ R).tocoo()
    dice = sparse.csr_matrix((2 * C.data / (ce[C.row] + cr[C.col]), (C.row, C.col)), shape=C.shape)
    # lift = P(e, r) / P(e) P(r): how much more often than chance; the/в co-occur often, by chance
    lift = sparse.csr_matrix((n * C.data / (ce[C.row] * cr[C.col]), (C.row, C.col)), shape=C.shape)
    counts = sparse.csr_matrix((C.data, (C.row, C.col)), shape=C.shape)

    # dictionary senses as a stem × stem mask over the corpus vocabularies
    e_index = {s: i for i, s in enumerate(e_stems)}
    r_index = {s: i for i, s in enumerate(r_stems)}
    d_tgt = stem_words([t for _, t in single], tgt)
    ij = np.asarray([(e_index[a], r_index[b]) for a, b in zip(d_src, d_tgt) if a in e_index and b in r_index],
                    dtype=np.int64).reshape(-1, 2)
    mask = sparse.csr_matrix((np.ones(len(ij), np.float32), (ij[:, 0], ij[:, 1])), shape=dice.shape)
    mask.data[:] = 1

    def row_best(m):
        m = m.tocsr()
        return np.asarray(m.argmax(axis=1)).ravel(), m.max(axis=1).toarray().ravel()

    d_arg, d_val = row_best(dice.multiply(mask))
    a_arg, a_val = row_best(dice)
    rows = np.arange(len(e_stems))
    a_cnt = np.asarray(counts[rows, a_arg]).ravel()
    dict_ok = (d_val >= min_dice) & (np.asarray(lift[rows, d_arg]).ravel() >= min_lift)
    corpus_ok = (a_val >= corpus_dice) & (a_cnt >= min_count) & (np.asarray(lift[rows, a_arg]).ravel() >= corpus_lift)
    # the corpus overrules a sense it supports less than half as well (Mueller's parse is noisy)
    use_corpus = corpus_ok & (~dict_ok | (a_val > 2 * d_val))
    use_dict = dict_ok & ~use_corpus
    drop = ~use_dict & ~use_corpus & (ce >= drop_share * n)
    # elsewhere the sense most frequent in the target side of the corpus (first-listed on ties)
    table = {}
    if single:
        freq = np.asarray([cr[r_index[b]] if b in r_index else 0 for b in d_tgt], dtype=np.float64)
        src_arr = np.asarray(d_src, dtype=object)
        order = np.lexsort((np.arange(len(single)), -freq, src_arr))
        top = order[np.r_[True, src_arr[order][1:] != src_arr[order][:-1]]]
        table = dict(zip(src_arr[top], np.asarray([t for _, t in single], dtype=object)[top]))
    surface = np.asarray(r_surface, dtype=object)
    e_arr = np.asarray(e_stems, dtype=object)
    table.update(zip(e_arr[use_dict], surface[d_arg[use_dict]]))
    table.update(zip(e_arr[use_corpus], surface[a_arg[use_corpus]]))
    table.update(dict.fromkeys(e_arr[drop], ""))
    sources.update(dictionary_by_corpus=int(use_dict.sum()), corpus_only=int(use_corpus.sum()),
                   dropped=int(drop.sum()), parallel_pairs=n)
    log.info("lexicon: %s", sources)
    return Lexicon(table, src, sources)


def induced_pairs(parallel: list[tuple[str, str]], src, tgt) -> list[tuple[str, str]]:
    """A dictionary from an aligned corpus alone (where none exists for the pair, e.g. English–Korean
    in Debian): each source word of the corpus with the target word it is most strongly and
    consistently associated with (build_lexicon's corpus-only entries), one pair per word."""
    lex = build_lexicon([], parallel, src, tgt)
    words = sorted({w for s, _ in parallel for w in WORD.findall(s.lower())})
    return [(w, t) for w, t in lex.translate_words(words).items() if t]

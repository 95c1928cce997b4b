"""Templated instructions over corpus text, in the source or the target language: the data
of the bootstrapped instruct model, of self-calibration prompts and of continued instruction
tuning (where real configs bring real instruction sets)."""

from __future__ import annotations

import random

from langadapt.core.errors import LangadaptError
from langadapt.lang.profiles import profile

def passages(docs: list[str], max_chars: int, min_words: int = 4) -> list[str]:
    """Documents cut to at most `max_chars` at a word boundary, keeping those of `min_words`+ words."""
    pool = [d[:max_chars].rsplit(" ", 1)[0] if len(d) > max_chars else d for d in docs]
    return [d for d in pool if len(d.split()) >= min_words]


def instruction_conversations(docs: list[str], n: int, seed: int, max_chars: int = 240, *, lang,
                              copy_instruction: str | None = None, copy_fraction: float = 0.0) -> list[list[dict]]:
    """n user/assistant pairs over corpus text: copy, continue, first/last word, with the
    templates of `lang` (a code or profile).

    With `copy_fraction`, that share are extra copy-task examples phrased with `copy_instruction`
    (the evaluation's wording)."""
    t = profile(lang).templates
    rng = random.Random(seed)
    pool = passages(docs, max_chars)
    if not pool:
        raise LangadaptError(f"no {profile(lang).code} documents with 4+ words to build instructions from")
    out = []
    n_copy = int(round(n * copy_fraction))
    for _ in range(n - n_copy):
        text = rng.choice(pool)
        words = text.split()
        kind = rng.randrange(4)
        if kind == 0:
            prompt, reply = f"{t['copy']}\n\n{text}", text
        elif kind == 1:
            cut = max(1, len(words) // 2)
            prompt, reply = f"{t['continue']}\n\n{' '.join(words[:cut])}", " ".join(words[cut:])
        elif kind == 2:
            prompt, reply = f"{t['first']}\n\n{text}", words[0]
        else:
            prompt, reply = f"{t['last']}\n\n{text}", words[-1]
        out.append([{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}])
    for _ in range(n_copy):
        text = rng.choice(pool)
        out.append([{"role": "user", "content": f"{copy_instruction or t['copy']}\n\n{text}"},
                    {"role": "assistant", "content": text}])
    if n_copy:
        rng.shuffle(out)
    return out

"""A contextual translator built offline: a small causal LM trained on the parallel corpus to
answer the causal_lm backend's own prompt (CausalLMTranslator.PROMPT) through a chat template.

Its examples are single pairs and, so that the relation-aware path is something it has seen,
consecutive pairs of one page joined as that path joins a data point (the catalyst statement,
then each part after its indicator; the reply is the joined translation without the catalyst).
The instruction templates of both languages are added as pairs, as a general translator would
know such phrases. It sees whole sentences, so unlike the dictionary it translates a word by
its neighbours, and a part translated alone can differ from the same part translated in context.
"""

from __future__ import annotations

import json
import random
import shutil

from langadapt.core import launch
from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir, read_lines, write_json
from langadapt.lang.profiles import profile
from langadapt.train.bootstrap import CHAT_TEMPLATE, CHAT_TOKENS, tiny_llama, train_byte_bpe
from langadapt.train.trainer import BlockDataset, save_trained, sft_examples, train, train_kwargs
from langadapt.translate.pipeline import CausalLMTranslator, join_components, language_name, page_groups


def translation_conversations(pairs: list[dict], relation: str, src, tgt, max_chars: int,
                              template_copies: int, seed: int) -> list[list[dict]]:
    """The translator's training conversations from language `src` to `tgt` (codes or profiles):
    every pair whose source has at most `max_chars`, every page group (2-3 consecutive pairs)
    whose parts have at most that many together, joined with `relation`, and each instruction
    template of the two languages' profiles `template_copies` times; shuffled."""
    prompt = CausalLMTranslator.PROMPT
    (a, ta), (b, tb) = ((profile(x).code, profile(x).templates) for x in (src, tgt))

    def conv(text: str, translation: str) -> list[dict]:
        return [{"role": "user", "content": prompt.format(src=language_name(src), tgt=language_name(tgt), text=text)},
                {"role": "assistant", "content": translation}]

    convs = [conv(p[a], p[b]) for p in pairs if len(p[a]) <= max_chars]
    convs += [conv(join_components([p[a] for p in g], relation), join_components([p[b] for p in g], ""))
              for g in page_groups(pairs) if sum(len(p[a]) for p in g) <= max_chars]
    convs += [conv(ta[k], tb[k]) for k in ta] * template_copies
    random.Random(seed).shuffle(convs)
    return convs


def build_translator(parallel_train, out_dir, *, relation: str, src, tgt, vocab_size: int, arch: dict,
                     max_chars: int, template_copies: int, train_cfg: dict, seed: int) -> dict:
    """models/translator: a byte-level BPE tokenizer on the examples' text, a tiny Llama with
    the bootstrap's chat template, trained on translation_conversations (replies only)."""
    pairs = [json.loads(line) for line in read_lines(parallel_train)]
    convs = translation_conversations(pairs, relation, src, tgt, max_chars, template_copies, seed)
    if len(convs) < train_cfg.get("batch_size", 1):
        raise LangadaptError(f"translate.trained: {parallel_train} gives {len(convs)} translation examples of at most "
                             f"{max_chars} characters; raise translate.trained.max_chars")
    tok = train_byte_bpe([m["content"] for c in convs for m in c], vocab_size)  # the prompt too: it is in every one
    tok.chat_template, tok.eos_token = CHAT_TEMPLATE, CHAT_TOKENS[-1]
    ids, labels = sft_examples(tok, convs, arch["max_len"])
    cut = int((ids[:, -1] != tok.pad_token_id).sum())  # replies cut short (learned in part)
    keep = (labels != -100).any(axis=1)  # a prompt that fills max_len leaves nothing to learn
    if not keep.any():
        raise LangadaptError(f"translate.trained.max_len: {arch['max_len']} tokens hold no reply token of any "
                             f"of the {len(convs)} examples (the prompt alone fills them); raise it")
    ids, labels = ids[keep], labels[keep]
    model = tiny_llama(tok, seed=seed, **arch)
    with launch.output_dir(out_dir, atomic_dir) as tmp:  # rank 0 writes it; other ranks a scratch copy
        train(model, BlockDataset(ids, labels), tmp / "trainer", seed=seed, loss_csv=tmp / "loss.csv",
              tokens_per_example=arch["max_len"], **train_kwargs(train_cfg))
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        model.generation_config.eos_token_id = tok.eos_token_id
        model.generation_config.pad_token_id = tok.pad_token_id
        save_trained(model, tok, tmp)
        info = {"pairs": len(pairs), "examples": int(keep.sum()), "cut": cut, "no_reply": int((~keep).sum()),
                "vocab_size": len(tok)}
        write_json(tmp / "training.json", info)
    return info

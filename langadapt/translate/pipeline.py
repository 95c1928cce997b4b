"""Translation of training data (relation-aware, arXiv:2404.16257): translator backends behind one
interface, and relation-aware translation of multi-component data points.

Relation-aware: a data point's components are joined into ONE text with indicator tokens and
a catalyst statement saying how they relate, translated once, and split back at the
indicators; when the split fails (an indicator lost, duplicated or out of order, a component
empty), or an indicator already occurs in the source text, the components are translated one
by one instead. Every data point records which path it took.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field

import sacrebleu
import torch

from langadapt.core.errors import LangadaptError
from langadapt.core.io import read_lines, write_json
from langadapt.data.dictionaries import word_pairs
from langadapt.data.instructions import instruction_conversations
from langadapt.data.lexicon import WORD, build_lexicon
from langadapt.lang.profiles import profile
from langadapt.models.files import check_model_dir, is_local
from langadapt.models.generate import generate_replies
from langadapt.models.io import load_chat_model, load_tokenizer, save_model

log = logging.getLogger(__name__)

BACKENDS = ("dictionary", "hf_seq2seq", "causal_lm")
INDICATOR = "[{i}]"  # component i's marker; digits and brackets survive every backend unchanged
CATALYST = "The following numbered parts belong together: {relation}."


class Translator:
    """`translate(texts) -> texts`, one output per input, batched by the backend."""

    def translate(self, texts: list[str]) -> list[str]:
        raise NotImplementedError

    def info(self) -> dict:
        """What the backend is, for translate/stats.json."""
        return {"backend": type(self).__name__}


# ------------------------------------------------------------------ backends


class DictionaryTranslator(Translator):
    """Word-for-word translation with a bilingual dictionary (the offline default). With an
    aligned parallel corpus the sense of each word is the one the corpus supports (see
    lexicon.py), otherwise the first listed. Case is kept; a dropped word (an article) hands its
    capital to the next; unknown words, numbers, punctuation and indicators pass unchanged."""

    def __init__(self, pairs: list[tuple[str, str]], parallel: list[tuple[str, str]] | None, src, tgt):
        self.lexicon = build_lexicon(pairs, parallel, src, tgt)

    def info(self) -> dict:
        return {"backend": "dictionary", "senses": self.lexicon.sources}

    def translate(self, texts: list[str]) -> list[str]:
        table = self.lexicon.translate_words([w.lower() for t in texts for w in WORD.findall(t)])
        return [self._text(t, table) for t in texts]

    @staticmethod
    def _text(text: str, table: dict) -> str:
        out, pos, cap = [], 0, False
        for m in WORD.finditer(text):
            w = m.group(0)
            out.append(text[pos:m.start()])
            pos = m.end()
            t = table.get(w.lower())
            if t == "":
                cap = cap or w[:1].isupper()
                if text[pos:pos + 1] == " ":
                    pos += 1
                continue
            t = w if t is None else t
            if cap or (t is not w and w[:1].isupper()):
                t = t[:1].upper() + t[1:]
            cap = False
            out.append(t)
        out.append(text[pos:])
        return "".join(out)


class Seq2SeqTranslator(Translator):
    """MarianMT / NLLB / M2M100 through transformers (real configs). NLLB and M2M100 take
    language codes (`eng_Latn`/`rus_Cyrl`, `en`/`ru`); Marian models are one direction each."""

    def __init__(self, model_dir: str, src_lang: str | None = None, tgt_lang: str | None = None,
                 batch_size: int = 16, max_new_tokens: int = 512, trust_remote_code: bool = False):
        from transformers import AutoModelForSeq2SeqLM  # the model classes only where a model translates

        check_model_dir(model_dir, trust_remote_code)
        self.tok = load_tokenizer(model_dir, trust_remote_code=trust_remote_code)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, use_safetensors=True,
                                                           trust_remote_code=trust_remote_code)
        self.model.to("cuda" if torch.cuda.is_available() else "cpu").eval()
        if src_lang and hasattr(self.tok, "src_lang"):
            self.tok.src_lang = src_lang
        self.forced_bos = None
        if tgt_lang:
            tid = (self.tok.get_lang_id(tgt_lang) if hasattr(self.tok, "get_lang_id")
                   else self.tok.convert_tokens_to_ids(tgt_lang))
            self.forced_bos = tid if tid != self.tok.unk_token_id else None
        self.batch_size, self.max_new_tokens = batch_size, max_new_tokens

    def translate(self, texts: list[str]) -> list[str]:
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), self.batch_size):
                enc = self.tok(texts[i:i + self.batch_size], return_tensors="pt", padding=True,
                               truncation=True).to(self.model.device)
                kw = {"forced_bos_token_id": self.forced_bos} if self.forced_bos is not None else {}
                gen = self.model.generate(**enc, max_new_tokens=self.max_new_tokens, num_beams=1, **kw)
                out += self.tok.batch_decode(gen, skip_special_tokens=True)
        return out


class CausalLMTranslator(Translator):
    """A prompted instruct model, through its chat template, greedy."""

    PROMPT = "Translate the following text from {src} to {tgt}. Keep the bracketed numbers. Answer with the " \
             "translation only.\n\n{text}"

    def __init__(self, model_dir: str, src: str, tgt: str, batch_size: int = 16, max_new_tokens: int = 512,
                 prompt: str | None = None, trust_remote_code: bool = False):
        self.model, self.tok = load_chat_model(model_dir, trust_remote_code, "translate")
        self.src, self.tgt, self.prompt = src, tgt, prompt or self.PROMPT
        self.batch_size, self.max_new_tokens = batch_size, max_new_tokens

    def translate(self, texts: list[str]) -> list[str]:
        prompts = [self.prompt.format(src=self.src, tgt=self.tgt, text=t) for t in texts]
        return generate_replies(self.model, self.tok, prompts, self.max_new_tokens, self.batch_size)


def language_name(lang) -> str:
    """How the prompt names a language: its profile's name."""
    return profile(lang).name


# ------------------------------------------------------------------ relation-aware translation


def join_components(components: list[str], relation: str) -> str:
    """One text: the catalyst statement, then each component after its indicator."""
    lines = [CATALYST.format(relation=relation)] if relation else []
    lines += [f"{INDICATOR.format(i=i + 1)} {c}" for i, c in enumerate(components)]
    return "\n".join(lines)


def split_components(text: str, n: int) -> list[str] | None:
    """The n components back from a joined translation, or None when any indicator is missing,
    repeated or out of order, or a component comes back empty."""
    marks = [INDICATOR.format(i=i + 1) for i in range(n)]
    pos = []
    for m in marks:
        if text.count(m) != 1:
            return None
        pos.append(text.index(m))
    if pos != sorted(pos):
        return None
    parts = [text[p + len(m):(pos[k + 1] if k + 1 < n else len(text))].strip() for k, (p, m) in
             enumerate(zip(pos, marks))]
    return parts if all(parts) else None


@dataclass
class TranslationLog:
    """Per data point: the path taken ('joint', 'fallback', 'per_component' or 'failed') and why."""

    paths: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, path: str, reason: str | None = None) -> None:
        self.paths.append(path)
        if reason:
            self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def summary(self) -> dict:
        n = max(len(self.paths), 1)
        counts = {p: self.paths.count(p) for p in ("joint", "fallback", "per_component", "failed")}
        return {"datapoints": len(self.paths), **counts, "fallback_rate": counts["fallback"] / n,
                "failed_rate": counts["failed"] / n, "reasons": dict(sorted(self.reasons.items()))}


def translate_datapoints(points: list[list[str]], translator: Translator, relation: str = "",
                         relation_aware: bool = True) -> tuple[list[list[str] | None], TranslationLog]:
    """Translate data points (lists of components). Relation-aware: joint translation with the
    per-component fallback; otherwise per component for all. A data point whose translation is
    unusable (an empty component in, or an empty translation out) is None, and counted."""
    log_ = TranslationLog()
    out: list[list[str] | None] = [None] * len(points)
    reason: dict[int, str] = {}
    joint_ids = []
    for k, comps in enumerate(points):
        if not comps or any(not c.strip() for c in comps):
            reason[k] = "empty_component"
        elif relation_aware and any(INDICATOR.format(i=i + 1) in c for c in comps for i in range(len(comps))):
            reason[k] = "indicator_in_source"
        elif relation_aware:
            joint_ids.append(k)
    if joint_ids:
        joined = translator.translate([join_components(points[k], relation) for k in joint_ids])
        _check_count(joined, joint_ids)
        for k, text in zip(joint_ids, joined):
            parts = split_components(text or "", len(points[k]))
            if parts is None:
                reason[k] = "empty_translation" if not (text or "").strip() else "split_failed"
            else:
                out[k] = parts
    single = [k for k in range(len(points)) if out[k] is None and reason.get(k) != "empty_component"]
    flat = [c for k in single for c in points[k]]
    done = translator.translate(flat) if flat else []
    _check_count(done, flat)
    pos = 0
    for k in single:
        parts = [t.strip() for t in done[pos:pos + len(points[k])]]
        pos += len(points[k])
        out[k] = parts if all(parts) else None
        if out[k] is None:  # a component with nothing left (e.g. an answer that was only an article)
            reason[k] = "empty_translation"
    for k in range(len(points)):
        if out[k] is None:
            log_.add("failed", reason.get(k, "empty_translation"))
        elif not relation_aware:
            log_.add("per_component")
        elif k in reason:
            log_.add("fallback", reason[k])
        else:
            log_.add("joint")
    return out, log_


def _check_count(outputs: list, inputs: list) -> None:
    if len(outputs) != len(inputs):
        raise LangadaptError(f"translate: the translator returned {len(outputs)} texts for {len(inputs)}")


# ------------------------------------------------------------------ stage entry point


def fetch_translation_model(hub_id: str, out_dir, revision: str | None = None, seq2seq: bool = True,
                            trust_remote_code: bool = False) -> None:
    """Snapshot a translation model (MarianMT/NLLB/M2M100, or a causal LM) into a local
    save_pretrained directory (real configs only)."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    kw = {"revision": revision, "trust_remote_code": trust_remote_code}
    if is_local(hub_id):  # a local directory is held to what every load asks: safetensors, trusted code
        hub_id = str(check_model_dir(hub_id, trust_remote_code))
        kw["local_files_only"] = True  # the same bytes whatever HF_HUB_OFFLINE says (see load_tokenizer)
    cls = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM
    model = cls.from_pretrained(hub_id, use_safetensors=True, dtype=torch.bfloat16, **kw)
    save_model(model, AutoTokenizer.from_pretrained(hub_id, **kw), out_dir)


def make_translator(backend: str, *, src, tgt, dictionary=None, dictionary_format: str | None = None,
                    parallel=None, model=None, src_code: str | None = None, tgt_code: str | None = None,
                    batch_size: int = 16, max_new_tokens: int = 512, trust_remote_code: bool = False) -> Translator:
    """The configured backend from language `src` to `tgt` (codes or profiles): `dictionary` (a
    dictd package dir, .dict.dz or pairs file, checked to be for the pair; senses chosen on the
    `parallel` training pairs, a jsonl, where given; no dictionary: the parallel corpus's own word
    associations), `hf_seq2seq` or `causal_lm` (a model directory)."""
    if backend == "dictionary":
        rows = [json.loads(line) for line in read_lines(parallel)] if parallel else []
        a, b = profile(src).code, profile(tgt).code
        pairs = [(r[a], r[b]) for r in rows]
        # without a dictionary, the lexicon is the corpus's own associations (word_pairs says
        # what is missing where there is no corpus either)
        words = word_pairs(dictionary, dictionary_format, src, tgt, pairs, "translate") if dictionary or not pairs else []
        return DictionaryTranslator(words, pairs, src, tgt)
    if model is None:
        raise LangadaptError(f"config key 'translate.model': backend {backend} needs a model")
    if backend == "hf_seq2seq":
        return Seq2SeqTranslator(model, src_code, tgt_code, batch_size, max_new_tokens, trust_remote_code)
    if backend == "causal_lm":
        return CausalLMTranslator(model, language_name(src), language_name(tgt), batch_size, max_new_tokens,
                                  trust_remote_code=trust_remote_code)
    raise LangadaptError(f"config key 'translate.backend': '{backend}' is unknown; choose from {', '.join(BACKENDS)}")


def conversation_components(conv: list[dict]) -> list[str]:
    """[instruction, passage, reply] of a templated conversation ('instruction\\n\\npassage')."""
    head, _, passage = conv[0]["content"].partition("\n\n")
    return [head, passage, conv[1]["content"]] if passage else [head, conv[1]["content"]]


def components_conversation(parts: list[str]) -> list[dict]:
    user = f"{parts[0]}\n\n{parts[1]}" if len(parts) == 3 else parts[0]
    return [{"role": "user", "content": user}, {"role": "assistant", "content": parts[-1]}]


def page_groups(pairs: list[dict], size: int = 3) -> list[list[dict]]:
    """Consecutive parallel pairs of one page (id before '#'), up to `size` per data point."""
    groups: list[list[dict]] = []
    for p in pairs:
        page = p.get("id", "").split("#")[0]
        if groups and len(groups[-1]) < size and groups[-1][0].get("id", "").split("#")[0] == page:
            groups[-1].append(p)
        else:
            groups.append([p])
    return [g for g in groups if len(g) > 1]


def reference_scores(translator: Translator, pairs: list[dict], relation: str, src: str, tgt: str,
                     n_points: int) -> dict:
    """chrF and BLEU (sacrebleu) of the relation-aware and the per-component translation of the
    same multi-component data points, against the held-out reference translation."""
    points = page_groups(pairs)[:n_points]
    src_points = [[p[src] for p in g] for g in points]
    ref_points = [[p[tgt] for p in g] for g in points]
    joint, jlog = translate_datapoints(src_points, translator, relation, relation_aware=True)
    single, _ = translate_datapoints(src_points, translator, relation, relation_aware=False)
    keep = [k for k in range(len(points)) if joint[k] is not None and single[k] is not None]
    refs = [c for k in keep for c in ref_points[k]]
    out = {"datapoints": len(points), "scored": len(keep), "components": len(refs),
           "relation_aware_paths": jlog.summary()}
    for name, hyp in (("relation_aware", joint), ("per_component", single)):
        flat = [c for k in keep for c in hyp[k]]
        out[name] = {"chrf": sacrebleu.corpus_chrf(flat, [refs]).score if refs else float("nan"),
                     "bleu": sacrebleu.corpus_bleu(flat, [refs]).score if refs else float("nan")}
    return out


def _word(text: str) -> str:
    return text.strip(".,;:!?\"'()«»").casefold()


def reply_relation(parts: list[str]) -> str | None:
    """How a templated data point's reply relates to its passage, where it can be checked on any
    translation: 'copy' (the reply is the passage), 'first' or 'last' (its first or last word)."""
    if len(parts) != 3 or not parts[1].split():
        return None
    passage, reply = parts[1].strip(), parts[2].strip()
    words = passage.split()
    if reply == passage:
        return "copy"
    if reply.split() == [reply] and _word(reply) == _word(words[0]):
        return "first"
    if reply.split() == [reply] and _word(reply) == _word(words[-1]):
        return "last"
    return None


def relation_kept(sources: list[list[str]], translations: list[list[str] | None]) -> dict:
    """Of the data points whose reply is the passage, or its first or last word, and that
    translated: the share whose translation still says so (the relation-aware paper's point: a
    translator that sees the parts together keeps them consistent)."""
    kept, checked = 0, 0
    for src, out in zip(sources, translations):
        kind = reply_relation(src)
        if kind is None or out is None or len(out) != 3 or not out[1].split():
            continue
        checked += 1
        passage, reply = out[1].strip(), out[2].strip()
        if kind == "copy":
            kept += reply == passage
        else:
            word = passage.split()[0 if kind == "first" else -1]
            kept += _word(reply) == _word(word)
    return {"checked": checked, "kept": kept, "share": kept / checked if checked else float("nan")}


def build_translations(source_docs, out_jsonl, stats_json, translator: Translator, *, n: int, relation: str,
                       relation_aware: bool, max_chars: int, seed: int, parallel_heldout=None,
                       langs: tuple, eval_points: int = 200, spare: float = 0.1) -> dict:
    """translate/instructions.jsonl: templated source-language conversations with their
    translation (null where it failed) and the path each took, n × (1 + spare) of them so that
    n translate; stats.json: fallback rate, reasons, how often each path keeps the relation of
    reply to passage (on the first eval_points data points), and reference scores of both paths
    on held-out parallel data."""
    convs = instruction_conversations(read_lines(source_docs), math.ceil(n * (1 + spare)), seed, max_chars, lang=langs[0])
    codes = [profile(x).code for x in langs]
    points = [conversation_components(c) for c in convs]
    done, tlog = translate_datapoints(points, translator, relation, relation_aware)
    ok = len(points) - tlog.summary()["failed"]
    if ok < n:
        raise LangadaptError(f"translate: {ok} of {len(points)} data points translated, fewer than the {n} needed "
                             f"(reasons: {tlog.summary()['reasons']}); raise translate.spare")
    with open(out_jsonl, "w", encoding="utf-8") as f:
        for conv, parts, path in zip(convs, done, tlog.paths):
            f.write(json.dumps({codes[0]: conv, codes[1]: parts and components_conversation(parts), "path": path},
                               ensure_ascii=False) + "\n")
    stats = {"translator": translator.info(), "instructions": tlog.summary()}
    if eval_points:  # the same data points translated the other way too, for the comparison
        some = points[:eval_points]
        other, _ = translate_datapoints(some, translator, relation, relation_aware=not relation_aware)
        ways = {relation_aware: done[:eval_points], not relation_aware: other}
        stats["relation_kept"] = {"relation_aware": relation_kept(some, ways[True]),
                                  "per_component": relation_kept(some, ways[False])}
    if parallel_heldout is not None:
        pairs = [json.loads(line) for line in read_lines(parallel_heldout)]
        stats["reference"] = reference_scores(translator, pairs, relation, codes[0], codes[1], eval_points)
    write_json(stats_json, stats)
    log.info("translations: %s", stats)
    return stats

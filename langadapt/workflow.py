"""What the Snakefile reads when it starts, and nothing heavy: the config validated against the
schema (defaults filled in, one-line errors), the plans (which initializations and propagations
run), and every check that needs no job."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import jsonschema
import yaml

from langadapt.core.errors import LangadaptError
from langadapt.data.sources import files_source_paths
from langadapt.lang.profiles import make_profile
from langadapt.models.files import check_model_dir, is_local
from langadapt.transfer.registry import PLM_METHODS


def _with_defaults(validator_class):
    """A validator that fills `default` values into the instance as it validates."""
    validate_props = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = _copy(sub["default"])
        yield from validate_props(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _copy(value):
    return copy.deepcopy(value)


def _key(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        path = f"{path}.{missing}" if path else missing
    elif error.validator == "additionalProperties" and "'" in error.message:
        extra = error.message.split("'")[1]
        path = f"{path}.{extra}" if path else extra
    return path or "<root>"


def validate_config(config: dict, schema_path: str | Path) -> dict:
    """Validate `config` in place (filling defaults); raise LangadaptError naming the bad key."""
    # libyaml's loader where PyYAML has it: the same document, read 7x faster (every run reads it)
    schema = yaml.load(Path(schema_path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    cls = _with_defaults(jsonschema.validators.validator_for(schema))
    errors = sorted(cls(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise LangadaptError(f"config key '{_key(e)}': {e.message}")
    cpt = config.get("pretrain", {})
    if cpt.get("save_steps") and cpt["save_steps"] % cpt["logging_steps"]:
        raise LangadaptError(f"config key 'pretrain.save_steps': {cpt['save_steps']} is not a multiple of "
                             f"pretrain.logging_steps ({cpt['logging_steps']}), so a resumed loss log would differ")
    return config


def check_results_dir(config: dict) -> None:
    """Before any job: the experiment's results directory can be made and written. Permission
    bits do not stop root, so the nearest existing ancestor must be a directory (not a file), and
    writable (os.access) for everyone else. Creates nothing."""
    root = Path(config["results_dir"]).expanduser().absolute() / config["experiment"]
    nearest = next(p for p in (root, *root.parents) if p.exists())
    if not nearest.is_dir():
        raise LangadaptError(f"config key 'results_dir': {config['results_dir']} cannot be created: {nearest} is "
                             "not a directory")
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise LangadaptError(f"config key 'results_dir': {config['results_dir']} cannot be written: {nearest} is "
                             "not writable")


def check_local_models(config: dict) -> None:
    """Before any job: a model named by a local path (not a hub id) holds safetensors weights and
    no untrusted custom code; checked on its files alone, so cheap."""
    refs = []
    if config["models"]["kind"] == "hf":
        refs += [(f"models.hf.{role}", config["models"]["hf"][role]) for role in ("base", "instruct")]
    plm = config["transfer"]["plm"]
    if plm["kind"] == "hf" and plm["hub_id"]:
        refs.append(("transfer.plm.hub_id", plm["hub_id"]))
    t = config["translate"]
    if t["backend"] != "dictionary" and t["model"] and t["model"] != "instruct":
        refs.append(("translate.model", t["model"]))
    for key, ref in refs:
        if is_local(ref):
            try:
                check_model_dir(ref, config["models"]["trust_remote_code"])
            except LangadaptError as e:
                raise LangadaptError(f"config key '{key}': {e}") from None


def transfer_plan(config: dict) -> dict[str, list[str]]:
    """Initializations per vocabulary variant: `transfer.methods` everywhere, plus
    `transfer.compare.methods` on its vocabulary. Checks what the schema cannot."""
    t = config["transfer"]
    vocabs = list(config["tokenizer"]["variants"])
    plan = {v: list(t["methods"]) for v in vocabs}
    if t["compare"]:
        cv = t["compare"]["vocab"]
        if cv not in plan:
            raise LangadaptError(f"config key 'transfer.compare.vocab': '{cv}' is not a tokenizer variant "
                                 f"({', '.join(vocabs)})")
        plan[cv] += [m for m in t["compare"]["methods"] if m not in plan[cv]]
    plm = t["plm"]
    plm_vocab = plm["vocab"] or (t["compare"] or {}).get("vocab")
    users = [v for v, ms in plan.items() if any(m in PLM_METHODS for m in ms)]
    if users:
        if plm_vocab not in plan:
            raise LangadaptError(f"config key 'transfer.plm.vocab': {'/'.join(PLM_METHODS)} need the PLM's vocabulary variant "
                                 f"(one of {', '.join(vocabs)})")
        other = [v for v in users if v != plm_vocab]
        if other:
            raise LangadaptError(f"config key 'transfer.methods': {'/'.join(PLM_METHODS)} map from the PLM's vocabulary "
                                 f"'{plm_vocab}' only, not '{other[0]}'; list them under transfer.compare")
        if plm["kind"] == "hf" and not plm["hub_id"]:
            raise LangadaptError("config key 'transfer.plm.hub_id': kind hf needs the PLM's hub id")
    for v, spec in config["tokenizer"]["variants"].items():
        if spec["kind"] == "plm" and (plm["kind"] != "hf" or plm_vocab != v):
            raise LangadaptError(f"config key 'tokenizer.variants.{v}.kind': 'plm' takes the tokenizer of an hf PLM "
                                 f"(transfer.plm.kind: hf, transfer.plm.vocab: {v})")
    wechsel_used = any("wechsel" in ms for ms in plan.values())
    if wechsel_used and t["wechsel"]["corpus"] == "parallel" and not config["corpus"]["parallel"]["enabled"]:
        raise LangadaptError("config key 'transfer.wechsel.corpus': 'parallel' needs corpus.parallel.enabled")
    plm["vocab"] = plm_vocab
    return plan


def lep_plan(config: dict, plan: dict[str, list[str]]) -> tuple[list[tuple], list[tuple]]:
    """(vocab, init, prop) triples to propagate, and those calibrate/instruct_tune start from: every
    `lep.methods` for the `transfer.methods` models (LEP Table 3), `lep.compare` for the extra
    initializations of `transfer.compare`; `lep.tune` of the former are tuned (Table 4)."""
    lep = config["lep"]
    if lep["tune"] not in lep["methods"]:
        raise LangadaptError(f"config key 'lep.tune': '{lep['tune']}' is not among lep.methods "
                             f"({', '.join(lep['methods'])})")
    main = set(config["transfer"]["methods"])
    props = [(v, i, p) for v, inits in plan.items() for i in inits
             for p in (lep["methods"] if i in main else [lep["compare"]])]
    tuning = config["calibrate"]["enabled"] or config["instruct_tune"]["enabled"]
    tuned = [(v, i, lep["tune"]) for v, inits in plan.items() for i in inits if i in main] if tuning else []
    return props, tuned


def language_profiles(config: dict) -> dict[str, dict]:
    """The profiles of languages.source and .target (built in, with languages.profiles' overrides),
    as rule params; and what the config leaves to them filled in, in place: the corpus sources
    (each language's Debian sources), the LibreOffice help packages of the parallel corpus, the
    dictionaries of translate and transfer.wechsel, NLLB codes, the lm-eval tasks of the target
    (evaluate.builtin.profile_tasks), and calibrate.lang / instruct_tune.lang as language codes."""
    langs = config["languages"]
    if langs["source"] == langs["target"]:
        raise LangadaptError(f"config key 'languages.target': '{langs['target']}' is the source language too")
    over = langs.get("profiles") or {}
    src, tgt = (make_profile(langs[role], over.get(langs[role]), f"languages.{role}") for role in ("source", "target"))
    corpus = config["corpus"]
    if not corpus.get("sources"):
        corpus["sources"] = {f"{p.code}_{name}": {"kind": "deb", "lang": p.code, **spec}
                             for p in (tgt, src) for name, spec in p.debian.items()}
    for p in (src, tgt):
        if not any(s["lang"] == p.code for s in corpus["sources"].values()):
            raise LangadaptError(f"config key 'corpus.sources': none in '{p.code}' (and its profile knows no Debian "
                                 f"corpus); add a source with lang {p.code}")
    packages = corpus["parallel"]["packages"]
    for p in (src, tgt):
        if p.libreoffice_help:
            packages.setdefault(p.code, p.libreoffice_help)
        if corpus["parallel"]["enabled"] and p.code not in packages:
            raise LangadaptError(f"config key 'corpus.parallel.packages.{p.code}': no LibreOffice help package known "
                                 f"for '{p.code}'; name one, or set corpus.parallel.enabled false")
    known = tgt.dictionaries.get(src.code)
    for key, section in (("translate", config["translate"]), ("transfer.wechsel", config["transfer"]["wechsel"])):
        if not section["dictionary_path"] and not section["dictionary_package"] and known:
            section["dictionary_package"] = known.get("package")
            section["dictionary_path"] = known.get("path")
            section["dictionary_format"] = section["dictionary_format"] or known.get("format")
        used = (config["clo"]["enabled"] and section["backend"] == "dictionary") if key == "translate" else \
            any("wechsel" in methods for methods in transfer_plan(config).values())
        if used and not section["dictionary_path"] and not section["dictionary_package"] and \
                not corpus["parallel"]["enabled"]:
            raise LangadaptError(f"config key '{key}.dictionary_package': no {src.code}-{tgt.code} dictionary known, "
                                 "and corpus.parallel.enabled is false, so none can be induced; name one")
    t = config["translate"]
    if t["backend"] == "hf_seq2seq":
        t["src_code"] = t["src_code"] or src.nllb
        t["tgt_code"] = t["tgt_code"] or tgt.nllb
    builtin = config["evaluate"]["builtin"]
    if builtin.get("profile_tasks"):
        builtin["tasks"] = list(dict.fromkeys([*builtin["tasks"], *tgt.lm_eval_tasks]))
    for key in ("calibrate", "instruct_tune"):
        lang = config[key]["lang"]
        config[key]["lang"] = langs[lang] if lang in ("source", "target") else lang
        if config[key]["lang"] not in (src.code, tgt.code):
            raise LangadaptError(f"config key '{key}.lang': '{lang}' is neither the source ({src.code}) nor the "
                                 f"target ({tgt.code}) language")
    return {p.code: p.to_dict() for p in (src, tgt)}


def check_corpus_config(config: dict) -> None:
    """Before any job: every pattern of every `files` source matches a file (local and cheap)."""
    for name, source in config["corpus"]["sources"].items():
        if source["kind"] == "files":
            files_source_paths(name, source["paths"])


def planned_bytes(config: dict, lang: str) -> int:
    """The training text a language is planned to have, known before any job: the sum over its
    sources of what each can give (an hf source its max_bytes, a files source its files' size on
    disk, a Debian package one shard's worth), at most its max_train_bytes."""
    corpus = config["corpus"]
    total = 0
    for name, source in corpus["sources"].items():
        if source["lang"] != lang:
            continue
        if source["kind"] == "hf":
            total += source["max_bytes"]
        elif source["kind"] == "files":
            total += sum(os.path.getsize(p) for p in files_source_paths(name, source["paths"]))
        else:
            total += corpus["shard_bytes"]
    return min(total, corpus["max_train_bytes"].get(lang, total))


def train_shards(config: dict, lang: str) -> int:
    """How many shards a language's training text is written in (corpus.shard_bytes each, about)."""
    return max(1, -(-planned_bytes(config, lang) // config["corpus"]["shard_bytes"]))


def check_translate_config(config: dict) -> None:
    """Before any job: a model-based translator needs its model."""
    t = config["translate"]
    if config["clo"]["enabled"] and t["backend"] != "dictionary" and not t["model"]:
        raise LangadaptError(f"config key 'translate.model': backend {t['backend']} needs a model "
                             "(a hub id, or 'instruct' for causal_lm)")
    if t["backend"] == "hf_seq2seq" and t["model"] == "instruct":
        raise LangadaptError("config key 'translate.model': 'instruct' is a causal LM; use backend causal_lm")
    if config["clo"]["enabled"] and t["model"] == "train":
        if t["backend"] != "causal_lm":
            raise LangadaptError("config key 'translate.model': 'train' trains a causal LM; use backend causal_lm")
        if not config["corpus"]["parallel"]["enabled"]:
            raise LangadaptError("config key 'translate.model': 'train' learns from the parallel corpus, and "
                                 "corpus.parallel.enabled is false")


# glibc returns every freed allocation above its mmap threshold (128 KB, raised dynamically
# only up to a point) to the kernel, and a training step faults the same tensors in again: 5
# of a CPT job's 26 s were kernel time. A 32 MB threshold and a 1 GB trim threshold keep them
# in the heap: CPT 1.4x faster at the same peak memory. GPU jobs are unaffected.
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824"


def keep_freed_tensors() -> None:
    """Set MALLOC_TUNABLES for the processes started from here on (a user's own
    GLIBC_TUNABLES wins); glibc reads it only when a process starts."""
    os.environ.setdefault("GLIBC_TUNABLES", MALLOC_TUNABLES)



"""Evaluation: lm-eval on local tasks made from held-out data, plus tokenizer efficiency."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import random
import re
import shutil
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import datasets
import lm_eval.evaluator as ev
import torch
from lm_eval import simple_evaluate
from lm_eval.models.huggingface import HFLM
from lm_eval.tasks import TaskManager

from langadapt.core.errors import LangadaptError
from langadapt.core.io import read_lines, write_json
from langadapt.data.instructions import instruction_conversations, passages
from langadapt.lang.profiles import profile, shared_scripts
from langadapt.models.files import check_model_dir
from langadapt.models.io import load_tokenizer
from langadapt.vocab.metrics import tokenization_metrics

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[2] / "tasks"
BUILTIN = "builtin.json"  # in the tasks directory: lm-eval's own tasks to run, and their shots


# task kinds: bits per byte and multiple choice for every model; copy and response language
# (through the chat template) for instruct models only
KINDS = ("bpb", "mc", "copy", "lang")
CHAT_KINDS = ("copy", "lang")


def task_name(kind: str, lang: str) -> str:
    return f"langadapt_{kind}_{lang}"


def bpb_task_name(lang: str) -> str:
    return task_name("bpb", lang)


def task_kind(name: str) -> str:
    return name.split("_")[1]


def copy_docs(docs: list[str], n: int, max_chars: int, instruction: str) -> list[dict]:
    texts = passages(docs, max_chars)[:n]
    return [{"prompt": f"{instruction}\n\n{t}", "text": t} for t in texts]


def choice_docs(docs: list[str], n: int, max_chars: int, seed: int = 0) -> list[dict]:
    """Passage openings with four continuations: the true one and three with two neighbouring
    words swapped.

    Each distractor is the true continuation with one pair of adjacent words exchanged (a
    BLiMP-like minimal pair), so only knowing the language's word order tells them apart:
    above chance for a tiny model, still a test of fluency at 8B. (Continuations of other
    passages, the usual distractors, leave every model under ~1B at chance.)"""
    rng = random.Random(seed)
    out = []
    for words in (p.split() for p in passages(docs, 2 * max_chars, min_words=8)):
        if len(out) == n:
            break
        cut = len(words) // 2
        head, tail = words[:cut], words[cut:]
        swaps = [i for i in range(len(tail) - 1) if tail[i] != tail[i + 1]]
        if len(swaps) < 3:
            continue
        choices = []
        for i in sorted(rng.sample(swaps, 3)):
            w = list(tail)
            w[i], w[i + 1] = w[i + 1], w[i]
            choices.append(" " + " ".join(w))
        label = rng.randrange(4)
        choices.insert(label, " " + " ".join(tail))
        if len(set(choices)) < 4:
            continue
        out.append({"context": " ".join(head), "choices": choices, "label": label})
    return out if len(out) >= 4 else []


def lang_docs(docs: list[str], n: int, max_chars: int, lang, others=(), seed: int = 0) -> list[dict]:
    """Templated instructions in `lang` (a code or profile) over its held-out text: is the answer
    in the language asked? Each row names the language's scripts and the `others` of the run
    written in them too (the identifier tells those apart)."""
    if not n:
        return []
    p = profile(lang)
    rivals = [profile(o).code for o in others if shared_scripts(p, profile(o)) and profile(o).code != p.code]
    convs = instruction_conversations(docs, n, seed, max_chars, lang=p)
    return [{"prompt": c[0]["content"], "passage": c[0]["content"].partition("\n\n")[2], "lang": p.code,
             "scripts": list(p.scripts), "rivals": rivals} for c in convs]


def write_tasks(out_dir, heldout: dict[str, str], max_docs: int, template_dir=TEMPLATES, *, mc_docs: int = 100,
                copy_docs_n: int = 32, copy_chars: int = 160, instruction: str | None = None,
                lang_docs_n: int = 0, source_tokenizer=None, seed: int = 0, builtin: list[str] = (),
                num_fewshot: int | None = None, profiles: dict | None = None) -> list[str]:
    """lm-eval task YAMLs (and their JSONL data) for each language's held-out text (`heldout`:
    code -> file; `profiles`: code -> profile, default the built-in ones): bits per byte,
    multiple choice, copy (with `instruction`, default each language's own copy template) and
    response language. The copy task generates up to 1.25× the longest text's length under
    `source_tokenizer` (the least efficient one), or 2 tokens per character. `builtin`: lm-eval's
    own tasks to run beside them (builtin.json), names checked first."""
    profiles = {lang: profile((profiles or {}).get(lang, lang)) for lang in heldout}
    check_builtin(builtin)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / BUILTIN, {"tasks": list(builtin), "num_fewshot": num_fewshot})
    template_dir = Path(template_dir)
    for hook in ("copy_metrics.py", "lang_metrics.py"):
        shutil.copy(template_dir / hook, out_dir / hook)
    names = []
    for lang, path in sorted(heldout.items()):
        all_docs = read_lines(path)
        docs = all_docs[:max_docs]
        if not docs:
            raise LangadaptError(f"evaluate: held-out file {path} is empty")
        data = {
            "bpb": [{"text": d} for d in docs],
            "mc": choice_docs(all_docs, mc_docs, copy_chars, seed),
            "copy": copy_docs(all_docs, copy_docs_n, copy_chars, instruction or profiles[lang].templates["copy"]),
            "lang": lang_docs(all_docs, lang_docs_n, copy_chars, profiles[lang], profiles.values(), seed),
        }
        for kind, rows in data.items():
            if not rows:
                if kind == "bpb" or (kind == "mc" and mc_docs) or (kind == "copy" and copy_docs_n) or (
                        kind == "lang" and lang_docs_n):
                    raise LangadaptError(f"evaluate: held-out file {path} has no documents long enough for "
                                         f"the {kind} task")
                continue
            name = task_name(kind, lang)
            file = (out_dir / f"{name}.jsonl").resolve()
            with open(file, "w", encoding="utf-8") as f:
                for r in rows:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
            text = (template_dir / {"bpb": "bits_per_byte.yaml", "mc": "multiple_choice.yaml",
                                    "copy": "copy.yaml", "lang": "response_language.yaml"}[kind]).read_text()
            # the data file by name: lm-eval runs in this folder (run_lm_eval), so the folder can move
            text = _fill(text, TASK=name, DATA_FILE=json.dumps(file.name))
            if kind in CHAT_KINDS:  # room to copy the passage (or, for lang, to answer about it)
                texts = [r["text"] if kind == "copy" else r["passage"] for r in rows]
                longest = max(len(t) for t in texts)
                if source_tokenizer is not None:
                    longest = max(len(x) for x in source_tokenizer(texts, add_special_tokens=False)["input_ids"])
                    longest = int(1.25 * longest) + 4
                else:
                    longest *= 2
                text = _fill(text, MAX_GEN_TOKENS=str(longest))
            (out_dir / f"{name}.yaml").write_text(text)
            names.append(name)
    return names


def _fill(template: str, **values) -> str:
    """Put values in for the placeholders of a task template, leaving its comments as written."""
    lines = template.splitlines(keepends=True)
    for key, value in values.items():
        lines = [line if line.lstrip().startswith("#") else line.replace(key, value) for line in lines]
    return "".join(lines)


def check_builtin(names) -> None:
    """Every named lm-eval task exists in the installed lm-eval (indexing its tasks takes ~10 s)."""
    if not names:
        return

    known = set(TaskManager().all_tasks)
    missing = [n for n in names if n not in known]
    if missing:
        raise LangadaptError(f"config key 'evaluate.builtin.tasks': '{missing[0]}' is not a task or group of "
                             f"lm-eval {version('lm_eval')}")


@contextlib.contextmanager
def _in_task_folder(tasks_dir: Path):
    """Run lm-eval where the task files name their data, with a datasets cache of this job only:
    nothing lands in ~/.cache, nothing is shared with a concurrent experiment."""
    old_cwd, old_cache = os.getcwd(), datasets.config.HF_DATASETS_CACHE
    with tempfile.TemporaryDirectory(prefix="langadapt-datasets-") as cache:
        datasets.config.HF_DATASETS_CACHE = Path(cache)
        os.chdir(tasks_dir)
        try:
            yield
        finally:
            os.chdir(old_cwd)
            datasets.config.HF_DATASETS_CACHE = old_cache


def _env_info_once() -> None:
    """lm-eval adds torch's environment report to every simple_evaluate result, and that runs
    `pip list` in a subprocess (0.3 s; an instruct model is evaluated by two calls). The report
    is the same for the whole process: computed on the first call, copied on the others."""
    original = getattr(ev, "add_env_info", None)
    if original is None or hasattr(original, "__wrapped__"):
        return
    first: dict = {}

    def add_env_info(storage: dict) -> None:
        if not first:
            original(first)
        storage.update(first)

    add_env_info.__wrapped__ = original
    ev.add_env_info = add_env_info


def run_lm_eval(model_dir, tasks_dir, tasks: list[str], batch_size: int = 8, device: str | None = None,
                limit: int | None = None, trust_remote_code: bool = False, chat_tasks: list[str] = (),
                builtin: list[str] = (), num_fewshot: int | None = None) -> dict:
    """Run lm-eval's HF backend on a local model directory; return {task: {metric: value}}.

    `chat_tasks` run zero-shot through the model's chat template, on the same loaded model;
    `builtin` (lm-eval's own tasks) with `num_fewshot` shots, without it."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _env_info_once()
    model_dir, tasks_dir = Path(model_dir).resolve(), Path(tasks_dir).resolve()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    local = not builtin and {p.stem for p in Path(tasks_dir).glob("*.yaml")}.issuperset([*tasks, *chat_tasks])
    cfg = json.loads(Path(model_dir, "config.json").read_text())
    # several GPUs for one job: the model spread over them (a 70B model in bfloat16 fits no single one)
    spread = device != "cpu" and torch.cuda.device_count() > 1
    lm = HFLM(pretrained=str(model_dir), dtype="float32" if device == "cpu" else "bfloat16", device=device,
              parallelize=spread, trust_remote_code=trust_remote_code, batch_size=batch_size,
              max_length=int(cfg.get("max_position_embeddings", 2048)))
    # indexing lm-eval's thousands of built-in tasks takes ~8 s: only when one is asked for
    manager = TaskManager(include_path=str(tasks_dir), include_defaults=not local)
    results = {}
    for names, chat, shots in ((list(tasks), False, None), (list(chat_tasks), True, None),
                               (list(builtin), False, num_fewshot)):
        if not names:
            continue
        with _in_task_folder(tasks_dir):
            out = simple_evaluate(model=lm, tasks=names, task_manager=manager, limit=limit, log_samples=False,
                                  bootstrap_iters=0, apply_chat_template=chat, num_fewshot=shots)
        for task, metrics in out["results"].items():
            results[task] = {k.split(",")[0]: v for k, v in metrics.items()
                             if isinstance(v, (int, float)) and "stderr" not in k}
    return results


def evaluate_model(model_dir, tasks_dir, tasks: list[str], heldout: dict[str, str], *, batch_size: int,
                   max_docs: int, limit: int | None = None, trust_remote_code: bool = False,
                   chat_tasks: list[str] = (), builtin: list[str] = (), num_fewshot: int | None = None) -> dict:
    """lm-eval scores and tokenization metrics of one model directory."""
    check_model_dir(model_dir, trust_remote_code)
    tok = load_tokenizer(model_dir, trust_remote_code=trust_remote_code)
    if chat_tasks and not tok.chat_template:
        raise LangadaptError(f"evaluate: {model_dir} has no chat template for the instruct-model tasks")
    _check_generation_room(model_dir, tasks_dir, chat_tasks)
    tokenization = {lang: tokenization_metrics(tok, read_lines(p)[:max_docs]) for lang, p in sorted(heldout.items())}
    scores = run_lm_eval(model_dir, tasks_dir, tasks, batch_size=batch_size, limit=limit,
                         trust_remote_code=trust_remote_code, chat_tasks=chat_tasks, builtin=builtin,
                         num_fewshot=num_fewshot)
    return {"vocab_size": len(tok), "lm_eval": scores, "builtin": list(builtin),
            "tokenization": tokenization}


def _check_generation_room(model_dir, tasks_dir, tasks) -> None:
    """The copy prompt and its generation must fit the model's context, or lm-eval fails mid-run."""
    n_pos = json.loads(Path(model_dir, "config.json").read_text()).get("max_position_embeddings")
    for name in tasks:
        m = re.search(r"max_gen_toks: (\d+)", Path(tasks_dir, f"{name}.yaml").read_text())
        if n_pos and m and 2 * int(m.group(1)) >= n_pos:
            raise LangadaptError(f"config key 'evaluate.copy.max_chars': copying takes up to {m.group(1)} new tokens "
                                 f"after a prompt as long, more than {model_dir} holds ({n_pos} positions)")


def write_evaluation(model_dir, tasks_dir, heldout: dict[str, str], out_json, *, batch_size: int, max_docs: int,
                     limit: int | None = None, trust_remote_code: bool = False, instruct: bool = False) -> dict:
    """Every task in `tasks_dir` (copy and response language only for an instruct model, through
    its chat template), and the lm-eval tasks its builtin.json names."""
    names = sorted(p.stem for p in Path(tasks_dir).glob("*.yaml"))
    chat = [n for n in names if task_kind(n) in CHAT_KINDS]
    tasks = [n for n in names if n not in chat]
    spec = json.loads(Path(tasks_dir, BUILTIN).read_text()) if Path(tasks_dir, BUILTIN).exists() else {}
    result = evaluate_model(model_dir, tasks_dir, tasks, heldout, batch_size=batch_size, max_docs=max_docs,
                            limit=limit, trust_remote_code=trust_remote_code, chat_tasks=chat if instruct else [],
                            builtin=spec.get("tasks", []), num_fewshot=spec.get("num_fewshot"))
    write_json(out_json, result)
    return result


def write_evaluations(models, tasks_dir, heldout: dict[str, str], **kw) -> None:
    """write_evaluation for each (model_dir, out_json, instruct) in one process. One job per
    stage (evaluate.one_job_per) pays Python, torch, transformers and lm-eval start-up once
    instead of once per model; each JSON is the one a job of its own writes."""
    models = list(models)
    for model_dir, _, _ in models:  # every model readable before the first evaluation
        check_model_dir(model_dir, kw.get("trust_remote_code", False))
    try:
        for i, (model_dir, out_json, instruct) in enumerate(models):
            t0 = time.perf_counter()
            write_evaluation(model_dir, tasks_dir, heldout, out_json, instruct=instruct, **kw)
            log.info("evaluated %s in %.1f s", model_dir, time.perf_counter() - t0)
            gc.collect()  # the last model's reference cycles go before the next one loads
            if i == 0:  # what the imports left stays: later collections skip it (0.25 s each)
                gc.freeze()
    finally:
        gc.unfreeze()

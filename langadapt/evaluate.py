"""Evaluation: lm-eval on local tasks made from held-out data, plus tokenizer efficiency."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .common import read_lines
from .errors import LangadaptError

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "tasks"


def bpb_task_name(lang: str) -> str:
    return f"langadapt_bpb_{lang}"


def write_tasks(out_dir, heldout: dict[str, str], max_docs: int, template_dir=TEMPLATES) -> list[str]:
    """lm-eval task YAMLs (and their JSONL data) for each language's held-out text."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    template = (Path(template_dir) / "bits_per_byte.yaml").read_text()
    names = []
    for lang, path in sorted(heldout.items()):
        docs = read_lines(path)[:max_docs]
        if not docs:
            raise LangadaptError(f"evaluate: held-out file {path} is empty")
        data = (out_dir / f"{lang}.jsonl").resolve()
        with open(data, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps({"text": d}, ensure_ascii=False) + "\n")
        name = bpb_task_name(lang)
        text = template.replace("TASK", name).replace("DATA_FILE", json.dumps(str(data)))
        (out_dir / f"{name}.yaml").write_text(text)
        names.append(name)
    return names


def run_lm_eval(model_dir, tasks_dir, tasks: list[str], batch_size: int = 8, device: str | None = None,
                limit: int | None = None, trust_remote_code: bool = False) -> dict:
    """Run lm-eval's HF backend on a local model directory; return {task: {metric: value}}."""
    import torch
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    local = {p.stem for p in Path(tasks_dir).glob("*.yaml")}.issuperset(tasks)
    cfg = json.loads(Path(model_dir, "config.json").read_text())
    model_args = {
        "pretrained": str(model_dir),
        "dtype": "float32" if device == "cpu" else "bfloat16",
        "device": device,
        "trust_remote_code": trust_remote_code,
        "max_length": int(cfg.get("max_position_embeddings", 2048)),
    }
    out = simple_evaluate(
        model="hf",
        model_args=model_args,
        tasks=tasks,
        # indexing lm-eval's thousands of built-in tasks takes ~8 s: only when one is asked for
        task_manager=TaskManager(include_path=str(tasks_dir), include_defaults=not local),
        batch_size=batch_size,
        limit=limit,
        log_samples=False,
        bootstrap_iters=0,
    )
    results = {}
    for task, metrics in out["results"].items():
        results[task] = {k.split(",")[0]: v for k, v in metrics.items() if isinstance(v, (int, float)) and "stderr" not in k}
    return results


def evaluate_model(model_dir, tasks_dir, tasks: list[str], heldout: dict[str, str], *, batch_size: int,
                   max_docs: int, limit: int | None = None, trust_remote_code: bool = False) -> dict:
    """lm-eval scores and tokenization metrics of one model directory."""
    from .models import check_model_dir, load_tokenizer
    from .tokenizers import tokenization_metrics

    check_model_dir(model_dir)
    tok = load_tokenizer(model_dir, trust_remote_code=trust_remote_code)
    tokenization = {lang: tokenization_metrics(tok, read_lines(p)[:max_docs]) for lang, p in sorted(heldout.items())}
    scores = run_lm_eval(model_dir, tasks_dir, tasks, batch_size=batch_size, limit=limit,
                         trust_remote_code=trust_remote_code)
    return {"model_dir": str(model_dir), "vocab_size": len(tok), "lm_eval": scores, "tokenization": tokenization}


def write_evaluation(model_dir, tasks_dir, heldout: dict[str, str], out_json, *, batch_size: int, max_docs: int,
                     limit: int | None = None, trust_remote_code: bool = False) -> dict:
    from .common import write_json

    tasks = sorted(p.stem for p in Path(tasks_dir).glob("*.yaml"))
    result = evaluate_model(model_dir, tasks_dir, tasks, heldout, batch_size=batch_size, max_docs=max_docs,
                            limit=limit, trust_remote_code=trust_remote_code)
    write_json(out_json, result)
    return result

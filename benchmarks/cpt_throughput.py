"""CPT training throughput (tokens/s): langadapt's embedding-only CPT against a plain Hugging
Face Trainer loop on the same model and data.

The model is the default experiment's `init/{vocab}/{init}` when it exists, otherwise a
bootstrapped Llama of the default config's size on a byte-level tokenizer; the data are
blocks of the Russian training text. The plain loop is `Trainer` with its defaults
(every parameter trained, its own collator, no packing of ours), the same batch size, block
size and step count; langadapt's is what `continued_pretraining` runs (packed blocks, inner layers frozen).
Each is timed over its training steps only (best of --repeat runs, the first step left out as warm-up).

    .venv/bin/python benchmarks/cpt_throughput.py [--configfile config.yaml] [--steps 60] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class _Clock:
    """Trainer callback: wall time from the end of the first step (warm-up) to the end of training."""

    def __init__(self):
        from transformers import TrainerCallback

        outer = self
        self.t0 = self.t1 = None

        class CB(TrainerCallback):
            def on_step_end(self, args, state, control, **kw):
                if state.global_step == 1:
                    outer.t0 = time.perf_counter()

            def on_train_end(self, args, state, control, **kw):
                outer.t1 = time.perf_counter()

        self.callback = CB()

    @property
    def seconds(self) -> float:
        return self.t1 - self.t0


def model_and_data(cfg: dict, res: Path):
    from langadapt.data.stream import read_sample
    from langadapt.models.io import load_model, load_tokenizer

    train = res / "corpus" / "ru" / "train"

    init = res / "init" / "bpe" / "mean"
    if (init / "config.json").exists():
        make = lambda: load_model(init)  # noqa: E731
        tok = load_tokenizer(init)
        where = str(init)
    else:
        from langadapt.train.bootstrap import tiny_llama, train_byte_bpe

        b = cfg["models"]["bootstrap"]
        docs = read_sample(train)[:20000] if train.exists() \
            else [f"Пример текста номер {i} для оценки скорости обучения." for i in range(20000)]
        tok = train_byte_bpe(docs[:5000], b["vocab_size"])
        make = lambda: tiny_llama(tok, hidden_size=b["hidden_size"], layers=b["layers"], heads=b["heads"],  # noqa: E731
                                  intermediate_size=b["intermediate_size"], max_len=b["max_len"], seed=0)
        where = f"bootstrapped Llama (hidden {b['hidden_size']}, {b['layers']} layers)"
    text = read_sample(train) if train.exists() else docs
    return make, tok, text, where


def ours(make, tok, text, c: dict, steps: int) -> float:
    """What continued_pretraining runs: blocks from memory-mapped token shards, embeddings-only,
    langadapt's train()."""
    from transformers import Trainer

    from langadapt.core.io import write_lines
    from langadapt.train.pretrain import freeze_all_but_embeddings
    from langadapt.train.trainer import TokenBlockDataset, train
    from langadapt.vocab.tokens import TokenShards, tokenize_shard

    clock = _Clock()

    class Timed(Trainer):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.add_callback(clock.callback)

    model = make()
    freeze_all_but_embeddings(model)
    with tempfile.TemporaryDirectory() as d:
        tok.save_pretrained(Path(d) / "tok")
        write_lines(Path(d) / "part-00000.txt", text)
        tokenize_shard(Path(d) / "tok", Path(d) / "part-00000.txt", Path(d) / "tokens")
        blocks = TokenBlockDataset(TokenShards([Path(d) / "tokens"], c["block_size"]))
        train(model, blocks, Path(d) / "run", lr=c["lr"], batch_size=c["batch_size"], max_steps=steps,
              weight_decay=c["weight_decay"], logging_steps=10, trainer_cls=Timed)
    return (steps - 1) * c["batch_size"] * c["block_size"] / clock.seconds


def plain(make, tok, text, c: dict, steps: int) -> float:
    """The Trainer as its documentation sets it up for causal-LM training: tokenized dataset,
    grouped into blocks, DataCollatorForLanguageModeling, every parameter trained."""
    from datasets import Dataset
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    bs = c["block_size"]
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    ds = Dataset.from_dict({"text": text}).map(lambda b: tok(b["text"]), batched=True, remove_columns=["text"])

    def group(batch):
        ids = [t for x in batch["input_ids"] for t in x + [tok.eos_token_id]]
        n = len(ids) // bs * bs
        return {"input_ids": [ids[i:i + bs] for i in range(0, n, bs)]}

    ds = ds.map(group, batched=True, remove_columns=ds.column_names)
    clock = _Clock()
    with tempfile.TemporaryDirectory() as d:
        args = TrainingArguments(output_dir=d, per_device_train_batch_size=c["batch_size"], max_steps=steps,
                                 learning_rate=c["lr"], report_to=[], save_strategy="no", disable_tqdm=True,
                                 logging_steps=10, use_cpu=not torch.cuda.is_available())
        Trainer(model=make(), args=args, train_dataset=ds, callbacks=[clock.callback],
                data_collator=DataCollatorForLanguageModeling(tok, mlm=False)).train()
    return (steps - 1) * c["batch_size"] * bs / clock.seconds


def main() -> None:
    from langadapt.workflow import keep_freed_tensors, validate_config

    if "GLIBC_TUNABLES" not in os.environ:  # measured as the workflow runs its jobs (see the Snakefile)
        keep_freed_tensors()
        os.execv(sys.executable, [sys.executable, *sys.argv])

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", default=str(ROOT / "config.yaml"))
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: config threads.train)")
    args = ap.parse_args()
    cfg = validate_config(yaml.safe_load(Path(args.configfile).read_text()), ROOT / "schemas/config.schema.yaml")
    res = Path(cfg["results_dir"]) / cfg["experiment"]
    res = res if res.is_absolute() else ROOT / res
    torch.set_num_threads(args.threads or cfg["threads"]["train"])
    make, tok, text, where = model_and_data(cfg, res)
    c = cfg["pretrain"]
    print(f"# CPT throughput: {where}; batch {c['batch_size']} x block {c['block_size']}, {args.steps} steps, "
          f"{torch.get_num_threads()} threads, best of {args.repeat}; GLIBC_TUNABLES={os.environ['GLIBC_TUNABLES']}\n")
    rows = {"langadapt CPT (embeddings only)": ours, "plain Trainer loop (all parameters)": plain}
    best = {name: max(fn(make, tok, text, c, args.steps) for _ in range(args.repeat)) for name, fn in rows.items()}
    for name, tps in best.items():
        print(f"{name:40s} {tps:10.0f} tokens/s")
    a, b = best.values()
    print(f"\nratio langadapt / plain: {a / b:.2f}")


if __name__ == "__main__":
    main()

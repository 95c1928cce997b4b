"""GPU-hours of a config's stages on one H100, from model size and token counts.

FLOPs per token follow from the architecture (forward F = 2·(inner parameters + output
embedding) + causal attention 2·layers·ctx·d); each stage multiplies F by what it trains:
full training 3F, embedding-only CPT 2F + the output embedding's weight gradient, LoRA 2F
(+ embeddings when they train), CLO 2F + attention weight gradients on chosen and rejected
replies, evaluation F. Tokens come from the config (CPT: steps × global batch × block;
tuning: examples × max_len, an upper bound since padding is trimmed per batch). Time is
FLOPs / (peak × MFU); greedy generation is memory-bound instead: one read of the weights per
decoding step for a batch.

Memory per GPU of each training stage follows from the same architecture, for the config's
parallel strategy and the other one (resources.gpu_rules: gpu x nodes processes; ddp keeps a
whole model per GPU, fsdp a 1/world share plus the layers being gathered): float32 parameters
(training loads float32), gradients and AdamW's two moments of what trains (CPT: the embeddings;
LoRA: adapters, and the embeddings when they train; CLO/SFT: attention), and activations at the
config's per-GPU batch (about 17 values per token and hidden unit per layer, Korthikanti et al.
2022, with fused attention, in 4 bytes or, with precision bf16, 2; with activation_checkpointing
only each layer's input is kept, plus one layer's while it is recomputed), plus the batch's
float32 logits and their gradient.

With --measured RESULTS (a finished miniature run) the same formulas are applied to the
miniature and divided by its measured job times, so the FLOP rate each stage reaches here
shows how far the model of cost is from the measurement.

    .venv/bin/python benchmarks/gpu_hours.py [--configfile configs/paper-llama3.yaml] [--mfu 0.4]
    .venv/bin/python benchmarks/gpu_hours.py --configfile config.yaml --measured bench-results/default
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

H100 = {"bf16_flops": 989e12, "hbm_bytes_s": 3.35e12}

@dataclass
class Model:
    d: int
    layers: int
    ffn: int
    heads: int
    kv_heads: int
    vocab: int
    head_dim: int
    tied: bool

    @classmethod
    def of(cls, arch: dict) -> Model:
        """From config.json fields (a family's architecture, a rehearsal's or a local model's)."""
        d, heads = arch["hidden_size"], arch["num_attention_heads"]
        return cls(d, arch["num_hidden_layers"], arch["intermediate_size"], heads,
                   arch.get("num_key_value_heads") or heads, arch["vocab_size"], arch.get("head_dim") or d // heads,
                   bool(arch.get("tie_word_embeddings", False)))

    @property
    def attn(self) -> float:  # q, o: d × heads·head_dim; k, v: d × kv_heads·head_dim
        return self.layers * 2 * self.d * self.head_dim * (self.heads + self.kv_heads)

    @property
    def inner(self) -> float:
        return self.attn + self.layers * 3 * self.d * self.ffn

    def params(self, vocab=None) -> float:
        return self.inner + (1 if self.tied else 2) * (vocab or self.vocab) * self.d

    def forward(self, ctx: int, vocab=None) -> float:
        """FLOPs per token of a forward pass (causal attention over ctx: half of QK and AV)."""
        return 2 * (self.inner + (vocab or self.vocab) * self.d) + 2 * self.layers * ctx * self.heads * self.head_dim


def model_of(cfg: dict) -> Model:
    """The config's source model: the bootstrapped Llama, the rehearsed family shrunk as the
    workflow shrinks it, or a hub model whose family is on file (a local directory: its config.json)."""
    from langadapt.vocab.families import FAMILIES, rehearsal_config

    m = cfg["models"]
    if m["kind"] in ("bootstrap", "rehearsal"):
        b = m["bootstrap"]
        arch = {"hidden_size": b["hidden_size"], "num_hidden_layers": b["layers"], "num_attention_heads": b["heads"],
                "intermediate_size": b["intermediate_size"], "vocab_size": b["vocab_size"]}
        if m["kind"] == "rehearsal":
            sizes = {k: b[k] for k in ("hidden_size", "layers", "heads", "intermediate_size", "max_len")}
            arch = rehearsal_config(FAMILIES[m["rehearsal"]["family"]]["architecture"], **sizes)
        return Model.of(arch)
    name = m["hf"]["base"]
    if (Path(name) / "config.json").is_file():
        arch = json.loads((Path(name) / "config.json").read_text())
        return Model.of(arch.get("text_config", arch))
    known = {f["base_model"]: f["architecture"] for f in FAMILIES.values()}
    known |= {hub: f["architecture"] | size for f in FAMILIES.values() for hub, size in f.get("sizes", {}).items()}
    if name not in known:
        sys.exit(f"gpu_hours: no architecture on file for {name} (families: {', '.join(known)}); "
                 "give a local model directory")
    return Model.of(known[name])


def variant_vocab(cfg: dict, v: dict, base_vocab: int) -> int:
    """New vocabulary size of a variant (Extended adds the donor's new tokens; an upper bound)."""
    if v["kind"] in ("bpe", "unigram"):
        return v["size"]
    if v["kind"] == "extended":
        return base_vocab + v["donor_size"]
    return int(base_vocab * v["keep"]) + v["donor_size"]


def stages(cfg: dict) -> list[dict]:
    """(stage, runs, tokens per run, FLOPs per token, kind) rows for a config; the runs per stage
    are the workflow's own plan (langadapt.config)."""
    from langadapt.workflow import lep_plan, transfer_plan

    m = model_of(cfg)
    variants = cfg["tokenizer"]["variants"]
    plan = transfer_plan(cfg)
    pairs = [(v, i) for v, inits in plan.items() for i in inits]
    propagated, tuned = lep_plan(cfg, plan)
    rows = []
    if cfg["models"]["kind"] in ("bootstrap", "rehearsal"):
        b = cfg["models"]["bootstrap"]["base"]
        rows.append(dict(stage="bootstrap_base", runs=1, tokens=b["max_steps"] * b["batch_size"] * b["block_size"],
                         flops=3 * m.forward(b["block_size"])))
    p = cfg["pretrain"]
    world_batch = p["batch_size"] * p.get("grad_accum", 1) * world(cfg)
    for name, init in pairs:
        vocab = variant_vocab(cfg, variants[name], m.vocab)
        f = m.forward(p["block_size"], vocab)
        rows.append(dict(stage=f"pretrain {name}/{init}", runs=1, tokens=p["max_steps"] * world_batch * p["block_size"],
                         flops=2 * f + 2 * vocab * m.d))
    c = cfg["calibrate"]
    if c["enabled"]:
        rows.append(dict(stage="calibration_data (greedy answers)", runs=1, tokens=c["prompts"] * c["max_new_tokens"],
                         flops=m.forward(c["max_len"]), generate=True))
        rows.append(dict(stage="calibrate (LoRA + embeddings)", runs=len(tuned), tokens=c["prompts"] * c["max_len"],
                         flops=2 * m.forward(c["max_len"]) + 2 * m.vocab * m.d))
    t = cfg["instruct_tune"]
    if t["enabled"]:
        ep = t["train"].get("epochs", 1)
        rows.append(dict(stage="instruct_tune (LoRA)", runs=len(tuned), tokens=t["examples"] * t["max_len"] * ep,
                         flops=2 * m.forward(t["max_len"])))
    k = cfg["clo"]
    if k["enabled"]:
        f = m.forward(k["max_len"])
        for n in k["sizes"]:  # 2 preference examples per conversation, chosen + rejected each
            # policy forward + input gradients + attention weight gradients, and the reference forward
            rows.append(dict(stage=f"clo {n}", runs=1, tokens=4 * n * k["max_len"], flops=3 * f + 2 * m.attn))
            rows.append(dict(stage=f"sft {n}", runs=1, tokens=n * k["max_len"], flops=2 * f + 2 * m.attn))
    e = cfg["evaluate"]
    # base + instruct, init + cpt per pair, every propagation, calibrated and tuned models, CLO and SFT
    n_models = 2 + 2 * len(pairs) + len(propagated) + len(tuned) * (c["enabled"] + t["enabled"])
    n_models += 2 * len(k["sizes"]) if k["enabled"] else 0
    ctx = cfg["models"]["bootstrap"]["max_len"] if cfg["models"]["kind"] in ("bootstrap", "rehearsal") else 1024
    # local tasks: bpb over max_docs documents (≤ ctx tokens each) per language; multiple choice 4 options
    ev_tokens = 2 * (e["max_docs"] * ctx + e["mc_docs"] * 4 * 64)
    rows.append(dict(stage="evaluate (local tasks)", runs=n_models, tokens=ev_tokens, flops=m.forward(ctx)))
    return rows


def world(cfg: dict) -> int:
    """Training processes of a job: one per GPU (or the `processes` resource) on each node."""
    r = cfg["resources"]["gpu_rules"]
    return max(r["gpu"], r["processes"]) * r["nodes"]


def hours(row: dict, m: Model, mfu: float, batch: int = 16, recompute: bool = False) -> float:
    if row.get("generate"):  # memory-bound decoding: the weights are read once per step of a batch
        step_s = 2 * m.params() / H100["hbm_bytes_s"]
        return row["runs"] * row["tokens"] / batch * step_s / 3600
    # activation checkpointing runs each training forward twice (evaluation is a forward only)
    flops = row["flops"] + (m.forward(0) if recompute and not row["stage"].startswith("evaluate") else 0)
    return row["runs"] * row["tokens"] * flops / (H100["bf16_flops"] * mfu) / 3600


GB = 1e9
FP32 = 4


def lora_params(m: Model, lora: dict) -> float:
    """Adapter parameters: r x (in + out) per target projection of the layers that get one."""
    shapes = {"q_proj": (m.d, m.heads * m.head_dim), "k_proj": (m.d, m.kv_heads * m.head_dim),
              "v_proj": (m.d, m.kv_heads * m.head_dim), "o_proj": (m.heads * m.head_dim, m.d),
              "gate_proj": (m.d, m.ffn), "up_proj": (m.d, m.ffn), "down_proj": (m.ffn, m.d)}
    layers = m.layers if lora["layers"] == "all" else min(2, m.layers)
    return layers * sum(lora["r"] * sum(shapes[t]) for t in lora["targets"] if t in shapes)


def training_stages(cfg: dict, m: Model) -> list[dict]:
    """Each training stage's largest model (vocabulary rows), what trains, and its per-GPU batch in tokens."""
    variants = cfg["tokenizer"]["variants"]
    vocab = max([variant_vocab(cfg, v, m.vocab) for v in variants.values()] or [m.vocab])
    emb = lambda rows: rows * m.d * (1 if m.tied else 2)  # noqa: E731
    p, c, t, k = cfg["pretrain"], cfg["calibrate"], cfg["instruct_tune"], cfg["clo"]
    rows = [dict(stage="pretrain (embeddings)", vocab=vocab, trains=emb(vocab), tokens=p["batch_size"] * p["block_size"])]
    for name, s in (("calibrate", c), ("instruct_tune", t)):
        if s["enabled"]:
            lora = s["lora"]
            rows.append(dict(stage=f"{name} (LoRA{' + embeddings' if lora['train_embeddings'] else ''})", vocab=vocab,
                             trains=lora_params(m, lora) + (emb(vocab) if lora["train_embeddings"] else 0),
                             tokens=s["train"]["batch_size"] * s["max_len"]))
    if k["enabled"]:  # chosen and rejected replies in one batch; the reference's log-probabilities come first
        rows.append(dict(stage="clo (attention)", vocab=m.vocab, trains=m.attn,
                         tokens=2 * k["train"]["batch_size"] * k["max_len"]))
    return rows


def memory(row: dict, m: Model, strategy: str, w: int, recompute: bool, bf16: bool = False) -> dict:
    """GB per GPU of one training stage under `strategy` over `w` processes (float32 weights;
    `bf16`: bfloat16 compute, so activations and the gathered layers in 2 bytes)."""
    act = 2 if bf16 else FP32
    params = m.params(row["vocab"]) * FP32
    layer = (m.inner / m.layers) * act
    share = 1 / w if strategy == "fsdp" and w > 1 else 1.0
    out = {"params": params * share + (2 * layer if share < 1 else 0),  # + gathered layers (one prefetched)
           "grads": row["trains"] * FP32 * share, "optimizer": 2 * row["trains"] * FP32 * share}
    per_layer = 17 * act * row["tokens"] * m.d
    kept = m.layers * row["tokens"] * m.d * act + per_layer if recompute else m.layers * per_layer
    out["activations"] = kept + 2 * row["tokens"] * row["vocab"] * FP32  # float32 logits and their gradient
    out = {k: v / GB for k, v in out.items()}
    out["total"] = sum(out.values())
    return out


def memory_table(cfg: dict, m: Model, gpu_gb: float = 80) -> None:
    r = cfg["resources"]["gpu_rules"]
    w, recompute, bf16 = world(cfg), bool(r["activation_checkpointing"]), r["precision"] == "bf16"
    print(f"\n# Memory per GPU of each training stage: {w} process(es) on {r['nodes']} node(s), {r['precision']}, "
          f"activation checkpointing {'on' if recompute else 'off'}; the config's strategy first, then the other\n")
    print(f"{'stage':36s} {'parallel':>8s} {'params':>8s} {'grads':>7s} {'optim':>7s} {'activ':>7s} {'total GB':>9s}  fits {gpu_gb:.0f} GB")
    for row in training_stages(cfg, m):
        for strategy in (r["parallel"], "ddp" if r["parallel"] == "fsdp" else "fsdp"):
            g = memory(row, m, strategy, w, recompute, bf16)
            fits = "yes" if g["total"] <= gpu_gb * 0.9 else "NO"  # ~10% for the allocator, buffers, CUDA context
            print(f"{row['stage']:36s} {strategy:>8s} {g['params']:8.1f} {g['grads']:7.1f} {g['optimizer']:7.1f} "
                  f"{g['activations']:7.1f} {g['total']:9.1f}  {fits}")
    print(f"\nThe final model is gathered in float32 on rank 0's CPU: {m.params() * FP32 / GB:.0f} GB of host memory "
          f"(resources.gpu_rules.mem_mb {r['mem_mb']} MB).")


def measured(cfg: dict, res: Path) -> None:
    """The miniature's FLOPs per stage against its measured job times (FLOP rate reached here)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from stages import eval_times, job_times

    jobs = job_times(res)
    per_model = eval_times(res)["seconds"]  # an evaluation job may hold a whole stage
    print(f"\n# The same FLOP model on {res} (measured wall per job)\n")
    print(f"{'stage':40s} {'GFLOP':>10s} {'wall s':>8s} {'GFLOP/s':>8s}")
    for row in stages(cfg):
        key = row["stage"].split(" (")[0]
        rule, _, job = key.partition(" ")
        hit = jobs[(jobs["rule"] == rule) & ((jobs["job"] == job) | (job == ""))]
        if row.get("generate") or hit.empty:
            continue
        gf = row["tokens"] * row["flops"] / 1e9
        wall = per_model.mean() if rule == "evaluate" and len(per_model) else hit["wall_s"].sum() / max(len(hit), 1)
        print(f"{row['stage']:40s} {gf:10.0f} {wall:8.1f} {gf / wall:8.1f}")


def main() -> None:
    from langadapt.workflow import validate_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", default=str(ROOT / "configs" / "paper-llama3.yaml"))
    ap.add_argument("--mfu", type=float, default=0.4, help="model FLOPs utilization of training/eval on the GPU")
    ap.add_argument("--measured", type=Path, help="a finished run of this config (its benchmarks/) to compare with")
    args = ap.parse_args()
    cfg = validate_config(yaml.safe_load(Path(args.configfile).read_text()), ROOT / "schemas/config.schema.yaml")
    m = model_of(cfg)
    print(f"# {Path(args.configfile).name}: {m.params() / 1e9:.2f}B parameters "
          f"({m.inner / 1e9:.2f}B inner, {m.vocab} embedding rows{', tied' if m.tied else ''}); one H100, bf16 at {args.mfu:.0%} MFU\n")
    print(f"{'stage':40s} {'runs':>5s} {'tokens/run':>12s} {'GFLOP/token':>12s} {'GPU-hours':>10s}")
    total = 0.0
    recompute = bool(cfg["resources"]["gpu_rules"]["activation_checkpointing"])
    for row in stages(cfg):
        h = hours(row, m, args.mfu, recompute=recompute)
        total += h
        print(f"{row['stage']:40s} {row['runs']:5d} {row['tokens']:12.3g} {row['flops'] / 1e9:12.2f} {h:10.1f}")
    print(f"{'total':40s} {'':5s} {'':12s} {'':12s} {total:10.1f}")
    memory_table(cfg, m)
    if args.measured:
        measured(cfg, args.measured)


if __name__ == "__main__":
    main()

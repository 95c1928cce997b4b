"""Report: the summary table over every evaluated model, the tokenizer table (LEP Table 2),
the initialization table (LET Figure 1's numbers), markdown, and the figures."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


# what each lm-eval task kind contributes to the summary: (metric in lm-eval, column prefix)
METRICS = {
    "bpb": [("bits_per_byte", "bpb")],
    "mc": [("acc", "mc_acc")],
    "copy": [("exact_match", "copy_em"), ("lcs_ratio", "copy_lcs"), ("length_ratio", "copy_len")],
    "lang": [("in_language", "in_lang")],
}
BUILTIN_METRICS = ("acc", "acc_norm", "exact_match", "f1", "mcc")
STAGES = ("source", "init", "cpt", "lep", "calibrated", "instruct_tuned", "sft", "clo")
# stages whose models keep the source vocabulary (no {vocab} in their key)
SOURCE_VOCAB = ("source", "sft", "clo")


def _pyplot():
    """matplotlib's pyplot on the file-only backend (jobs have no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out_png) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)


def summary_table(evals: dict[str, str]) -> pd.DataFrame:
    """One row per model key (e.g. 'cpt/bpe/mean'): per language bits per byte, multiple-choice
    accuracy, copy scores (instruct models) and characters per token."""
    rows = []
    for key, path in evals.items():
        ev = json.loads(Path(path).read_text())
        parts = key.split("/")
        row = {"model": key, "stage": parts[0], "vocab": "source" if parts[0] in SOURCE_VOCAB else parts[1],
               "vocab_size": ev["vocab_size"]}
        for task, m in ev["lm_eval"].items():
            _, kind, lang = task.split("_", 2) if task.startswith("langadapt_") else ("", "", task)
            for metric, col in METRICS.get(kind, []):
                row[f"{col}_{lang}"] = m.get(metric)
        for task in ev.get("builtin", []):  # lm-eval's own tasks (or groups), as they name their metrics
            for metric in BUILTIN_METRICS:
                if metric in ev["lm_eval"].get(task, {}):
                    row[f"{task}_{metric}"] = ev["lm_eval"][task][metric]
        for lang, m in ev["tokenization"].items():
            row[f"chars_per_token_{lang}"] = m["chars_per_token"]
        rows.append(row)
    order = {s: k for k, s in enumerate(STAGES)}
    df = pd.DataFrame(rows)
    df["_o"] = df["stage"].map(order).fillna(9)
    return df.sort_values(["_o", "model"]).drop(columns="_o").reset_index(drop=True)


def _scores(summary: pd.DataFrame, langs: list[str]) -> list[str]:
    """The score columns of instruct models, target language first."""
    cols = [f"{c}_{lang}" for lang in reversed(langs) for c in ("bpb", "copy_em", "copy_lcs", "mc_acc", "in_lang")]
    return [c for c in cols if c in summary]


def lep_table(summary: pd.DataFrame, langs: list[str]) -> pd.DataFrame:
    """LEP Table 3 in long form: one row per (vocab, init, prop) propagated model, the original
    instruct model first as the baseline."""
    cols = _scores(summary, langs)
    base = summary[summary["model"] == "source/instruct"]
    rows = [{"vocab": "original instruct", "init": "", "prop": "", **base[cols].iloc[0].to_dict()}] if len(base) else []
    for r in summary[summary["stage"] == "lep"].itertuples(index=False):
        _, vocab, init, prop = r.model.split("/")
        rows.append({"vocab": vocab, "init": init, "prop": prop, **{c: getattr(r, c) for c in cols}})
    return pd.DataFrame(rows)


def lep_pivot(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Table 3's shape for one metric: a row per vocabulary (and init), a column per propagation."""
    lep = table[table["prop"] != ""]
    wide = lep.pivot_table(index=["vocab", "init"], columns="prop", values=metric, sort=False)
    order = ["swap", "overlap", "conversion"]  # the paper's column order
    wide = wide[sorted(wide.columns, key=lambda p: order.index(p) if p in order else len(order))].reset_index()
    wide.columns.name = None
    base = table[table["prop"] == ""]
    if len(base):
        wide.insert(2, "original instruct", float(base[metric].iloc[0]))
    return wide


def tune_table(summary: pd.DataFrame, langs: list[str]) -> pd.DataFrame:
    """LEP Table 4: the original instruct model, then per tuned model: propagated, after
    self-calibration, after continued instruction tuning."""
    cols = _scores(summary, langs)
    idx = summary.set_index("model")
    rows = []
    if "source/instruct" in idx.index:
        rows.append({"model": "original instruct", "step": "baseline", **idx.loc["source/instruct", cols].to_dict()})
    tuned = sorted({k.split("/", 1)[1] for k in idx.index if k.split("/")[0] in ("calibrated", "instruct_tuned")})
    for t in tuned:
        for stage, step in (("lep", "LEP"), ("calibrated", "+ calibration"), ("instruct_tuned", "+ instruction tuning")):
            if f"{stage}/{t}" in idx.index:
                rows.append({"model": t, "step": step, **idx.loc[f"{stage}/{t}", cols].to_dict()})
    return pd.DataFrame(rows)


def clo_table(summary: pd.DataFrame, langs: list[str]) -> pd.DataFrame:
    """CLO against SFT on the same translated data, per data size: target-language proficiency and
    source-language retention, the original instruct model as the baseline row."""
    cols = _scores(summary, langs)
    idx = summary.set_index("model")
    rows = []
    if "source/instruct" in idx.index:
        rows.append({"objective": "original instruct", "size": 0, **idx.loc["source/instruct", cols].to_dict()})
    keys = [k for k in idx.index if k.split("/")[0] in ("sft", "clo")]
    for k in sorted(keys, key=lambda k: (int(k.split("/")[1]), k)):
        objective, size = k.split("/")
        rows.append({"objective": objective, "size": int(size), **idx.loc[k, cols].to_dict()})
    return pd.DataFrame(rows)


def translation_table(stats_json) -> pd.DataFrame:
    """How the training data was translated (paths taken), how often each path keeps a reply's
    relation to its passage (copy, first or last word), and how well (chrF/BLEU of both paths
    against the held-out reference, where there is one)."""
    st = json.loads(Path(stats_json).read_text())
    ins = st["instructions"]
    rows = [{"what": "instruction data", "datapoints": ins["datapoints"], "joint": ins["joint"],
             "fallback": ins["fallback"], "per_component": ins["per_component"], "failed": ins["failed"],
             "fallback_rate": ins["fallback_rate"], "reasons": "; ".join(f"{k} {v}" for k, v in ins["reasons"].items())}]
    for name, kept in st.get("relation_kept", {}).items():  # the first data points, translated both ways
        rows.append({"what": f"instruction data, {name.replace('_', '-')}", "datapoints": kept["checked"],
                     "relation_kept": kept["share"]})
    ref = st.get("reference")
    if ref:
        paths = ref["relation_aware_paths"]
        for name in ("relation_aware", "per_component"):
            rows.append({"what": f"held-out parallel, {name.replace('_', '-')}", "datapoints": ref["scored"],
                         "joint": paths["joint"] if name == "relation_aware" else 0,
                         "fallback": paths["fallback"] if name == "relation_aware" else 0,
                         "per_component": 0 if name == "relation_aware" else ref["scored"], "failed": 0,
                         "fallback_rate": paths["fallback_rate"] if name == "relation_aware" else float("nan"),
                         "chrf": ref[name]["chrf"], "bleu": ref[name]["bleu"]})
    df = pd.DataFrame(rows)
    counts = [c for c in ("datapoints", "joint", "fallback", "per_component", "failed") if c in df]
    return df.astype(dict.fromkeys(counts, "Int64"))  # counts stay integers beside empty cells


# how close "keeps" and "within" are at the miniature's noise (64 items, 64 documents)
KEEP_TOLERANCE = 0.05
PROPAGATIONS_WITHIN = 0.05  # bits per byte; the LEP paper's three are within about 0.01
KEEP_BPB = 0.05  # bits per byte a propagated model may read worse than the original and still "keep" it


def claims(lep: pd.DataFrame, tune: pd.DataFrame, transfer: pd.DataFrame, langs: list[str],
           clo: pd.DataFrame | None = None, trans: pd.DataFrame | None = None,
           tok: pd.DataFrame | None = None) -> pd.DataFrame:
    """The papers' claims checked on this run's tables: one row each, `holds` True/False, or
    None where the run has not the models to tell, and the numbers that decide it."""
    source, target = langs[0], langs[-1]
    rows = []

    def add(claim, holds, evidence):
        rows.append({"claim": claim, "holds": None if holds is None else bool(holds), "evidence": evidence})

    orig = lep[lep["prop"] == ""]
    props = lep[lep["prop"] != ""]
    have = len(orig) and len(props)
    o = orig.iloc[0] if len(orig) else None
    bpb = f"bpb_{target}"
    # the paper's efficiency: fewer tokens for the same text, at the original's quality (bits per byte
    # do not depend on the tokenizer, so they say whether the quality is kept, not whether it is cheaper)
    cpt = f"chars_per_token_{target}"
    fewer = tok is not None and cpt in tok and (tok["kind"] == "source").any() and (tok["kind"] != "source").any()
    if fewer:
        src_cpt = tok.loc[tok["kind"] == "source", cpt].iloc[0]
        var_cpt = tok.loc[(tok["kind"] != "source") & tok["tokenizer"].isin(set(props["vocab"])), cpt]
        fewer = len(var_cpt) > 0
    add(f"LEP: every propagated model reads {target} more efficiently than the original instruct model: fewer "
        f"tokens per text at its quality ({bpb} at most {KEEP_BPB} above it; Table 3)",
        (props[bpb] <= o[bpb] + KEEP_BPB).all() and (var_cpt > src_cpt).all() if have and fewer else None,
        (f"{cpt} {var_cpt.min():.2f}-{var_cpt.max():.2f} vs {src_cpt:.2f}; " if fewer else "")
        + f"{bpb} {props[bpb].min():.3f}-{props[bpb].max():.3f} vs {o[bpb]:.3f}" if have else "")
    mean_init = props[props["init"] == "mean"]
    for metric, what in ((f"mc_acc_{target}", f"{target} word order"), (f"copy_lcs_{target}", f"{target} copy"),
                         (f"mc_acc_{source}", f"{source} word order")):
        ok = have and metric in lep and len(mean_init) and pd.notna(o[metric])
        got = mean_init.groupby("prop")[metric].mean() if ok else None
        add(f"LEP keeps the original instruct model's {what} (within {KEEP_TOLERANCE}; Table 3: 0.57-0.60 vs 0.61)",
            (got >= o[metric] - KEEP_TOLERANCE).all() if ok else None,
            ", ".join(f"{k} {v:.3f}" for k, v in got.items()) + f" vs {o[metric]:.3f}" if ok else "")
    three = mean_init.pivot_table(index="vocab", columns="prop", values=bpb) if len(mean_init) else None
    ok = three is not None and three.shape[1] == 3
    spread = (three.max(axis=1) - three.min(axis=1)) if ok else None
    add(f"Swap, overlap and conversion within {PROPAGATIONS_WITHIN} {bpb} of each other on every vocabulary "
        "(Table 3: about 0.01)", (spread <= PROPAGATIONS_WITHIN).all() if ok else None,
        ", ".join(f"{v} {x:.3f}" for v, x in spread.items()) if ok else "")
    tuned = tune[tune["step"] != "baseline"] if len(tune) else tune
    steps = tuned.pivot_table(index="model", columns="step", values=bpb) if len(tuned) else None
    ok = steps is not None and {"LEP", "+ instruction tuning"} <= set(steps.columns)
    add(f"Calibration and instruction tuning improve on LEP ({bpb}, Table 4)",
        (steps["+ instruction tuning"] < steps["LEP"]).all() if ok else None,
        ", ".join(f"{m.split('/')[0]} {a:.3f} -> {b:.3f}" for m, a, b in
                  zip(steps.index, steps["LEP"], steps["+ instruction tuning"])) if ok else "")
    start = transfer.set_index("init")[f"init_{bpb}"] if len(transfer) else pd.Series(dtype=float)
    ok = {"let", "focus"} <= set(start.index)
    add("LET starts below FOCUS (LET paper, Figure 1)", start["let"] < start["focus"] if ok else None,
        f"init {bpb}: let {start['let']:.3f}, focus {start['focus']:.3f}" if ok else "")
    if clo is not None and len(clo):
        t, s_ = f"in_lang_{target}", f"in_lang_{source}"
        got = {(r["objective"], r["size"]): r for r in clo.to_dict("records")}
        sizes = sorted(n for o, n in got if o == "clo" and ("sft", n) in got)
        ok = bool(sizes) and t in clo
        keep = lambda n: s_ not in clo or got[("clo", n)][s_] >= got[("sft", n)][s_] - KEEP_TOLERANCE  # noqa: E731
        add(f"CLO answers {target} prompts in {target} at least as often as SFT, {source} kept (CLO paper)",
            all(got[("clo", n)][t] >= got[("sft", n)][t] and keep(n) for n in sizes) if ok else None,
            "; ".join(f"{n}: {target} {got[('clo', n)][t]:.2f} vs {got[('sft', n)][t]:.2f}"
                      + (f", {source} {got[('clo', n)][s_]:.2f} vs {got[('sft', n)][s_]:.2f}" if s_ in clo else "")
                      for n in sizes) if ok else "")
    if trans is not None and "chrf" in trans:
        by = trans.set_index("what")
        chrf = by["chrf"].dropna()
        ra, pc = "held-out parallel, relation-aware", "held-out parallel, per-component"
        ok = {ra, pc} <= set(chrf.index)
        kept = by["relation_kept"].dropna() if "relation_kept" in by else pd.Series(dtype=float)
        kra, kpc = "instruction data, relation-aware", "instruction data, per-component"
        both = ok and {kra, kpc} <= set(kept.index)
        scores = [(chrf[ra], chrf[pc])] + ([(kept[kra], kept[kpc])] if both else []) if ok else []
        add("Relation-aware translation beats per-component translation (chrF, relation kept; arXiv:2404.16257)",
            all(a >= b for a, b in scores) and any(a > b for a, b in scores) if ok else None,
            (f"chrF {chrf[ra]:.2f} vs {chrf[pc]:.2f}" + (f"; reply's relation to the passage kept {kept[kra]:.2f} vs "
                                                         f"{kept[kpc]:.2f}" if both else "")) if ok else "")
    return pd.DataFrame(rows)


def claims_markdown(table: pd.DataFrame) -> str:
    mark = {True: "yes", False: "**no**", None: "not run"}
    lines = ["## The papers' claims on this run", "", "| claim | holds | evidence |", "|---|---|---|"]
    lines += [f"| {r.claim} | {mark[r.holds]} | {r.evidence} |" for r in table.itertuples(index=False)]
    if (table["holds"] == False).any():  # noqa: E712 (None is not False)
        lines += ["", "A claim that does not hold here is discussed, with what was measured about why, in "
                  "docs/results.md; `make reproduce` runs the larger miniature built to show them."]
    return "\n".join(lines) + "\n\n"


def plot_clo(table: pd.DataFrame, langs: list[str], out_png) -> None:
    """Share of responses in the language asked, target and source language, CLO vs SFT per
    data size, the original instruct model dashed."""
    plt = _pyplot()

    metrics = [m for m in (f"in_lang_{langs[-1]}", f"in_lang_{langs[0]}", f"copy_lcs_{langs[-1]}") if m in table]
    runs = table[table["size"] > 0]
    sizes = sorted(runs["size"].unique())
    fig, axes = plt.subplots(1, max(len(metrics), 1), figsize=(4.5 * max(len(metrics), 1), 4), dpi=120, squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        x = np.arange(len(sizes))
        for k, obj in enumerate(("sft", "clo")):
            vals = [runs[(runs["objective"] == obj) & (runs["size"] == n)][metric].mean() for n in sizes]
            bars = ax.bar(x + (k - 0.5) * 0.4, vals, 0.4, label=obj.upper())
            ax.bar_label(bars, fmt="%.2f", fontsize=7)
        base = table[table["size"] == 0]
        if len(base):
            ax.axhline(float(base[metric].iloc[0]), color="k", ls="--", lw=1, label="original instruct")
        ax.set_xticks(x, [f"{n} examples" for n in sizes], fontsize=8)
        ax.set_title(metric.replace("in_lang", "answers in the language asked,").replace("copy_lcs", "copy LCS,"),
                     fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    _save(fig, out_png)


def plot_lep(lep: pd.DataFrame, tune: pd.DataFrame, lang: str, out_png) -> None:
    """Target-language copy (LCS ratio) and bits per byte: every propagation and tuning step per
    vocabulary, against the original instruct model (dashed)."""
    plt = _pyplot()

    base = lep[lep["prop"] == ""]
    main = lep[lep["prop"] != ""]
    groups = main.groupby(["vocab", "init"], sort=False)
    labels = [f"{v}/{i}" for v, i in groups.groups]
    steps = list(dict.fromkeys(main["prop"])) + ["+ calibration", "+ instruction tuning"]
    metrics = [m for m in (f"copy_lcs_{lang}", f"bpb_{lang}") if m in lep]
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4.2), dpi=120, squeeze=False)
    width = 0.8 / len(steps)
    for ax, metric in zip(axes[0], metrics):
        x = np.arange(len(labels))
        for k, step in enumerate(steps):
            vals = []
            for (v, i), g in groups:
                if step.startswith("+"):
                    t = tune[(tune["model"].str.startswith(f"{v}/{i}/")) & (tune["step"] == step)]
                    vals.append(float(t[metric].iloc[0]) if len(t) else np.nan)
                else:
                    r = g[g["prop"] == step]
                    vals.append(float(r[metric].iloc[0]) if len(r) else np.nan)
            ax.bar(x + (k - (len(steps) - 1) / 2) * width, vals, width, label=step)
        if len(base):
            ax.axhline(float(base[metric].iloc[0]), color="k", ls="--", lw=1, label="original instruct")
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_title({"copy": f"copy task, LCS ratio ({lang}, higher is better)",
                      "bpb": f"bits per byte ({lang}, lower is better)"}[metric.split("_")[0]])
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    _save(fig, out_png)


def to_markdown(df: pd.DataFrame, title: str) -> str:
    cols = list(df.columns)
    fmt = lambda v: "" if pd.isna(v) else f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = [f"# {title}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def plot_losses(curves: dict[str, str], out_png, title: str = "Continued pretraining (embeddings only)") -> None:
    """CPT training loss against step, one line per run."""
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for label, path in sorted(curves.items()):
        df = pd.read_csv(path)
        if len(df):
            ax.plot(df["step"], df["loss"], label=label, lw=1.6)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (nats/token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, out_png)


# LEP Table 2 (arXiv:2412.21140): symbols per token on Russian text, and the vocabulary sizes
PAPER_CHARS_PER_TOKEN_RU = {
    "llama3": {"source": 2.89, "bpe": 4.40, "unigram": 4.35, "extended": 3.78, "optimized": 3.40},
    "mistral": {"source": 2.44, "bpe": 3.76, "unigram": 3.78, "extended": 3.77},
}
PAPER_VOCAB_SIZE = {
    "llama3": {"source": 128256, "bpe": 128000, "unigram": 128000, "extended": 174816, "optimized": 114504},
    "mistral": {"source": 32000, "bpe": 32000, "unigram": 32000, "extended": 55328},
}


def tokenizer_table(stats: dict[str, str], family: str | None = None) -> pd.DataFrame:
    """One row for the source tokenizer and one per variant (stats.json of each tokenizer dir):
    characters per token and fertility on held-out text per language, vocabulary make-up, and
    LEP Table 2 beside them: the rehearsed family's column where the paper has one, else both."""
    rows = []
    for name, path in stats.items():
        st = json.loads(Path(path).read_text())
        voc = st["vocabulary"]
        if not rows:
            src = {"tokenizer": "source", "kind": "source", "vocab_size": voc["source_size"], "share_new": 0.0,
                   "shared_with_source": voc["source_size"]}
            for lang, m in st["source_heldout"].items():
                src |= {f"chars_per_token_{lang}": m["chars_per_token"], f"tokens_per_word_{lang}": m["tokens_per_word"],
                        f"roundtrip_{lang}": m["roundtrip"]}
            rows.append(src)
        row = {"tokenizer": name, "kind": st["kind"], "vocab_size": voc["size"], "share_new": voc["share_new"],
               "shared_with_source": voc["shared_with_source"]}
        for lang, m in st["heldout"].items():
            row |= {f"chars_per_token_{lang}": m["chars_per_token"], f"tokens_per_word_{lang}": m["tokens_per_word"],
                    f"roundtrip_{lang}": m["roundtrip"]}
        rows.append(row)
    df = pd.DataFrame(rows)
    if family in PAPER_CHARS_PER_TOKEN_RU:
        df["paper_vocab_size"] = df["kind"].map(PAPER_VOCAB_SIZE[family])
        df["paper_chars_per_token_ru"] = df["kind"].map(PAPER_CHARS_PER_TOKEN_RU[family])
    else:
        for model, ref in PAPER_CHARS_PER_TOKEN_RU.items():
            df[f"paper_{model}_ru"] = df["kind"].map(ref)
    return df


def plot_tokenizers(df: pd.DataFrame, out_png, langs: list[str]) -> None:
    """Characters per token on held-out text: source vs each variant, one bar per language."""
    plt = _pyplot()

    x = np.arange(len(df))
    width = 0.8 / max(len(langs), 1)
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(df) + 2), 4), dpi=120)
    for k, lang in enumerate(langs):
        vals = df[f"chars_per_token_{lang}"].to_numpy()
        bars = ax.bar(x + (k - (len(langs) - 1) / 2) * width, vals, width, label=lang)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(x, [f"{t}\n({n})" for t, n in zip(df["tokenizer"], df["vocab_size"])], fontsize=8)
    ax.set_ylabel("characters per token (held-out)")
    ax.set_title("Tokenization efficiency (LEP Table 2, symbols per token)")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    _save(fig, out_png)


def transfer_table(summary: pd.DataFrame, cpt_dirs: dict[str, str], lang: str) -> pd.DataFrame:
    """One row per 'vocab/init': target-language bits per byte of the initialized model before any
    training, after CPT and after LEP; CPT held-out loss before/after; mean training loss over the
    run (lower = converged sooner)."""
    bpb = summary.set_index("model")[f"bpb_{lang}"] if f"bpb_{lang}" in summary else pd.Series(dtype=float)
    rows = []
    for pair, d in cpt_dirs.items():
        vocab, init = pair.split("/")
        m = json.loads((Path(d) / "cpt_metrics.json").read_text())
        loss = pd.read_csv(Path(d) / "loss.csv")
        lep = [k for k in bpb.index if k.startswith(f"lep/{pair}/")]
        rows.append({"vocab": vocab, "init": init, f"init_bpb_{lang}": bpb.get(f"init/{pair}"),
                     f"cpt_bpb_{lang}": bpb.get(f"cpt/{pair}"),
                     **{f"{k.split('/')[-1]}_bpb_{lang}": bpb[k] for k in sorted(lep)},
                     "heldout_loss_before": m["heldout_loss_before"], "heldout_loss_after": m["heldout_loss_after"],
                     "mean_train_loss": float(loss["loss"].mean()) if len(loss) else float("nan")})
    return pd.DataFrame(rows)


def plot_init_comparison(table: pd.DataFrame, cpt_dirs: dict[str, str], vocab: str, lang: str, out_png) -> None:
    """The LET paper's Figure 1 for one vocabulary: every initialization's CPT loss curve on one
    plot, beside its held-out loss before and after training."""
    plt = _pyplot()

    sub = table[table["vocab"] == vocab].reset_index(drop=True)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120, gridspec_kw={"width_ratios": [3, 2]})
    for init in sub["init"]:
        df = pd.read_csv(Path(cpt_dirs[f"{vocab}/{init}"]) / "loss.csv")
        if len(df):
            ax.plot(df["step"], df["loss"], label=init, lw=1.6)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (nats/token)")
    ax.set_title(f"CPT of the embeddings, vocabulary '{vocab}'")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    x = np.arange(len(sub))
    for k, (col, label) in enumerate(((f"init_bpb_{lang}", "initialized"), (f"cpt_bpb_{lang}", "after CPT"))):
        bars = bx.bar(x + (k - 0.5) * 0.4, sub[col].astype(float), 0.4, label=label)
        bx.bar_label(bars, fmt="%.2f", fontsize=7)
    bx.set_xticks(x, sub["init"], fontsize=8)
    bx.set_ylabel(f"bits per byte, held-out {lang}")
    bx.set_title("Before and after training")
    bx.legend(fontsize=8)
    bx.grid(axis="y", alpha=0.3)
    _save(fig, out_png)


def write_report(evals: dict[str, str], cpt_dirs: dict[str, str], tokenizer_stats: dict[str, str], out: dict,
                 title: str, langs: list[str], compare_vocab: str, translation_stats=None,
                 family: str | None = None) -> pd.DataFrame:
    """`out` names the files: csv, md, loss (png), tokenizers_csv, tokenizers_png, transfer_csv, transfer_png,
    lep_csv, tune_csv, lep_png, claims_csv, and with `translation_stats` (translate/stats.json) also clo_csv,
    translation_csv, clo_png. `cpt_dirs` maps 'vocab/init' to its cpt directory (loss.csv, cpt_metrics.json)."""
    target = langs[-1]
    df = summary_table(evals)
    tok = tokenizer_table(tokenizer_stats, family)
    tr = transfer_table(df, cpt_dirs, target)
    lep = lep_table(df, langs)
    tune = tune_table(df, langs)
    Path(out["csv"]).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out["csv"], index=False)
    tok.to_csv(out["tokenizers_csv"], index=False)
    tr.to_csv(out["transfer_csv"], index=False)
    lep.to_csv(out["lep_csv"], index=False)
    tune.to_csv(out["tune_csv"], index=False)
    plot_losses({k: f"{d}/loss.csv" for k, d in cpt_dirs.items()}, out["loss"])
    plot_tokenizers(tok, out["tokenizers_png"], langs)
    plot_init_comparison(tr, cpt_dirs, compare_vocab, target, out["transfer_png"])
    plot_lep(lep, tune, target, out["lep_png"])
    rel = lambda p: Path(p).relative_to(Path(out["md"]).parent).as_posix()  # noqa: E731
    clo_md = ""
    clo = trans = None
    if translation_stats:
        clo = clo_table(df, langs)
        trans = translation_table(translation_stats)
        clo.to_csv(out["clo_csv"], index=False)
        trans.to_csv(out["translation_csv"], index=False)
        plot_clo(clo, langs, out["clo_png"])
        clo_md = (to_markdown(trans, "Translated training data: paths taken, and quality against held-out references")
                  .replace("# ", "## ", 1) + "\n"
                  + to_markdown(clo, f"CLO vs SFT: {target} proficiency and {langs[0]} retention").replace("# ", "## ", 1)
                  + f"\n![CLO vs SFT]({rel(out['clo_png'])})\n")
    h2 = lambda d, t: to_markdown(d, t).replace("# ", "## ", 1)  # noqa: E731
    names = {"bpb": "bits per byte", "copy_lcs": "copy LCS ratio", "copy_em": "copy exact match",
             "mc_acc": "multiple-choice accuracy"}
    table3 = "".join(h2(lep_pivot(lep, f"{m}_{target}"), f"LEP Table 3: {names[m]}, {target}") + "\n"
                     for m in names if f"{m}_{target}" in lep)
    checked = claims(lep, tune, tr, langs, clo, trans, tok)
    checked.to_csv(out["claims_csv"], index=False)
    Path(out["md"]).write_text(
        f"# {title}\n\n"
        + claims_markdown(checked)
        + to_markdown(df, "Every evaluated model").replace("# ", "## ", 1)
        + f"\n![CPT loss]({rel(out['loss'])})\n\n"
        + h2(tok, "Tokenizers: held-out characters per token, fertility, vocabulary")
        + f"\n![Tokenizer efficiency]({rel(out['tokenizers_png'])})\n\n"
        + h2(tr, f"Initializations: held-out {target} loss before and after training")
        + f"\n![Initializations]({rel(out['transfer_png'])})\n\n"
        + table3
        + (h2(tune, "LEP Table 4: self-calibration and continued instruction tuning") + "\n" if len(tune) else "")
        + f"![Propagation and tuning]({rel(out['lep_png'])})\n\n"
        + clo_md
    )
    return df

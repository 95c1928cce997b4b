"""Report: one summary table over every evaluated model, markdown, and the CPT loss plot."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)


def summary_table(evals: dict[str, str]) -> pd.DataFrame:
    """One row per model key (e.g. 'cpt/bpe/mean'): bits per byte and chars/token per language."""
    rows = []
    for key, path in evals.items():
        ev = json.loads(Path(path).read_text())
        parts = key.split("/")
        row = {"model": key, "stage": parts[0], "vocab": parts[1] if parts[0] != "source" else "source",
               "vocab_size": ev["vocab_size"]}
        for task, m in ev["lm_eval"].items():
            lang = task.rsplit("_", 1)[-1]
            row[f"bpb_{lang}"] = m.get("bits_per_byte")
        for lang, m in ev["tokenization"].items():
            row[f"chars_per_token_{lang}"] = m["chars_per_token"]
        rows.append(row)
    order = {"source": 0, "init": 1, "cpt": 2, "lep": 3}
    df = pd.DataFrame(rows)
    df["_o"] = df["stage"].map(order).fillna(9)
    return df.sort_values(["_o", "model"]).drop(columns="_o").reset_index(drop=True)


def to_markdown(df: pd.DataFrame, title: str) -> str:
    cols = list(df.columns)
    fmt = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = [f"# {title}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def plot_losses(curves: dict[str, str], out_png, title: str = "Continued pretraining (embeddings only)") -> None:
    """CPT training loss against step, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    fig.tight_layout()
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)


def write_report(evals: dict[str, str], curves: dict[str, str], out_csv, out_md, out_png, title: str) -> pd.DataFrame:
    df = summary_table(evals)
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_csv, index=False)
    Path(out_md).write_text(to_markdown(df, title) + "\n![CPT loss](figures/cpt_loss.png)\n")
    plot_losses(curves, out_png)
    return df

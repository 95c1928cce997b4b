import json

import pandas as pd

from langadapt.report import write_report


def _eval(path, bpb_ru, cpt_ru):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"vocab_size": 10, "lm_eval": {"langadapt_bpb_ru": {"bits_per_byte": bpb_ru}},
                                "tokenization": {"ru": {"chars_per_token": cpt_ru}}}))
    return str(path)


def _tok_stats(path, kind, cpt_ru):
    m = lambda c: {"chars_per_token": c, "tokens_per_word": 1.5, "roundtrip": 1.0}  # noqa: E731
    path.write_text(json.dumps({"kind": kind, "vocabulary": {"size": 120, "source_size": 100, "share_new": 0.5,
                                                             "shared_with_source": 60},
                                "heldout": {"en": m(4.0), "ru": m(cpt_ru)}, "source_heldout": {"en": m(4.2), "ru": m(2.0)},
                                "training": {"mb_per_s": 1.0}}))
    return str(path)


def _cpt(d, before, after, losses):
    d.mkdir(parents=True)
    pd.DataFrame({"step": range(1, len(losses) + 1), "loss": losses}).to_csv(d / "loss.csv", index=False)
    (d / "cpt_metrics.json").write_text(json.dumps({"heldout_loss_before": before, "heldout_loss_after": after}))
    return str(d)


def test_report_tables_and_plots(tmp_path):
    evals = {
        "lep/bpe/mean/swap": _eval(tmp_path / "c.json", 1.5, 3.0),
        "source/base": _eval(tmp_path / "a.json", 2.0, 1.5),
        "cpt/bpe/mean": _eval(tmp_path / "b.json", 1.4, 3.0),
        "init/bpe/mean": _eval(tmp_path / "d.json", 3.3, 3.0),
        "init/bpe/let": _eval(tmp_path / "e.json", 2.9, 3.0),
        "cpt/bpe/let": _eval(tmp_path / "f.json", 1.3, 3.0),
    }
    cpt = {"bpe/mean": _cpt(tmp_path / "cm", 6.0, 4.0, [5.0, 4.0, 3.5]),
           "bpe/let": _cpt(tmp_path / "cl", 5.0, 3.9, [4.0, 3.6, 3.4])}
    toks = {"bpe": _tok_stats(tmp_path / "t1.json", "bpe", 3.1), "extended": _tok_stats(tmp_path / "t2.json", "extended", 2.6)}
    out = {k: tmp_path / "r" / v for k, v in {"csv": "summary.csv", "md": "summary.md", "loss": "figures/loss.png",
                                              "tokenizers_csv": "tokenizers.csv", "tokenizers_png": "figures/tok.png",
                                              "transfer_csv": "transfer.csv",
                                              "transfer_png": "figures/init.png"}.items()}
    df = write_report(evals, cpt, toks, out, "t", ["en", "ru"], "bpe")
    assert list(df["model"]) == ["source/base", "init/bpe/let", "init/bpe/mean", "cpt/bpe/let", "cpt/bpe/mean",
                                 "lep/bpe/mean/swap"]
    assert list(df["bpb_ru"]) == [2.0, 2.9, 3.3, 1.3, 1.4, 1.5]
    for png in ("loss", "tok", "init"):
        assert (tmp_path / f"r/figures/{png}.png").read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "r/summary.md").read_text()
    assert "| source/base | source |" in md and "![Tokenizer efficiency](figures/tok.png)" in md
    assert "![Initializations](figures/init.png)" in md
    tok = pd.read_csv(tmp_path / "r/tokenizers.csv")
    assert list(tok["tokenizer"]) == ["source", "bpe", "extended"]
    assert list(tok["chars_per_token_ru"]) == [2.0, 3.1, 2.6]
    assert list(tok["paper_llama3_ru"]) == [2.89, 4.40, 3.78]
    assert list(tok["vocab_size"]) == [100, 120, 120]
    tr = pd.read_csv(tmp_path / "r/transfer.csv").set_index("init")
    assert tr.loc["mean", "init_bpb_ru"] == 3.3 and tr.loc["let", "init_bpb_ru"] == 2.9
    assert tr.loc["let", "cpt_bpb_ru"] == 1.3 and tr.loc["mean", "swap_bpb_ru"] == 1.5
    assert tr.loc["let", "heldout_loss_before"] == 5.0
    assert abs(tr.loc["mean", "mean_train_loss"] - 12.5 / 3) < 1e-12

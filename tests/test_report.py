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


def test_report_table_order_and_plot(tmp_path):
    evals = {
        "lep/bpe/mean/swap": _eval(tmp_path / "c.json", 1.5, 3.0),
        "source/base": _eval(tmp_path / "a.json", 2.0, 1.5),
        "cpt/bpe/mean": _eval(tmp_path / "b.json", 1.4, 3.0),
    }
    pd.DataFrame({"step": [1, 2, 3], "loss": [5.0, 4.0, 3.5]}).to_csv(tmp_path / "loss.csv", index=False)
    toks = {"bpe": _tok_stats(tmp_path / "t1.json", "bpe", 3.1), "extended": _tok_stats(tmp_path / "t2.json", "extended", 2.6)}
    out = {k: tmp_path / "r" / v for k, v in {"csv": "summary.csv", "md": "summary.md", "loss": "figures/loss.png",
                                              "tokenizers_csv": "tokenizers.csv",
                                              "tokenizers_png": "figures/tok.png"}.items()}
    df = write_report(evals, {"bpe/mean": str(tmp_path / "loss.csv")}, toks, out, "t", ["en", "ru"])
    assert list(df["model"]) == ["source/base", "cpt/bpe/mean", "lep/bpe/mean/swap"]
    assert list(df["bpb_ru"]) == [2.0, 1.4, 1.5]
    assert (tmp_path / "r/figures/loss.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "r/figures/tok.png").read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "r/summary.md").read_text()
    assert "| source/base | source |" in md and "![Tokenizer efficiency](figures/tok.png)" in md
    tok = pd.read_csv(tmp_path / "r/tokenizers.csv")
    assert list(tok["tokenizer"]) == ["source", "bpe", "extended"]
    assert list(tok["chars_per_token_ru"]) == [2.0, 3.1, 2.6]
    assert list(tok["paper_llama3_ru"]) == [2.89, 4.40, 3.78]
    assert list(tok["vocab_size"]) == [100, 120, 120]

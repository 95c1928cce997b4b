import json

import pandas as pd

from langadapt.report import write_report


def _eval(path, bpb_ru, cpt_ru):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"vocab_size": 10, "lm_eval": {"langadapt_bpb_ru": {"bits_per_byte": bpb_ru}},
                                "tokenization": {"ru": {"chars_per_token": cpt_ru}}}))
    return str(path)


def test_report_table_order_and_plot(tmp_path):
    evals = {
        "lep/bpe/mean/swap": _eval(tmp_path / "c.json", 1.5, 3.0),
        "source/base": _eval(tmp_path / "a.json", 2.0, 1.5),
        "cpt/bpe/mean": _eval(tmp_path / "b.json", 1.4, 3.0),
    }
    pd.DataFrame({"step": [1, 2, 3], "loss": [5.0, 4.0, 3.5]}).to_csv(tmp_path / "loss.csv", index=False)
    df = write_report(evals, {"bpe/mean": str(tmp_path / "loss.csv")}, tmp_path / "r/summary.csv",
                      tmp_path / "r/summary.md", tmp_path / "r/figures/loss.png", "t")
    assert list(df["model"]) == ["source/base", "cpt/bpe/mean", "lep/bpe/mean/swap"]
    assert list(df["bpb_ru"]) == [2.0, 1.4, 1.5]
    assert (tmp_path / "r/figures/loss.png").read_bytes()[:4] == b"\x89PNG"
    assert "| source/base | source |" in (tmp_path / "r/summary.md").read_text()

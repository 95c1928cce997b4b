import json
import math

from langadapt.common import write_lines
from langadapt.evaluate import bpb_task_name, write_evaluation, write_tasks
from langadapt.models import save_model


def test_lm_eval_bits_per_byte_on_local_tasks(tmp_path, tiny_model, byte_level_tok, ru_docs, en_docs):
    write_lines(tmp_path / "ru.txt", ru_docs[:10])
    write_lines(tmp_path / "en.txt", en_docs[:10])
    heldout = {"ru": str(tmp_path / "ru.txt"), "en": str(tmp_path / "en.txt")}
    names = write_tasks(tmp_path / "tasks", heldout, max_docs=8)
    assert names == [bpb_task_name("en"), bpb_task_name("ru")]
    save_model(tiny_model, byte_level_tok, tmp_path / "model")
    res = write_evaluation(tmp_path / "model", tmp_path / "tasks", heldout, tmp_path / "eval.json", batch_size=4,
                           max_docs=8)
    assert json.loads((tmp_path / "eval.json").read_text()) == res
    for name in names:
        bpb = res["lm_eval"][name]["bits_per_byte"]
        # an untrained model predicts about uniformly over the vocabulary: log2|V| bits per token
        per_token = math.log2(len(byte_level_tok))
        lang = name.rsplit("_", 1)[1]
        cpt = res["tokenization"][lang]["chars_per_token"]
        assert 0.3 * per_token / cpt / 2 < bpb < 3 * per_token / cpt
    assert res["tokenization"]["en"]["chars_per_token"] > res["tokenization"]["ru"]["chars_per_token"]

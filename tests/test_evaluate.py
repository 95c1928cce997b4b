"""Evaluation: the bit-parallel LCS equals the dynamic programme on 300 random pairs; copy scores by
hand; every multiple-choice item holds its true continuation exactly once, at varying positions;
an instruct model runs the copy and response-language tasks through its chat template and a base
model does not; a copy that cannot fit the context is refused before lm-eval runs; the script
check of the response language; a built-in lm-eval task runs through `evaluate.builtin` with the
accuracy of its local twin and an unknown name is refused before any output; several models in one
process write the same bytes as one each; lm-eval's environment report runs once per process."""

import json
import math

import pytest

from langadapt.core.errors import LangadaptError
from langadapt.core.io import write_lines
from langadapt.eval.evaluate import bpb_task_name, write_evaluation, write_tasks
from langadapt.models.io import save_model


def test_lm_eval_bits_per_byte_on_local_tasks(tmp_path, tiny_model, byte_level_tok, ru_docs, en_docs):
    write_lines(tmp_path / "ru.txt", ru_docs[:10])
    write_lines(tmp_path / "en.txt", en_docs[:10])
    heldout = {"ru": str(tmp_path / "ru.txt"), "en": str(tmp_path / "en.txt")}
    names = write_tasks(tmp_path / "tasks", heldout, max_docs=8, mc_docs=0, copy_docs_n=0)
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


def test_lcs_length_matches_the_dynamic_programme():
    import random

    from langadapt.eval.metrics import lcs_length

    def table(a, b):
        t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                t[i + 1][j + 1] = t[i][j] + 1 if x == y else max(t[i][j + 1], t[i + 1][j])
        return t[-1][-1]

    rng = random.Random(0)
    for _ in range(300):
        a, b = ("".join(rng.choice("abcдж ") for _ in range(rng.randrange(40))) for _ in range(2))
        assert lcs_length(a, b) == table(a, b)


def test_copy_scores():
    from langadapt.eval.metrics import copy_scores

    assert copy_scores("Привет, мир", " Привет, мир\n") == {"exact_match": 1.0, "length_ratio": 1.0, "lcs_ratio": 1.0}
    s = copy_scores("Привет, мир", "Привет")
    assert s["exact_match"] == 0.0 and s["length_ratio"] == s["lcs_ratio"] == 6 / 11
    assert copy_scores("abc", "abcabc")["length_ratio"] == 2.0


def test_multiple_choice_distractors_swap_two_neighbouring_words(ru_docs):
    from langadapt.eval.evaluate import choice_docs

    docs = choice_docs(ru_docs, 50, 160)
    assert len(docs) == 50
    labels = [d["label"] for d in docs]
    assert set(labels) == {0, 1, 2, 3}  # the answer is not always in one place
    whole = {" ".join(d.split()) for d in ru_docs}
    for d in docs:
        true = d["choices"][d["label"]]
        assert len(set(d["choices"])) == 4
        assert any(w.startswith(d["context"] + true) for w in whole)
        # every distractor is the true continuation with one pair of neighbours exchanged
        for c in d["choices"]:
            diff = [i for i, (a, b) in enumerate(zip(c.split(), true.split())) if a != b]
            assert c == true or (len(diff) == 2 and diff[1] == diff[0] + 1
                                 and c.split()[diff[0]] == true.split()[diff[1]])
    assert choice_docs(ru_docs, 50, 160) == docs  # seeded
    assert choice_docs(["a a a a b b b b b b"] * 10, 5, 160) == []  # fewer than 3 distinct swaps: no items


def test_instruct_model_runs_copy_through_its_chat_template(tmp_path, byte_level_tok, ru_docs):
    """Copy (generation, chat template) for an instruct model only; multiple choice for every model."""
    import copy

    from langadapt.eval.evaluate import task_name
    from langadapt.train.bootstrap import CHAT_TEMPLATE, CHAT_TOKENS, tiny_llama

    tiny_model = tiny_llama(byte_level_tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=256, seed=0)
    write_lines(tmp_path / "ru.txt", ru_docs[:40])
    heldout = {"ru": str(tmp_path / "ru.txt")}
    names = write_tasks(tmp_path / "tasks", heldout, max_docs=8, mc_docs=8, copy_docs_n=4, copy_chars=60,
                        lang_docs_n=3, source_tokenizer=byte_level_tok)
    assert names == [task_name(k, "ru") for k in ("bpb", "mc", "copy", "lang")]
    tok = copy.deepcopy(byte_level_tok)
    tok.chat_template, tok.eos_token = CHAT_TEMPLATE, CHAT_TOKENS[-1]
    save_model(tiny_model, tok, tmp_path / "instruct")
    res = write_evaluation(tmp_path / "instruct", tmp_path / "tasks", heldout, tmp_path / "e.json", batch_size=4,
                           max_docs=8, instruct=True)["lm_eval"]
    assert 0 <= res[task_name("mc", "ru")]["acc"] <= 1
    c = res[task_name("copy", "ru")]
    assert c["exact_match"] == 0.0 and 0 <= c["lcs_ratio"] <= 1  # an untrained model copies nothing
    assert 0 <= res[task_name("lang", "ru")]["in_language"] <= 1
    base = write_evaluation(tmp_path / "instruct", tmp_path / "tasks", heldout, tmp_path / "b.json", batch_size=4,
                            max_docs=8)["lm_eval"]
    assert task_name("copy", "ru") not in base and task_name("lang", "ru") not in base and task_name("mc", "ru") in base
    # one job for several models (evaluate.one_job_per: stage) writes what a job per model writes;
    # an unreadable model in the list stops it before the first evaluation
    from langadapt.eval.evaluate import write_evaluations

    with pytest.raises(LangadaptError, match="nowhere"):
        write_evaluations([(tmp_path / "instruct", tmp_path / "x.json", True), (tmp_path / "nowhere", "y.json", False)],
                          tmp_path / "tasks", heldout, batch_size=4, max_docs=8)
    assert not (tmp_path / "x.json").exists()
    write_evaluations([(tmp_path / "instruct", tmp_path / "e2.json", True), (tmp_path / "instruct", tmp_path / "b2.json",
                                                                              False)],
                      tmp_path / "tasks", heldout, batch_size=4, max_docs=8)
    assert (tmp_path / "e2.json").read_bytes() == (tmp_path / "e.json").read_bytes()
    assert (tmp_path / "b2.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_copy_longer_than_the_context_is_refused_before_running(tmp_path, tiny_model, byte_level_tok, ru_docs):
    import copy

    import pytest

    from langadapt.core.errors import LangadaptError
    from langadapt.train.bootstrap import CHAT_TEMPLATE, CHAT_TOKENS

    write_lines(tmp_path / "ru.txt", ru_docs[:40])
    heldout = {"ru": str(tmp_path / "ru.txt")}
    write_tasks(tmp_path / "tasks", heldout, max_docs=8, mc_docs=0, copy_docs_n=4, copy_chars=200,
                source_tokenizer=byte_level_tok)
    tok = copy.deepcopy(byte_level_tok)
    tok.chat_template, tok.eos_token = CHAT_TEMPLATE, CHAT_TOKENS[-1]
    save_model(tiny_model, tok, tmp_path / "m")  # 64 positions
    with pytest.raises(LangadaptError, match="evaluate.copy.max_chars"):
        write_evaluation(tmp_path / "m", tmp_path / "tasks", heldout, tmp_path / "e.json", batch_size=4, max_docs=8,
                         instruct=True)
    assert not (tmp_path / "e.json").exists()


def test_response_language_by_script_and_between_languages_of_one_script_by_the_identifier():
    from langadapt.eval.evaluate import lang_docs
    from langadapt.eval.metrics import lang_scores

    ru, en = (lang_docs(["Один два три четыре пять шесть.", "One two three four five six."], 1, 100, code,
                        others=["ru", "en"])[0] for code in ("ru", "en"))
    assert ru["rivals"] == [] and en["rivals"] == []  # Cyrillic and Latin: the script decides
    assert lang_scores(ru, "Привет, мир! OK")["in_language"] == 1.0 and lang_scores(ru, "Hello, мир")["in_language"] == 0
    assert lang_scores(en, "Hello world")["in_language"] == 1.0 and lang_scores(en, "12 345 ...")["in_language"] == 0
    # French and English: both Latin, so the identifier tells them apart
    fr, en = (lang_docs(["Un deux trois quatre cinq six."], 1, 100, code, others=["en", "fr"])[0] for code in ("fr", "en"))
    assert fr["rivals"] == ["en"] and en["rivals"] == ["fr"] and fr["prompt"].startswith("Répète") or \
        fr["prompt"].startswith(("Continue", "Quel"))
    french, english = "Ouvrez le fichier et enregistrez vos modifications.", "Open the file and save your changes."
    assert [lang_scores(fr, t)["in_language"] for t in (french, english)] == [1.0, 0.0]
    assert [lang_scores(en, t)["in_language"] for t in (french, english)] == [0.0, 1.0]
    ko = lang_docs(["하나 둘 셋 넷 다섯 여섯."], 1, 100, "ko", others=["en", "ko"])[0]
    assert ko["rivals"] == [] and lang_scores(ko, "파일을 엽니다.")["in_language"] == 1.0


def test_builtin_tasks_run_beside_the_local_ones_and_reach_the_summary(tmp_path, tiny_model, byte_level_tok, ru_docs):
    """lm-eval tasks named in builtin.json (not globbed as local) run through the task index and
    land in the summary as {task}_{metric} columns."""
    from langadapt.eval.evaluate import task_name
    from langadapt.eval.report import summary_table

    write_lines(tmp_path / "ru.txt", ru_docs[:40])
    heldout = {"ru": str(tmp_path / "ru.txt")}
    write_tasks(tmp_path / "tasks", heldout, max_docs=8, mc_docs=8, copy_docs_n=0)
    # a task lm-eval indexes (a subfolder of the include path) that the local glob does not see
    (tmp_path / "tasks" / "extra").mkdir()
    mc = task_name("mc", "ru")
    text = (tmp_path / "tasks" / f"{mc}.yaml").read_text().replace(f"task: {mc}", "task: extra_mc_ru")
    (tmp_path / "tasks" / "extra" / "extra_mc_ru.yaml").write_text(text)
    (tmp_path / "tasks" / "builtin.json").write_text(json.dumps({"tasks": ["extra_mc_ru"], "num_fewshot": 0}))
    save_model(tiny_model, byte_level_tok, tmp_path / "model")
    res = write_evaluation(tmp_path / "model", tmp_path / "tasks", heldout, tmp_path / "cpt.json", batch_size=4,
                           max_docs=8)
    assert res["builtin"] == ["extra_mc_ru"] and set(res["lm_eval"]) == {task_name("bpb", "ru"), mc, "extra_mc_ru"}
    # the same documents and model: the same accuracy through either path
    assert res["lm_eval"]["extra_mc_ru"]["acc"] == res["lm_eval"][mc]["acc"]
    row = summary_table({"cpt/bpe/mean": str(tmp_path / "cpt.json")}).iloc[0]
    assert row["extra_mc_ru_acc"] == res["lm_eval"]["extra_mc_ru"]["acc"] and "mc_acc_ru" in row


def test_unknown_builtin_task_is_refused_before_any_output(tmp_path, ru_docs):
    import pytest

    from langadapt.core.errors import LangadaptError

    write_lines(tmp_path / "ru.txt", ru_docs[:40])
    with pytest.raises(LangadaptError, match=r"^config key 'evaluate.builtin.tasks': 'xnli_klingon' is not a task"):
        write_tasks(tmp_path / "tasks", {"ru": str(tmp_path / "ru.txt")}, max_docs=8, builtin=["xnli_ru", "xnli_klingon"])
    assert not (tmp_path / "tasks").exists()


def test_lm_eval_environment_report_is_computed_once_per_process(monkeypatch):
    """simple_evaluate adds the environment report (a `pip list` subprocess) to every result:
    the first call computes it, the others get the same fields."""
    import lm_eval.evaluator as ev

    from langadapt.eval.evaluate import _env_info_once

    calls = []

    def report(storage):
        calls.append(1)
        storage.update({"pretty_env_info": f"report {len(calls)}", "transformers_version": "x"})

    monkeypatch.setattr(ev, "add_env_info", report)
    _env_info_once()
    _env_info_once()  # a second stage call does not wrap it again
    first, second = {"results": 1}, {"results": 2}
    ev.add_env_info(first)
    ev.add_env_info(second)
    assert len(calls) == 1 and ev.add_env_info.__wrapped__ is report
    assert first == {"results": 1, "pretty_env_info": "report 1", "transformers_version": "x"}
    assert second == {"results": 2, "pretty_env_info": "report 1", "transformers_version": "x"}

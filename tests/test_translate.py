"""Relation-aware translation: the split, the fallback, bad input counted, the dictionary backend."""

import pytest

from langadapt.core.errors import LangadaptError
from langadapt.translate.pipeline import (
    DictionaryTranslator,
    Translator,
    join_components,
    split_components,
    translate_datapoints,
)


class Upper(Translator):
    """Stands in for a real model: a deterministic, length-changing 'translation'."""

    def __init__(self, drop: str | None = None, empty: bool = False):
        self.calls: list[list[str]] = []
        self.drop, self.empty = drop, empty

    def translate(self, texts):
        self.calls.append(list(texts))
        out = [t.upper() + "!" for t in texts]
        if self.drop:
            out = [t.replace(self.drop, "") for t in out]
        return ["" for _ in out] if self.empty else out


POINTS = [["What is a cell?", "A cell holds one value.", "cell"], ["Open the file.", "Then save it."]]


def test_split_restores_every_component():
    for comps in POINTS + [["one"], ["a [b] c", "d\nе", "ж"]]:
        assert split_components(join_components(comps, "a question, its passage and answer"), len(comps)) == comps


def test_joint_translation_is_one_call_per_datapoint_and_split_back():
    tr = Upper()
    out, log = translate_datapoints(POINTS, tr, relation="question, passage, answer")
    assert out == [[c.upper() for c in p[:-1]] + [p[-1].upper() + "!"] for p in POINTS]
    assert len(tr.calls) == 1 and len(tr.calls[0]) == 2  # one joined text per data point, one batch
    assert log.summary()["joint"] == 2 and log.summary()["fallback_rate"] == 0


def test_a_lost_indicator_triggers_the_per_component_fallback():
    tr = Upper(drop="[2]")
    out, log = translate_datapoints(POINTS, tr, relation="r")
    assert out == [[c.upper() + "!" for c in p] for p in POINTS]  # each component translated alone
    s = log.summary()
    assert s["fallback"] == 2 and s["fallback_rate"] == 1.0 and s["reasons"] == {"split_failed": 2}
    assert len(tr.calls) == 2 and tr.calls[1] == [c for p in POINTS for c in p]


def test_bad_datapoints_are_counted_never_a_crash():
    points = [["ok", "fine"], ["", "empty first"], ["has [1] inside", "x"]]
    out, log = translate_datapoints(points, Upper(), relation="r")
    assert out[0] == ["OK", "FINE!"] and out[1] is None and out[2] == ["HAS [1] INSIDE!", "X!"]
    assert log.paths == ["joint", "failed", "fallback"]
    assert log.summary()["reasons"] == {"empty_component": 1, "indicator_in_source": 1}


def test_a_translator_returning_nothing_is_counted():
    out, log = translate_datapoints(POINTS, Upper(empty=True), relation="r")
    assert out == [None, None] and log.summary()["failed"] == 2
    assert log.summary()["reasons"] == {"empty_translation": 2}

    class Short(Translator):
        def translate(self, texts):
            return texts[:-1]

    class DropThe(Translator):  # a component that was only a dropped word comes back empty
        def translate(self, texts):
            return [t.replace("the", "").strip() for t in texts]

    out, log = translate_datapoints([["say it", "the"]], DropThe(), relation="r")
    assert out == [None] and log.paths == ["failed"] and log.summary()["reasons"] == {"empty_translation": 1}

    with pytest.raises(LangadaptError, match="returned 1 texts for 2"):
        translate_datapoints(POINTS, Short(), relation="r")


def test_per_component_mode_records_its_path():
    out, log = translate_datapoints(POINTS, Upper(), relation_aware=False)
    assert out == [[c.upper() + "!" for c in p] for p in POINTS] and log.paths == ["per_component"] * 2


def test_dictionary_translator_keeps_case_numbers_and_indicators():
    tr = DictionaryTranslator([("open", "открыть"), ("file", "файл"), ("the", "the"), ("save", "сохранить"),
                               ("open up", "раскрыть")], None, "en", "ru")
    assert tr.translate(["[1] Open the file 2 times.", "Save!"]) == ["[1] Открыть the файл 2 times.", "Сохранить!"]
    with pytest.raises(LangadaptError, match="no single-word"):
        DictionaryTranslator([("open up", "раскрыть")], None, "en", "ru")


def test_build_translations_writes_both_languages_paths_and_reference_scores(tmp_path, en_docs):
    import json

    from langadapt.core.io import write_lines
    from langadapt.translate.pipeline import build_translations

    write_lines(tmp_path / "en.txt", en_docs[:60])
    pairs = [{"id": f"page{k // 3}#p{k}", "en": f"Open the file {k}.", "ru": f"Открыть файл {k}."} for k in range(12)]
    (tmp_path / "par.jsonl").write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in pairs))
    tr = DictionaryTranslator([("open", "открыть"), ("the", "этот"), ("file", "файл"), ("repeat", "повторить")], None,
                              "en", "ru")
    stats = build_translations(tmp_path / "en.txt", tmp_path / "out.jsonl", tmp_path / "stats.json", tr, n=20,
                               relation="r", relation_aware=True, max_chars=80, seed=0,
                               parallel_heldout=tmp_path / "par.jsonl", eval_points=10, langs=("en", "ru"))
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == 22 and all(r["path"] == "joint" for r in rows)  # 10% spare
    first = rows[0]
    assert [m["role"] for m in first["ru"]] == ["user", "assistant"] and first["en"][0]["content"] != first["ru"][0]["content"]
    ref = stats["reference"]
    assert ref["datapoints"] == 4 and ref["components"] == 12  # three paragraphs per page
    assert ref["relation_aware"]["chrf"] > 50 and ref["per_component"]["chrf"] == ref["relation_aware"]["chrf"]
    # word for word has no context: the reply keeps its relation to the passage as often either way
    kept = stats["relation_kept"]
    assert kept["relation_aware"]["checked"] > 5 and kept["relation_aware"] == kept["per_component"]
    assert json.loads((tmp_path / "stats.json").read_text()) == stats


def test_too_few_translations_for_clo_fail_translate_with_no_output(tmp_path, en_docs):
    from langadapt.core.io import write_lines
    from langadapt.translate.pipeline import build_translations

    write_lines(tmp_path / "en.txt", en_docs[:60])
    with pytest.raises(LangadaptError, match=r"^translate: 0 of 22 data points translated, fewer than the 20 needed "
                                             r"\(reasons: \{'empty_translation': 22\}\); raise translate.spare$"):
        build_translations(tmp_path / "en.txt", tmp_path / "out.jsonl", tmp_path / "stats.json", Upper(empty=True),
                           n=20, relation="r", relation_aware=True, max_chars=80, seed=0, langs=("en", "ru"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["en.txt"]


def test_model_backend_without_a_model_is_refused_at_config_time():
    from pathlib import Path

    import yaml

    from langadapt.workflow import check_translate_config, validate_config

    root = Path(__file__).resolve().parent.parent
    cfg = validate_config(yaml.safe_load((root / "configs/smoke.yaml").read_text()), root / "schemas/config.schema.yaml")
    check_translate_config(cfg)
    cfg["translate"]["backend"] = "hf_seq2seq"
    with pytest.raises(LangadaptError, match="'translate.model'"):
        check_translate_config(cfg)
    cfg["translate"]["model"] = "train"
    with pytest.raises(LangadaptError, match=r"^config key 'translate.model': 'train' trains a causal LM; use backend "
                                             r"causal_lm$"):
        check_translate_config(cfg)
    cfg["translate"]["backend"] = "causal_lm"
    cfg["corpus"]["parallel"]["enabled"] = True
    check_translate_config(cfg)
    cfg["corpus"]["parallel"]["enabled"] = False
    with pytest.raises(LangadaptError, match=r"'train' learns from the parallel corpus, and corpus.parallel.enabled "
                                             r"is false$"):
        check_translate_config(cfg)
    cfg["clo"]["enabled"] = False  # nothing translates then
    check_translate_config(cfg)


def _chat_model_dir(tmp_path, byte_level_tok):
    import copy

    from langadapt.models.io import save_model
    from langadapt.train.bootstrap import CHAT_TEMPLATE, CHAT_TOKENS, tiny_llama

    tok = copy.deepcopy(byte_level_tok)
    tok.chat_template, tok.eos_token = CHAT_TEMPLATE, CHAT_TOKENS[-1]
    model = tiny_llama(tok, hidden_size=16, layers=1, heads=2, intermediate_size=32, max_len=512, seed=0)
    save_model(model, tok, tmp_path / "chat")
    return tmp_path / "chat"


def test_causal_lm_backend_runs_through_the_pipeline(tmp_path, byte_level_tok):
    """A (random, tiny) chat model as translator: one output per input, every data point gets a
    recorded path whatever the model writes."""
    from langadapt.translate.pipeline import make_translator

    tr = make_translator("causal_lm", model=str(_chat_model_dir(tmp_path, byte_level_tok)), batch_size=2,
                         max_new_tokens=12, src="en", tgt="ru")
    out = tr.translate(["Open the file.", "Save it.", "Close."])
    assert len(out) == 3 and all(isinstance(t, str) for t in out)
    done, log = translate_datapoints(POINTS, tr, relation="r")
    assert len(log.paths) == 2 and set(log.paths) <= {"joint", "fallback", "failed"}
    assert all((d is None) == (p == "failed") for d, p in zip(done, log.paths))


def test_seq2seq_backend_loads_and_generates(tmp_path, byte_level_tok):
    """The hf_seq2seq path on a tiny encoder-decoder saved locally (no hub)."""
    from transformers import BartConfig, BartForConditionalGeneration

    from langadapt.models.io import save_model
    from langadapt.translate.pipeline import make_translator

    cfg = BartConfig(vocab_size=len(byte_level_tok), d_model=16, encoder_layers=1, decoder_layers=1,
                     encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                     max_position_embeddings=128, pad_token_id=byte_level_tok.pad_token_id,
                     bos_token_id=byte_level_tok.bos_token_id, eos_token_id=byte_level_tok.eos_token_id,
                     decoder_start_token_id=byte_level_tok.bos_token_id)
    save_model(BartForConditionalGeneration(cfg), byte_level_tok, tmp_path / "mt")
    tr = make_translator("hf_seq2seq", model=str(tmp_path / "mt"), batch_size=2, max_new_tokens=8, src="en", tgt="ru")
    out = tr.translate(["Open the file.", "Save it.", "Close."])
    assert len(out) == 3 and all(isinstance(t, str) for t in out)
    with pytest.raises(LangadaptError, match="'translate.model'"):
        make_translator("hf_seq2seq", src="en", tgt="ru")


PAIRS = [{"id": f"page{i // 3}#p{i}", "en": f"Open the file {i}.", "ru": f"Открыть файл {i}."} for i in range(7)]


def test_the_trained_translators_examples_are_pairs_joined_groups_and_templates():
    from langadapt.lang.profiles import profile
    from langadapt.translate.pipeline import CausalLMTranslator
    from langadapt.translate.trained import translation_conversations

    convs = translation_conversations(PAIRS + [{"id": "x#1", "en": "y" * 70, "ru": "z"}], "parts of a page", "en", "ru",
                                      max_chars=60, template_copies=2, seed=0)
    prompts = {c[0]["content"]: c[1]["content"] for c in convs}
    say = CausalLMTranslator.PROMPT.format(src="English", tgt="Russian", text="{}").format
    assert all(prompts[say(p["en"])] == p["ru"] for p in PAIRS) and say("y" * 70) not in prompts  # too long
    # pages 0 and 1 give a group of three each, page 2's one pair none; joined as the relation-aware path joins
    assert prompts[say(join_components([p["en"] for p in PAIRS[:3]], "parts of a page"))] == \
        "[1] Открыть файл 0.\n[2] Открыть файл 1.\n[3] Открыть файл 2."
    assert prompts[say(join_components([p["en"] for p in PAIRS[3:6]], "parts of a page"))] == \
        join_components([p["ru"] for p in PAIRS[3:6]], "")
    en, ru = profile("en").templates, profile("ru").templates
    assert all(prompts[say(en[k])] == ru[k] for k in en)
    assert len(convs) == 7 + 2 + 2 * len(en)


def test_a_trained_translator_learns_its_pairs_and_answers_the_causal_lm_backends_prompt(tmp_path):
    """Trained on the instruction templates (and a few pairs), the translator answers the backend's
    own prompt with their translations, word for word, through its chat template."""
    import json

    from langadapt.lang.profiles import profile
    from langadapt.translate.pipeline import make_translator
    from langadapt.translate.trained import build_translator

    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in PAIRS))
    info = build_translator(tmp_path / "pairs.jsonl", tmp_path / "translator", relation="r", src="en", tgt="ru",
                            vocab_size=400, arch=dict(hidden_size=32, layers=1, heads=2, intermediate_size=64,
                                                      max_len=160), max_chars=100, template_copies=8,
                            train_cfg={"lr": 0.01, "batch_size": 8, "max_steps": 100, "warmup_steps": 10,
                                       "logging_steps": 50}, seed=0)
    assert info["examples"] == 7 + 2 + 8 * 4 and info["cut"] == info["no_reply"] == 0
    tr = make_translator("causal_lm", model=str(tmp_path / "translator"), batch_size=4, max_new_tokens=48, src="en",
                         tgt="ru")
    assert tr.translate(list(profile("en").templates.values())) == list(profile("ru").templates.values())
    with pytest.raises(LangadaptError, match=r"^translate.trained: .* gives 0 translation examples"):
        build_translator(tmp_path / "pairs.jsonl", tmp_path / "none", relation="r", src="en", tgt="ru", vocab_size=400,
                         arch=dict(hidden_size=32, layers=1, heads=2, intermediate_size=64, max_len=64), max_chars=1,
                         template_copies=0, train_cfg={"batch_size": 8}, seed=0)
    with pytest.raises(LangadaptError, match=r"^translate.trained.max_len: 16 tokens hold no reply token of any of "
                                             r"the 41 examples"):
        build_translator(tmp_path / "pairs.jsonl", tmp_path / "none", relation="r", src="en", tgt="ru", vocab_size=400,
                         arch=dict(hidden_size=32, layers=1, heads=2, intermediate_size=64, max_len=16), max_chars=100,
                         template_copies=8, train_cfg={"batch_size": 8}, seed=0)
    assert not (tmp_path / "none").exists()


def test_relation_kept_counts_replies_that_still_copy_or_name_the_passages_first_or_last_word():
    from langadapt.translate.pipeline import relation_kept, reply_relation

    src = [["Repeat.", "Open the file.", "Open the file."], ["First word?", "Open the file.", "Open"],
           ["Last word?", "Open the file.", "file"], ["Continue.", "Open the", "file."], ["Open the file."]]
    assert [reply_relation(p) for p in src] == ["copy", "first", "last", None, None]
    out = [["Повтори.", "Открой файл.", "Открой файл."], ["Первое?", "Открыть файл.", "открыть"],
           ["Последнее?", "Открыть файл.", "документ"], ["Продолжи.", "Открыть", "файл."], ["Открыть файл."]]
    assert relation_kept(src, out) == {"checked": 3, "kept": 2, "share": 2 / 3}
    assert relation_kept(src, [None, *out[1:]]) == {"checked": 2, "kept": 1, "share": 0.5}  # untranslated: not checked

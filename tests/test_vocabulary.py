"""The four vocabulary variants on both families of source tokenizer (byte-level BPE and
SentencePiece-style BPE with byte fallback), built through the same function the workflow runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from transformers import AutoTokenizer

from langadapt.core.errors import LangadaptError
from langadapt.core.io import read_lines, write_lines
from langadapt.vocab.build import build_tokenizer, check_variant
from langadapt.vocab.merge import token_counts

VARIANTS = {
    "bpe": {"kind": "bpe", "size": 150},
    "unigram": {"kind": "unigram", "size": 150},
    "extended": {"kind": "extended", "donor_size": 150},
    "optimized": {"kind": "optimized", "keep": 0.5, "donor_size": 150},
}
MIXED = ["Привет, мир! 2024 год — hello world.", "Таблица  с двумя пробелами и ёлкой; file.txt", "Hello, world."]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, ru_docs, en_docs):
    d = tmp_path_factory.mktemp("corpus")
    write_lines(d / "ru_train.txt", ru_docs[:500])
    write_lines(d / "en_train.txt", en_docs[:500])
    write_lines(d / "ru_heldout.txt", ru_docs[500:])
    write_lines(d / "en_heldout.txt", en_docs[500:])
    return d


@pytest.fixture(scope="module")
def sources(tmp_path_factory, byte_level_tok, en_docs, ru_docs):
    """Source tokenizer directories of both families, English-heavy like the real ones."""
    from langadapt.vocab.sentencepiece import sentencepiece_to_hf, train_sentencepiece

    d = tmp_path_factory.mktemp("sources")
    byte_level_tok.save_pretrained(d / "byte_level")
    write_lines(d / "mix.txt", en_docs + ru_docs[:30])
    spm = train_sentencepiece(d / "mix.txt", d / "sp", "bpe", 420, byte_fallback=True)
    sentencepiece_to_hf(spm, d / "metaspace")
    return {"byte_level": d / "byte_level", "metaspace": d / "metaspace"}


def build(corpus, source_dir, out, name, variant, source_share=0.2):
    return build_tokenizer(corpus / "ru_train.txt", corpus / "en_train.txt",
                           {"ru": corpus / "ru_heldout.txt", "en": corpus / "en_heldout.txt"}, source_dir, out,
                           variant=variant, source_share=source_share, byte_fallback=False, character_coverage=1.0,
                           input_sentence_size=0, threads=1, name=name)


@pytest.fixture(scope="module")
def built(tmp_path_factory, corpus, sources):
    out = tmp_path_factory.mktemp("variants")
    return {(fam, name): (out / fam / name, build(corpus, src, out / fam / name, name, v))
            for fam, src in sources.items() for name, v in VARIANTS.items()}


@pytest.mark.parametrize("fam", ["byte_level", "metaspace"])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_roundtrips_and_is_more_efficient_on_russian(built, corpus, fam, name):
    path, stats = built[fam, name]
    tok = AutoTokenizer.from_pretrained(path)
    texts = read_lines(corpus / "ru_heldout.txt") + read_lines(corpus / "en_heldout.txt") + MIXED
    if name in ("bpe", "unigram"):  # full replacements trained without byte fallback: only seen characters
        texts = texts[:-3]
    for t in texts:
        assert tok.decode(tok.encode(t, add_special_tokens=False)) == t
    assert stats["heldout"]["ru"]["roundtrip"] == stats["heldout"]["en"]["roundtrip"] == 1.0
    assert stats["heldout"]["ru"]["chars_per_token"] > 1.5 * stats["source_heldout"]["ru"]["chars_per_token"]
    assert stats["size"] == len(tok)
    voc = stats["vocabulary"]
    assert voc["shared_with_source"] + voc["new"] + voc["special"] == len(tok)
    assert 0 < voc["share_new"] < 1
    assert stats["training"]["bytes"] > 0 and "seconds" not in stats["training"]  # timings are not results


@pytest.mark.parametrize("fam", ["byte_level", "metaspace"])
def test_extended_keeps_every_source_token_at_its_id(built, sources, fam):
    src = AutoTokenizer.from_pretrained(sources[fam])
    path, stats = built[fam, "extended"]
    tok = AutoTokenizer.from_pretrained(path)
    n = len(src)
    assert len(tok) > n and stats["training"]["donor_unreachable"] == 0
    assert tok.convert_ids_to_tokens(list(range(n))) == src.convert_ids_to_tokens(list(range(n)))
    assert {k: v.content for k, v in tok.added_tokens_decoder.items()} == \
        {k: v.content for k, v in src.added_tokens_decoder.items()}
    id_map = json.loads((path / "id_map.json").read_text())["old_to_new"]
    assert id_map == list(range(n))
    assert stats["vocabulary"]["shared_with_source"] + stats["vocabulary"]["special"] >= n - 1


@pytest.mark.parametrize("fam", ["byte_level", "metaspace"])
def test_optimized_keeps_specials_bytes_and_most_used_tokens(built, sources, corpus, fam):
    src = AutoTokenizer.from_pretrained(sources[fam])
    path, _ = built[fam, "optimized"]
    tok = AutoTokenizer.from_pretrained(path)
    id_map = np.array(json.loads((path / "id_map.json").read_text())["old_to_new"])
    assert len(id_map) == len(src)
    kept = np.flatnonzero(id_map >= 0)
    assert len(kept) < len(src)
    # a kept token is the same token at its new id, new ids keep the old order
    assert tok.convert_ids_to_tokens(id_map[kept].tolist()) == src.convert_ids_to_tokens(kept.tolist())
    assert np.all(np.diff(id_map[kept]) > 0)
    # special tokens keep their roles
    for role in ("bos_token", "eos_token", "pad_token"):
        if getattr(src, role) is not None:
            assert getattr(tok, role) == getattr(src, role)
            assert id_map[getattr(src, role + "_id")] == getattr(tok, role + "_id")
    assert tok("привет", add_special_tokens=True)["input_ids"][0] in (tok.bos_token_id, tok.encode("п")[0])
    # byte fallbacks / the byte alphabet survive
    vocab = src.get_vocab()
    if fam == "metaspace":
        alphabet = [f"<0x{b:02X}>" for b in range(256)]
    else:
        from langadapt.vocab.overlap import byte_tables
        alphabet = list(byte_tables()[0].values())
    assert all(id_map[vocab[a]] >= 0 for a in alphabet)
    # the most used half of the model vocabulary on Russian text is kept
    counts = token_counts(src, read_lines(corpus / "ru_train.txt"))
    model_ids = np.array(sorted(set(vocab.values()) - set(src.added_tokens_decoder)))
    top = model_ids[np.lexsort((model_ids, -counts[model_ids]))][: math.ceil(0.5 * len(model_ids))]
    assert np.all(id_map[top] >= 0)


def test_overlap_and_init_use_the_id_map(built, sources, tiny_model):
    import torch

    from langadapt.transfer.apply import transfer_model
    from langadapt.vocab.overlap import compute_overlap, load_id_map, surfaces

    src = AutoTokenizer.from_pretrained(sources["byte_level"])
    path, _ = built["byte_level", "optimized"]
    tok, id_map = AutoTokenizer.from_pretrained(path), load_id_map(path)
    ov = compute_overlap(src, tok, id_map)
    pairs = {n: o for n, o in ov["shared"] + ov["specials"]}
    kept = np.flatnonzero(id_map >= 0)
    from_map = {int(id_map[o]): int(o) for o in kept}
    assert from_map.items() <= pairs.items()
    # a dropped source token the donor brings back is matched by its spelling
    s_old, s_new = surfaces(src), surfaces(tok)
    extra = {n: o for n, o in pairs.items() if n not in from_map}
    assert all(n >= len(kept) and id_map[o] < 0 and s_new[n] == s_old[o] for n, o in extra.items())
    old = tiny_model.get_input_embeddings().weight.detach().clone()
    transfer_model(tiny_model, tok, ov, "mean")
    new = tiny_model.get_input_embeddings().weight.detach()
    assert new.shape[0] == len(tok)
    assert torch.equal(new[torch.from_numpy(id_map[kept])], old[torch.from_numpy(kept)])


def test_extended_size_cap_and_source_checks(tmp_path, corpus, sources):
    stats = build(corpus, sources["metaspace"], tmp_path / "cap", "cap", {"kind": "extended", "donor_size": 150,
                                                                         "size": 440})
    assert stats["size"] == 440
    with pytest.raises(LangadaptError, match="variant 'small': key 'size'"):
        build(corpus, sources["metaspace"], tmp_path / "small", "small",
              {"kind": "extended", "donor_size": 150, "size": 100})
    assert not (tmp_path / "small").exists()


@pytest.mark.parametrize("variant,key", [
    ({"kind": "wordpiece", "size": 10}, "kind"),
    ({"kind": "optimized", "keep": 0.0, "donor_size": 10}, "keep"),
    ({"kind": "optimized", "keep": 1.5, "donor_size": 10}, "keep"),
    ({"kind": "extended"}, "donor_size"),
    ({"kind": "bpe", "size": 0}, "size"),
])
def test_bad_variant_names_variant_and_key(variant, key):
    with pytest.raises(LangadaptError, match=f"tokenizer variant 'v': key '{key}'"):
        check_variant("v", variant)


def test_vocabulary_the_corpus_cannot_support_fails_before_output(tmp_path, corpus, sources):
    with pytest.raises(LangadaptError, match=r"^config key 'tokenizer.variants.huge.size': vocab_size 500000 is more than") as e:
        build(corpus, sources["byte_level"], tmp_path / "huge", "huge", {"kind": "bpe", "size": 500000})
    assert "\n" not in str(e.value)
    assert not (tmp_path / "huge").exists()


def test_merged_variant_needs_a_bpe_source(tmp_path, corpus, ru_docs):
    from langadapt.vocab.sentencepiece import sentencepiece_to_hf, train_sentencepiece

    write_lines(tmp_path / "ru.txt", ru_docs)
    sentencepiece_to_hf(train_sentencepiece(tmp_path / "ru.txt", tmp_path / "u", "unigram", 90), tmp_path / "uni")
    with pytest.raises(LangadaptError, match="variant 'ext'.*Unigram"):
        build(corpus, tmp_path / "uni", tmp_path / "ext", "ext", {"kind": "extended", "donor_size": 100})
    assert not (tmp_path / "ext").exists()

"""Vocabulary overlap: the tokenizer family is recognised (`Ġ` byte-level BPE, `▁` SentencePiece),
shared tokens have identical surface bytes, every new token is spelled by its source subtokens,
special tokens are matched by role, and a SentencePiece-style source works as well."""

from langadapt.vocab.overlap import compute_overlap, family, surfaces


def test_families(byte_level_tok, spm_tok):
    assert family(byte_level_tok) == "byte_level"
    assert family(spm_tok) == "metaspace"


def test_shared_tokens_have_identical_surfaces(byte_level_tok, spm_tok):
    ov = compute_overlap(byte_level_tok, spm_tok)
    old_s, new_s = surfaces(byte_level_tok), surfaces(spm_tok)
    assert ov["n_shared"] > 0
    for n, o in ov["shared"]:
        assert new_s[n] == old_s[o]
    assert ov["n_shared"] + ov["n_new"] + ov["n_special"] == len(spm_tok)


def test_new_tokens_are_spelled_by_old_subtokens(byte_level_tok, spm_tok):
    ov = compute_overlap(byte_level_tok, spm_tok)
    old_s, new_s = surfaces(byte_level_tok), surfaces(spm_tok)
    shared = {n for n, _ in ov["shared"]} | {n for n, _ in ov["specials"]}
    checked = 0
    for t in range(len(spm_tok)):
        if t in shared or new_s[t] is None:
            continue
        sub = ov["subtokens"][ov["offsets"][t]:ov["offsets"][t + 1]]
        assert b"".join(old_s[i] for i in sub) == new_s[t]
        checked += 1
    assert checked > 20


def test_specials_matched_by_role(byte_level_tok, spm_tok):
    ov = compute_overlap(byte_level_tok, spm_tok)
    sp = dict(ov["specials"])
    assert sp[spm_tok.bos_token_id] == byte_level_tok.bos_token_id
    assert sp[spm_tok.eos_token_id] == byte_level_tok.eos_token_id


def test_sentencepiece_source_family_works_too(spm_tok, byte_level_tok):
    """Overlap in the other direction: a `▁` source vocabulary and a byte-level new one."""
    ov = compute_overlap(spm_tok, byte_level_tok)
    assert ov["old_family"] == "metaspace" and ov["n_shared"] > 0

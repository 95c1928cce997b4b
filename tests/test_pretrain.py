"""Embedding-only CPT: only the embeddings train and the loss falls, inner layers stay
bit-identical; a crash at step 9 resumes from checkpoint 8 to the weights and loss.csv of an
unbroken run, and an incomplete checkpoint is skipped."""

import pytest
import torch

from shards import token_shards

from langadapt.train.pretrain import continued_pretraining
from langadapt.vocab.tokens import TokenShards


def test_cpt_trains_only_embeddings_and_lowers_loss(tmp_path, tiny_model, byte_level_tok, ru_docs):
    before = {n: p.detach().clone() for n, p in tiny_model.named_parameters()}
    shards = TokenShards(token_shards(byte_level_tok, ru_docs * 2, tmp_path), 32)
    m = continued_pretraining(
        tiny_model, byte_level_tok, shards, ru_docs[:40], tmp_path / "w", block_size=32, batch_size=8,
        grad_accum=1, lr=0.02, weight_decay=0.0, warmup_steps=0, epochs=1, max_steps=30, max_tokens=None, seed=0,
        logging_steps=5, loss_csv=tmp_path / "loss.csv",
    )
    assert m["trainable"] == ["model.embed_tokens.weight", "lm_head.weight"]
    for n, p in tiny_model.named_parameters():
        if n in m["trainable"]:
            assert not torch.equal(p, before[n])
        else:
            assert torch.equal(p, before[n]), n
    assert m["heldout_loss_after"] < m["heldout_loss_before"]
    rows = (tmp_path / "loss.csv").read_text().splitlines()
    assert rows[0] == "step,loss,lr,tokens" and len(rows) >= 6


class Crash(Exception):
    pass


def _crashing_trainer(at_step):
    from transformers import Trainer

    class CrashAt(Trainer):
        def training_step(self, *a, **kw):
            if self.state.global_step == at_step:
                raise Crash(at_step)
            return super().training_step(*a, **kw)

    return CrashAt


def _cpt(tiny_model, tok, docs, tmp_path, name, **kw):
    """CPT as the workflow runs it: blocks read from memory-mapped token shards (two of them)."""
    from langadapt.train.pretrain import freeze_all_but_embeddings
    from langadapt.train.trainer import TokenBlockDataset, train

    freeze_all_but_embeddings(tiny_model)
    shards = TokenShards(token_shards(tok, docs, tmp_path / f"{name}-data", shards=2), 32)
    return train(tiny_model, TokenBlockDataset(shards), tmp_path / name, lr=0.02, batch_size=4, max_steps=14,
                 warmup_steps=2, weight_decay=0.1, logging_steps=2, seed=3, loss_csv=tmp_path / f"{name}.csv", **kw)


def test_a_crashed_run_resumes_from_its_last_checkpoint_to_the_same_weights(tmp_path, byte_level_tok, ru_docs):
    """Crash after step 9 (checkpoints at 4 and 8); the next run starts at 8 and ends bit-identical
    to an unbroken run, loss log included; checkpoints of other settings are not resumed."""
    from langadapt.train.bootstrap import tiny_llama
    from langadapt.train.trainer import resume_point

    def model():
        return tiny_llama(byte_level_tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=64, seed=0)

    ref = model()
    _cpt(ref, byte_level_tok, ru_docs, tmp_path, "ref")
    ck, key = tmp_path / "ck", {"settings": 1}
    with pytest.raises(Crash):
        _cpt(model(), byte_level_tok, ru_docs, tmp_path, "a", save_steps=4, checkpoint_dir=ck, resume_key=key,
             trainer_cls=_crashing_trainer(9))
    assert sorted(p.name for p in ck.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-8"]
    assert resume_point(ck, key).endswith("checkpoint-8")
    resumed = model()
    rows = _cpt(resumed, byte_level_tok, ru_docs, tmp_path, "b", save_steps=4, checkpoint_dir=ck, resume_key=key)
    for (n, w), w_ref in zip(resumed.state_dict().items(), ref.state_dict().values()):
        assert torch.equal(w, w_ref), n
    assert (tmp_path / "b.csv").read_text() == (tmp_path / "ref.csv").read_text()
    assert [r["step"] for r in rows] == [1, 2, 4, 6, 8, 10, 12, 14]
    # another key: the old checkpoints are removed, nothing is resumed
    assert resume_point(ck, {"settings": 2}) is None and not ck.exists()


def test_an_incomplete_checkpoint_is_skipped(tmp_path):
    import json

    from langadapt.train.trainer import CHECKPOINT_KEY, resume_point

    for step in (4, 8):
        (tmp_path / f"checkpoint-{step}").mkdir()
    (tmp_path / "checkpoint-4" / "trainer_state.json").write_text("{}")
    (tmp_path / CHECKPOINT_KEY).write_text(json.dumps({"k": 1}))
    assert resume_point(tmp_path, {"k": 1}).endswith("checkpoint-4")
    assert not (tmp_path / "checkpoint-8").exists()


def test_source_share_mixes_in_evenly_spread_source_blocks(tmp_path, byte_level_tok, ru_docs, monkeypatch):
    """LEP's CPT mixes English in: the share asked for, blocks spread over the whole source text,
    every target block kept; no source text is one clear line."""
    from langadapt.core.errors import LangadaptError
    from langadapt.train.pretrain import mixed_blocks

    import random

    rng = random.Random(0)  # random words: every block of the source text is unique
    words = "the of and to in is it that was for on are with as his they be at one have this from".split()
    en_docs = [" ".join(rng.choice(words) for _ in range(14)) for _ in range(400)]
    ru = TokenShards(token_shards(byte_level_tok, ru_docs, tmp_path / "ru"), 32)
    en = TokenShards(token_shards(byte_level_tok, en_docs, tmp_path / "en", shards=2), 32)
    assert len(mixed_blocks(ru, en, 0.0)) == len(ru)
    mix = mixed_blocks(ru, en, 0.25)
    n_en = len(mix) - len(ru)
    assert n_en == round(len(ru) / 3) and 0 < n_en < len(en)
    rows = [mix[i]["input_ids"].tolist() for i in range(len(mix))]
    assert rows[:len(ru)] == [ru.block(i).tolist() for i in range(len(ru))]
    picked = [next(j for j in range(len(en)) if en.block(j).tolist() == r) for r in rows[len(ru):]]
    assert picked[0] == 0 and picked[-1] == len(en) - 1  # spread from the first block to the last
    assert all(b > a for a, b in zip(picked, picked[1:])) and len(set(picked)) == n_en
    # more than the source text has: all of it, and a warning rather than a repeat (once: the
    # check run_cpt makes before the model loads says nothing)
    # (the warnings are caught at the logger's method: a logging config set by an earlier test in
    # this process, e.g. one that disables existing loggers, must not decide the test)
    import langadapt.train.pretrain as pretrain

    warned = []
    monkeypatch.setattr(pretrain.log, "warning", lambda msg, *args: warned.append(msg % args))
    assert len(mixed_blocks(ru, en, 0.9, warn=False)) == len(ru) + len(en) and not warned
    assert len(mixed_blocks(ru, en, 0.9)) == len(ru) + len(en)
    assert [w.split(";")[0] for w in warned] == [f"pretrain.source_share 0.90 asks for {round(len(ru) * 9)} source blocks"]
    empty = TokenShards(token_shards(byte_level_tok, ["too short"], tmp_path / "none"), 32)
    with pytest.raises(LangadaptError, match="pretrain.source_share 0.25: the source-language training text gives no full block of 32"):
        mixed_blocks(ru, empty, 0.25)

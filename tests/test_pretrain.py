import torch

from langadapt.pretrain import continued_pretraining


def test_cpt_trains_only_embeddings_and_lowers_loss(tmp_path, tiny_model, byte_level_tok, ru_docs):
    before = {n: p.detach().clone() for n, p in tiny_model.named_parameters()}
    m = continued_pretraining(
        tiny_model, byte_level_tok, ru_docs * 2, ru_docs[:40], tmp_path / "w", block_size=32, batch_size=8,
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

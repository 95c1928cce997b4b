import numpy as np
import pytest
import torch

from langadapt.errors import LangadaptError
from langadapt.overlap import compute_overlap
from langadapt.transfer import get_method, transfer_model
from langadapt.transfer.mean import mean_subtoken_init


def test_mean_of_subtokens_matches_definition():
    old = torch.randn(10, 4)
    offsets = np.array([0, 2, 3, 3, 6])
    subtokens = np.array([1, 2, 5, 0, 0, 9])
    new = mean_subtoken_init(old, offsets, subtokens)
    torch.testing.assert_close(new[0], (old[1] + old[2]) / 2)
    assert torch.equal(new[1], old[5])
    torch.testing.assert_close(new[2], old.mean(0))  # no mapping: mean of all rows
    torch.testing.assert_close(new[3], (2 * old[0] + old[9]) / 3)


def test_transfer_copies_shared_rows_bit_for_bit(tiny_model, byte_level_tok, spm_tok):
    ov = compute_overlap(byte_level_tok, spm_tok)
    ov["offsets"], ov["subtokens"] = np.asarray(ov["offsets"]), np.asarray(ov["subtokens"])
    old_in = tiny_model.get_input_embeddings().weight.detach().clone()
    old_out = tiny_model.get_output_embeddings().weight.detach().clone()
    inner = {n: p.detach().clone() for n, p in tiny_model.named_parameters() if "embed" not in n and "lm_head" not in n}
    transfer_model(tiny_model, spm_tok, ov, "mean")
    new_in = tiny_model.get_input_embeddings().weight
    new_out = tiny_model.get_output_embeddings().weight
    assert new_in.shape[0] == len(spm_tok) == tiny_model.config.vocab_size
    pairs = np.array(ov["shared"] + ov["specials"])
    assert torch.equal(new_in[pairs[:, 0]], old_in[pairs[:, 1]])
    assert torch.equal(new_out[pairs[:, 0]], old_out[pairs[:, 1]])
    for n, p in tiny_model.named_parameters():
        if n in inner:
            assert torch.equal(p, inner[n])
    assert tiny_model.config.bos_token_id == spm_tok.bos_token_id


def test_unknown_method_is_refused():
    with pytest.raises(LangadaptError, match="transfer method 'magic' is unknown"):
        get_method("magic")

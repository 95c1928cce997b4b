"""Greedy generation through a model's chat template (calibration answers, the causal-LM translator)."""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


@torch.no_grad()
def generate_replies(model, tok, prompts: list[str], max_new_tokens: int, batch_size: int = 16) -> list[str]:
    """Greedy replies to user prompts through the chat template, in left-padded batches."""
    model.eval()
    tok.padding_side = "left"
    if tok.pad_token is None:  # LLaMa-3 has none: the prompts are left-padded with eos, masked out
        tok.pad_token = tok.eos_token
    pad = tok.pad_token_id
    eos = model.generation_config.eos_token_id
    texts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
             for p in prompts]
    out = []
    for i in range(0, len(texts), batch_size):
        enc = tok(texts[i:i + batch_size], add_special_tokens=False, return_tensors="pt", padding=True).to(model.device)
        gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=eos,
                             pad_token_id=pad)
        out += tok.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        log.info("replies %d/%d", min(i + batch_size, len(texts)), len(texts))
    return [o.strip() for o in out]

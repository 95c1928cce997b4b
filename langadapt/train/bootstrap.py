"""Stand-ins for the real models, trained from scratch so every stage runs offline.

Bootstrap (`models.kind: bootstrap`): an English-centric byte-level BPE tokenizer (Russian
tokenizes badly, as with LLaMa-3), a tiny Llama-architecture base model trained on an
English-heavy mix, and an instruct variant made by SFT on templated English instructions with
a Llama-3-style chat template.

Rehearsal (`models.kind: rehearsal`): a real family's tokenizer, conventions and architecture
(vocab/families.py), shrunk in width and depth, trained the same way; the instruct model learns
its replies through the family's own chat template and ends its turns with the family's
end-of-turn token.
"""

from __future__ import annotations

import logging
import random
import shutil
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoConfig, AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir, read_json, read_lines
from langadapt.data.instructions import instruction_conversations
from langadapt.models.files import check_rows_fit
from langadapt.models.io import load_model, load_tokenizer, save_model
from langadapt.train.trainer import BlockDataset, pack_blocks, sft_examples, train, train_kwargs
from langadapt.vocab.families import ARCHITECTURE, get_family, rehearsal_config

log = logging.getLogger(__name__)

BOS, EOS, PAD = "<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"
CHAT_TOKENS = ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n{{ message['content'] | trim }}<|eot_id|>"
    "{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


def mix_documents(source_docs: list[str], target_docs: list[str], source_bytes: int, target_bytes: int, seed: int) -> list[str]:
    """An English-heavy training mix: byte budgets per language, shuffled deterministically."""
    def take(docs, budget):
        out, total = [], 0
        for d in docs:
            if total >= budget:
                break
            out.append(d)
            total += len(d.encode("utf-8"))
        return out

    mix = take(source_docs, source_bytes) + take(target_docs, target_bytes)
    random.Random(seed).shuffle(mix)
    if not mix:
        raise LangadaptError("models.bootstrap: the training mix is empty (check corpus sizes)")
    return mix


def train_byte_bpe(docs: list[str], vocab_size: int):
    """A GPT-2/LLaMa-3-style byte-level BPE tokenizer as a transformers fast tokenizer."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, EOS, PAD, *CHAT_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer=trainer)
    bos = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos)])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD)
    hf.model_max_length = 1 << 30
    return hf


def tiny_llama(tokenizer, hidden_size: int, layers: int, heads: int, intermediate_size: int, max_len: int, seed: int,
               tie_word_embeddings: bool = False):
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_len,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=tie_word_embeddings,
    )
    return LlamaForCausalLM(config)


def family_model(tokenizer, architecture: dict, seed: int, **sizes):
    """A real family's architecture (config.json fields), shrunk: its vocabulary rows (padding
    past the tokenizer included), tying, rope and norms as the family has them."""
    cfg = rehearsal_config(architecture, **sizes)
    rows = cfg.get("vocab_size") or len(tokenizer)
    check_rows_fit(f"architecture {cfg.get('model_type')}", len(tokenizer), rows)
    cfg.update(vocab_size=rows, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id)
    try:
        config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    except (KeyError, ValueError) as e:
        raise LangadaptError(f"architecture: {str(e).splitlines()[0]}") from None
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config)


def source_model_for(tokenizer, tokenizer_dir, arch: dict, seed: int):
    """The rehearsed family's architecture when the tokenizer directory names one, else a tiny Llama."""
    spec = Path(tokenizer_dir) / ARCHITECTURE
    if spec.is_file():
        sizes = {k: arch[k] for k in ("hidden_size", "layers", "heads", "intermediate_size", "max_len")}
        return family_model(tokenizer, read_json(spec), seed, **sizes)
    return tiny_llama(tokenizer, seed=seed, **arch)


# ---------------------------------------------------------------- stage entry points


def build_source_tokenizer(source_train, target_train, out_dir, *, vocab_size: int, source_bytes: int, target_bytes: int,
                           seed: int) -> None:
    mix = mix_documents(read_lines(source_train), read_lines(target_train), source_bytes, target_bytes, seed)
    tok = train_byte_bpe(mix, vocab_size)
    with atomic_dir(out_dir) as tmp:
        tok.save_pretrained(tmp)


def build_base_model(tokenizer_dir, source_train, target_train, out_dir, *, arch: dict, train_cfg: dict, source_bytes: int,
                     target_bytes: int, seed: int) -> None:
    """The stand-in for LLaMa-3-8B: a tiny Llama trained from scratch on the English-heavy mix."""
    mix = mix_documents(read_lines(source_train), read_lines(target_train), source_bytes, target_bytes, seed)
    _pretrain_from_scratch(tokenizer_dir, mix, out_dir, arch, train_cfg, seed, "models.bootstrap")


def build_plm(tokenizer_dir, target_train, out_dir, *, arch: dict, train_cfg: dict, seed: int) -> None:
    """The stand-in for a Russian PLM (LET/SALT's donor): a tiny Llama of another width, trained
    from scratch on Russian text only with a new vocabulary variant's tokenizer."""
    docs = read_lines(target_train)
    random.Random(seed).shuffle(docs)
    _pretrain_from_scratch(tokenizer_dir, docs, out_dir, arch, train_cfg, seed, "transfer.plm")


def _pretrain_from_scratch(tokenizer_dir, docs: list[str], out_dir, arch: dict, train_cfg: dict, seed: int,
                           key: str) -> None:
    tok = load_tokenizer(tokenizer_dir)
    blocks = pack_blocks(tok, docs, train_cfg["block_size"], train_cfg.get("max_tokens"))
    if len(blocks) == 0:
        raise LangadaptError(f"{key}: the training text gives no full block of {train_cfg['block_size']} tokens")
    model = source_model_for(tok, tokenizer_dir, arch, seed)
    log.info("%s: %d params, %d blocks of %d tokens", key, model.num_parameters(), len(blocks), blocks.shape[1])
    with atomic_dir(out_dir) as tmp:
        train(model, BlockDataset(blocks), tmp / "trainer", seed=seed, loss_csv=tmp / "loss.csv",
              tokens_per_example=blocks.shape[1], **train_kwargs(train_cfg))
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        save_model(model, tok, tmp)


def build_instruct_model(base_dir, source_train, out_dir, *, n_examples: int, max_len: int, train_cfg: dict,
                         seed: int, lang, family: str | None = None) -> None:
    """The stand-in for the instruct model: full SFT of the base on templated instructions in the
    source language `lang` (a code or profile),
    through the family's chat template (the bootstrap's Llama-3-style one without a family)."""
    model = load_model(base_dir)
    tok = load_tokenizer(base_dir)
    if family is None:
        tok.chat_template = CHAT_TEMPLATE
        tok.eos_token = CHAT_TOKENS[-1]
    else:
        spec = get_family(family)
        tok.chat_template = tok.chat_template or spec.get("chat_template")
        if not tok.chat_template:
            raise LangadaptError(f"model family '{family}': the tokenizer has no chat template to tune the instruct "
                                 "model with")
        tok.eos_token = spec["end_of_turn"]
    convs = instruction_conversations(read_lines(source_train), n_examples, seed, lang=lang)
    ids, labels = sft_examples(tok, convs, max_len)
    with atomic_dir(out_dir) as tmp:
        train(model, BlockDataset(ids, labels), tmp / "trainer", seed=seed, loss_csv=tmp / "loss.csv",
              tokens_per_example=max_len, **train_kwargs(train_cfg))
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        model.generation_config.eos_token_id = tok.eos_token_id
        model.generation_config.pad_token_id = tok.pad_token_id
        save_model(model, tok, tmp)

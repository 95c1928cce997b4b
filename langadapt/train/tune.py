"""After propagation (LEP §2.4.2–2.4.3): self-calibration and continued instruction tuning.

Self-calibration: the original instruct model answers target-language prompts greedily, and
the propagated model learns those answers. Continued instruction tuning: target-language
instructions plus copy-task examples. Both are LoRA fine-tunes (peft) merged back into a
plain model directory, so lm-eval and vLLM load the result as they load any model.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from langadapt.core import launch
from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir, read_lines, write_json
from langadapt.data.instructions import instruction_conversations
from langadapt.models.generate import generate_replies
from langadapt.models.io import embedding_matrices, load_chat_model, save_model
from langadapt.train.trainer import BlockDataset, full_state_dict, is_sharded, sft_examples, train, train_kwargs

log = logging.getLogger(__name__)


def _write_conversations(path, convs: list[list[dict]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for c in convs:
            f.write(json.dumps({"messages": c}, ensure_ascii=False) + "\n")


def read_conversations(path) -> list[list[dict]]:
    with open(path, encoding="utf-8") as f:
        convs = [json.loads(line)["messages"] for line in f if line.strip()]
    if not convs:
        raise LangadaptError(f"{path}: no conversations to train on")
    return convs


def build_calibration_data(instruct_dir, docs_path, out_jsonl, *, n: int, lang: str, max_chars: int,
                           max_new_tokens: int, batch_size: int, seed: int, trust_remote_code: bool = False) -> dict:
    """The original instruct model's greedy answers to n templated prompts over target text."""
    prompts = [c[0]["content"] for c in instruction_conversations(read_lines(docs_path), n, seed, max_chars, lang=lang)]
    model, tok = load_chat_model(instruct_dir, trust_remote_code, "calibrate", inference=True)
    replies = generate_replies(model, tok, prompts, max_new_tokens, batch_size)
    convs = [[{"role": "user", "content": p}, {"role": "assistant", "content": r}]
             for p, r in zip(prompts, replies) if r]
    stats = {"prompts": len(prompts), "answered": len(convs), "empty": len(prompts) - len(convs)}
    if not convs:
        raise LangadaptError(f"calibrate: the instruct model {instruct_dir} answered none of {len(prompts)} prompts")
    _write_conversations(out_jsonl, convs)
    write_json(Path(out_jsonl).with_suffix(".stats.json"), stats)
    log.info("calibration data: %s", stats)
    return stats


def build_sft_data(docs_path, out_jsonl, *, n: int, lang: str, copy_fraction: float, copy_instruction: str,
                   max_chars: int, seed: int) -> None:
    """Target-language templated instructions, `copy_fraction` of them copy-task examples."""
    convs = instruction_conversations(read_lines(docs_path), n, seed, max_chars, lang=lang,
                                        copy_instruction=copy_instruction, copy_fraction=copy_fraction)
    _write_conversations(out_jsonl, convs)


def is_tied(model) -> bool:
    return embedding_matrices(model)[1] is None


def lora_config(model, lora: dict):
    """peft LoraConfig from the config's `lora` block: rank, alpha, dropout, target modules, which
    layers (all, or first_last as in LEP's calibration), and whether the embeddings train fully."""

    n_layers = model.config.num_hidden_layers
    layers = None if lora["layers"] == "all" else sorted({0, n_layers - 1})
    # a tied model's one matrix trains in place (lora_finetune): peft's modules_to_save would train a
    # copy for each side and leave the merged model untied (Qwen3, Gemma)
    save = ["embed_tokens", "lm_head"] if lora["train_embeddings"] and not is_tied(model) else None
    return LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                      target_modules=list(lora["targets"]), layers_to_transform=layers,
                      layers_pattern="layers" if layers else None, modules_to_save=save, task_type="CAUSAL_LM")


def lora_finetune(model_dir, data_jsonl, out_dir, *, lora: dict, train_cfg: dict, max_len: int, seed: int,
                  trust_remote_code: bool = False) -> None:
    """LoRA SFT of `model_dir` on chat conversations (loss on the replies), merged; loss.csv kept."""
    convs = read_conversations(data_jsonl)  # before loading the model
    model, tok = load_chat_model(model_dir, trust_remote_code, "instruction tuning")
    ids, labels = sft_examples(tok, convs, max_len)
    tied = is_tied(model)
    peft_model = get_peft_model(model, lora_config(model, lora))
    if lora["train_embeddings"] and tied:
        peft_model.get_input_embeddings().weight.requires_grad_(True)
    trainable, total = peft_model.get_nb_trainable_parameters()
    log.info("LoRA: %d of %d parameters train, %d examples", trainable, total, len(ids))
    with launch.output_dir(out_dir, atomic_dir) as tmp:
        train(peft_model, BlockDataset(ids, labels), tmp / "trainer", seed=seed, loss_csv=tmp / "loss.csv",
              tokens_per_example=max_len, **train_kwargs(train_cfg))
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        if is_sharded(peft_model):
            peft_model = gathered_lora_model(peft_model)
        if peft_model is not None:  # None: a rank other than 0 of a sharded run
            save_model(peft_model.merge_and_unload(), tok, tmp)


def gathered_lora_model(peft_model):
    """On rank 0, an unsharded copy of a LoRA model that FSDP sharded (every rank must call
    this; the others get None): its whole state dict gathered into CPU memory, then assigned
    to the same architecture with the same adapters built without memory (meta device), so
    peft merges it as it merges any LoRA model."""
    sd = full_state_dict(peft_model)
    if sd is None:
        return None
    config, adapters = peft_model.get_base_model().config, peft_model.peft_config["default"]
    with torch.device("meta"):
        plain = get_peft_model(AutoModelForCausalLM.from_config(config), adapters)
    missing = plain.load_state_dict(sd, assign=True, strict=False).missing_keys
    plain.get_base_model().tie_weights()  # a tied pair was gathered once, by its first name
    untied = [k for k in missing if getattr(plain.get_parameter(k), "is_meta", False)]
    if untied:
        raise LangadaptError(f"instruction tuning: the gathered model lacks {len(untied)} weights ({untied[0]}, ...)")
    return plain

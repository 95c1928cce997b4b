"""Config validation: defaults come from the schema (the paper's settings where it has them), a bad
value names its key, and the plans (initializations per vocabulary, propagations, tuned models)
follow the config."""

from pathlib import Path

import pytest
import yaml

from langadapt.core.errors import LangadaptError
from langadapt.workflow import validate_config

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "config.schema.yaml"


def load(name):
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize("name", ["config.yaml", "configs/smoke.yaml"])
def test_shipped_configs_validate_and_get_defaults(name):
    cfg = validate_config(load(name), SCHEMA)
    assert cfg["pretrain"]["grad_accum"] == 1  # filled from the schema
    assert cfg["models"]["hf"]["base"].startswith("meta-llama/")
    assert cfg["lep"]["methods"] == ["swap", "overlap", "conversion"]


def test_minimal_config_gets_every_default():
    cfg = validate_config({"corpus": {"sources": {"x": {"kind": "files", "lang": "ru", "paths": ["a.txt"]}}}}, SCHEMA)
    assert cfg["tokenizer"]["variants"] == {"bpe": {"kind": "bpe", "size": 8000}}
    assert cfg["resources"]["gpu_rules"]["gpu"] == 0
    # LEP §2.4.2-2.4.3 (arXiv:2412.21140) as the defaults
    cal, tune = cfg["calibrate"], cfg["instruct_tune"]
    assert (cal["lora"]["r"], cal["lora"]["alpha"], cal["train"]["lr"], cal["train"]["weight_decay"]) == (8, 1, 2.5e-5, 0.1)
    assert cal["lora"]["layers"] == "first_last" and cal["lora"]["train_embeddings"] and cal["train"]["epochs"] == 1
    assert (tune["lora"]["r"], tune["lora"]["alpha"], tune["train"]["lr"], tune["train"]["weight_decay"]) == (32, 16, 5e-5, 0.05)
    assert tune["lora"]["layers"] == "all" and not tune["lora"]["train_embeddings"] and tune["copy_fraction"] > 0


def test_lep_plan_table3_on_the_main_inits_one_propagation_for_the_comparison():
    from langadapt.workflow import lep_plan, transfer_plan

    cfg = validate_config(load("config.yaml"), SCHEMA)
    props, tuned = lep_plan(cfg, transfer_plan(cfg))
    assert sorted(p for v, i, p in props if (v, i) == ("unigram", "mean")) == ["conversion", "overlap", "swap"]
    assert [p for v, i, p in props if (v, i) == ("bpe", "salt")] == ["conversion"]
    assert len(props) == 4 * 3 + 6 and tuned == [(v, "mean", "conversion") for v in cfg["tokenizer"]["variants"]]
    cfg["lep"]["tune"] = "overlap"
    cfg["lep"]["methods"] = ["swap"]
    with pytest.raises(LangadaptError, match="'lep.tune'"):
        lep_plan(cfg, transfer_plan(cfg))
    cfg["lep"]["methods"] = ["swap", "overlap"]
    cfg["calibrate"]["enabled"] = cfg["instruct_tune"]["enabled"] = False
    assert lep_plan(cfg, transfer_plan(cfg))[1] == []


@pytest.mark.parametrize(
    "patch, key",
    [
        ({"pretrain": {"lr": -1}}, "pretrain.lr"),
        ({"pretrain": {"batch_size": "big"}}, "pretrain.batch_size"),
        ({"transfer": {"methods": ["magic"]}}, "transfer.methods.0"),
        ({"evaluate": {"max_doc": 3}}, "evaluate.max_doc"),
        ({"tokenizer": {"variants": {"bpe": {"kind": "bpe", "size": 0}}}}, "tokenizer.variants.bpe.size"),
        ({"pretrain": {"save_steps": 15, "logging_steps": 10}}, "pretrain.save_steps"),
    ],
)
def test_bad_value_names_the_key(patch, key):
    cfg = load("configs/smoke.yaml")
    for section, value in patch.items():
        cfg.setdefault(section, {}).update(value)
    with pytest.raises(LangadaptError, match=f"config key '{key}'"):
        validate_config(cfg, SCHEMA)


def plan(**transfer):
    from langadapt.workflow import transfer_plan

    cfg = load("configs/smoke.yaml")
    cfg["transfer"] = transfer
    return transfer_plan(validate_config(cfg, SCHEMA)), cfg


def test_transfer_plan_adds_the_comparison_on_one_vocabulary():
    p, cfg = plan(methods=["mean"], compare={"vocab": "bpe", "methods": ["random", "mean", "let", "salt"]})
    assert p == {"bpe": ["mean", "random", "let", "salt"], "extended": ["mean"]}
    assert cfg["transfer"]["plm"]["vocab"] == "bpe"  # the PLM takes the compared vocabulary


@pytest.mark.parametrize(
    "transfer, message",
    [
        ({"methods": ["let"], "plm": {"vocab": "bpe"}}, "'transfer.methods': let/salt/omp map from the PLM's vocabulary 'bpe' only, not 'extended'"),
        ({"methods": ["mean"], "compare": {"vocab": "nope", "methods": ["focus"]}},
         "'transfer.compare.vocab': 'nope' is not a tokenizer variant"),
        ({"methods": ["mean"], "compare": {"vocab": "bpe", "methods": ["salt"]}, "plm": {"kind": "hf"}},
         "'transfer.plm.hub_id'"),
        ({"methods": ["salt"], "plm": {"vocab": "unknown"}}, "'transfer.plm.vocab'"),
        ({"methods": ["wechsel"], "wechsel": {"corpus": "parallel"}}, "'transfer.wechsel.corpus': 'parallel' needs"),
    ],
)
def test_bad_transfer_plan_names_the_key(transfer, message):
    with pytest.raises(LangadaptError, match=message.replace("(", r"\(")):
        plan(**transfer)


def test_plm_tokenizer_kind_needs_an_hf_plm_on_that_variant():
    from langadapt.workflow import transfer_plan

    cfg = load("configs/smoke.yaml")
    cfg["tokenizer"]["variants"]["rugpt"] = {"kind": "plm"}
    with pytest.raises(LangadaptError, match="'tokenizer.variants.rugpt.kind': 'plm' takes the tokenizer of an hf PLM"):
        transfer_plan(validate_config(cfg, SCHEMA))
    cfg["transfer"] = {"methods": ["mean"], "compare": {"vocab": "rugpt", "methods": ["let"]},
                       "plm": {"kind": "hf", "hub_id": "org/ru-plm"}}
    assert transfer_plan(validate_config(cfg, SCHEMA))["rugpt"] == ["mean", "let"]

from pathlib import Path

import pytest
import yaml

from langadapt.config import validate_config
from langadapt.errors import LangadaptError

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "config.schema.yaml"


def load(name):
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize("name", ["config.yaml", "configs/smoke.yaml"])
def test_shipped_configs_validate_and_get_defaults(name):
    cfg = validate_config(load(name), SCHEMA)
    assert cfg["pretrain"]["grad_accum"] == 1  # filled from the schema
    assert cfg["models"]["hf"]["base"].startswith("meta-llama/")
    assert cfg["lep"]["methods"] == ["swap"]


def test_minimal_config_gets_every_default():
    cfg = validate_config({"corpus": {"sources": {"x": {"kind": "files", "lang": "ru", "paths": ["a.txt"]}}}}, SCHEMA)
    assert cfg["tokenizer"]["variants"] == {"bpe": {"kind": "bpe", "size": 8000}}
    assert cfg["resources"]["gpu_rules"]["gpu"] == 0


@pytest.mark.parametrize(
    "patch, key",
    [
        ({"pretrain": {"lr": -1}}, "pretrain.lr"),
        ({"pretrain": {"batch_size": "big"}}, "pretrain.batch_size"),
        ({"transfer": {"methods": ["magic"]}}, "transfer.methods.0"),
        ({"evaluate": {"max_doc": 3}}, "evaluate.max_doc"),
        ({"tokenizer": {"variants": {"bpe": {"kind": "bpe", "size": 0}}}}, "tokenizer.variants.bpe.size"),
    ],
)
def test_bad_value_names_the_key(patch, key):
    cfg = load("configs/smoke.yaml")
    for section, value in patch.items():
        cfg.setdefault(section, {}).update(value)
    with pytest.raises(LangadaptError, match=f"config key '{key}'"):
        validate_config(cfg, SCHEMA)


def plan(**transfer):
    from langadapt.config import transfer_plan

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
        ({"methods": ["let"], "plm": {"vocab": "bpe"}}, "'transfer.methods': let/salt map from the PLM's vocabulary 'bpe' only, not 'extended'"),
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
    from langadapt.config import transfer_plan

    cfg = load("configs/smoke.yaml")
    cfg["tokenizer"]["variants"]["rugpt"] = {"kind": "plm"}
    with pytest.raises(LangadaptError, match="'tokenizer.variants.rugpt.kind': 'plm' takes the tokenizer of an hf PLM"):
        transfer_plan(validate_config(cfg, SCHEMA))
    cfg["transfer"] = {"methods": ["mean"], "compare": {"vocab": "rugpt", "methods": ["let"]},
                       "plm": {"kind": "hf", "hub_id": "org/ru-plm"}}
    assert transfer_plan(validate_config(cfg, SCHEMA))["rugpt"] == ["mean", "let"]

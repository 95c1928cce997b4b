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

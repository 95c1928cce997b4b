"""The one list of embedding initializations (light: the Snakefile reads it when it starts).

Each name is a module `langadapt.transfer.{name}` with `init(old_in, old_out, overlap, aux=None,
**params) -> (new_in, new_out)`, and what it needs beyond the source model: nothing, auxiliary
token vectors (`aux/{name}/{vocab}.npz`, made by the vectors rule of that name) or the
target-language PLM (`models/plm`). The schema's `init_method` enum is checked against it
(tests/test_layout.py); the rules' `{init}` wildcard comes from the config, validated by it.
"""

from __future__ import annotations

import importlib

from langadapt.core.errors import LangadaptError

# name -> what the method needs beyond the source model: None, "vectors" or "plm"
METHODS = {
    "random": None,  # N(mean, covariance) of the source rows
    "mean": None,  # mean of the source subtokens' rows (LEP eq. 1-2)
    "focus": "vectors",  # sparsemax over shared tokens in target-text fastText space
    "wechsel": "vectors",  # softmax over the k nearest source tokens in aligned word space
    "let": "plm",  # a linear map from the PLM's embedding space, fitted on shared tokens
    "salt": "plm",  # local ridge maps from the PLM's space, per token
    "omp": "plm",  # sparse combinations of shared tokens found in the PLM's space (orthogonal matching pursuit)
}
PLM_METHODS = tuple(m for m, need in METHODS.items() if need == "plm")


def module_name(name: str) -> str:
    """The module that implements initialization `name`."""
    if name not in METHODS:
        raise LangadaptError(f"transfer method '{name}' is unknown; choose from {', '.join(METHODS)}")
    return f"langadapt.transfer.{name}"


def get_method(name: str):
    """The `init` function of initialization `name` (imports only that method's module)."""
    return importlib.import_module(module_name(name)).init

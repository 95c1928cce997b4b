"""What each embedding initialization needs beyond the source model, for DAG planning (no torch)."""

# auxiliary token vectors (focus, wechsel) or the target-language PLM (let, salt)
METHOD_INPUTS = {"focus": "vectors", "wechsel": "vectors", "let": "plm", "salt": "plm"}
PLM_METHODS = tuple(m for m, need in METHOD_INPUTS.items() if need == "plm")

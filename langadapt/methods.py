"""What each initialization needs beyond the source model, shared by the transfer code and the
DAG planning (kept apart so that editing the planning does not re-run every transfer)."""

METHOD_INPUTS = {"focus": "vectors", "wechsel": "vectors", "let": "plm", "salt": "plm"}
PLM_METHODS = tuple(m for m, need in METHOD_INPUTS.items() if need == "plm")

TRANSFER_LIB = {
    "focus": ["combine", "random"],
    "wechsel": ["combine", "random"],
    "salt": ["let"],
}


def transfer_inputs(wildcards):
    """The base model, new tokenizer and overlap, plus what this method needs (vectors or the PLM)."""
    m = wildcards.init
    mods = ["transfer/__init__", f"transfer/{m}"] + [
        f"transfer/{d}" for d in TRANSFER_LIB.get(m, [])
    ]
    inputs = {
        "base": f"{R}/models/source/base",
        "tokenizer": f"{R}/tokenizers/{wildcards.vocab}",
        "overlap": f"{R}/overlap/{wildcards.vocab}.json",
        "lib": lib("models", "overlap", "static_vectors", *mods),
    }
    if m in ("focus", "wechsel"):
        inputs["vectors"] = f"{R}/aux/{m}/{wildcards.vocab}.npz"
    if m in ("let", "salt"):
        inputs["plm"] = f"{R}/models/plm"
    return inputs


rule transfer:
    input:
        unpack(transfer_inputs),
    output:
        directory(f"{R}/init/{{vocab}}/{{init}}"),
    log:
        f"{R}/logs/transfer/{{vocab}}/{{init}}.log",
    benchmark:
        f"{R}/benchmarks/transfer/{{vocab}}/{{init}}.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
    params:
        cfg=lambda w: {**config["transfer"][w.init], "seed": config["seed"]},
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/transfer.py"

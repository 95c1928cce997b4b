rule calibration_data:
    input:
        instruct=f"{R}/models/source/instruct",
        docs=f"{R}/corpus/{TARGET}/train.txt",
        lib=lib("tune", "instructions", "models"),
    output:
        f"{R}/instructions/calibration.jsonl",
    log:
        f"{R}/logs/calibration_data.log",
    benchmark:
        f"{R}/benchmarks/calibration_data.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        gpu=GPU["gpu"],
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
    params:
        cfg={
            k: v for k, v in CALIBRATE.items() if k not in ("lora", "train", "max_len")
        },
        seed=config["seed"],
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/calibration_data.py"


rule sft_data:
    input:
        docs=f"{R}/corpus/{TARGET}/train.txt",
        lib=lib("tune", "instructions"),
    output:
        f"{R}/instructions/sft.jsonl",
    log:
        f"{R}/logs/sft_data.log",
    benchmark:
        f"{R}/benchmarks/sft_data.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        n=SFT["examples"],
        lang=SFT["lang"],
        copy_fraction=SFT["copy_fraction"],
        copy_instruction=config["evaluate"]["copy"]["instruction"],
        max_chars=SFT["max_chars"],
        seed=config["seed"],
    script:
        "../scripts/sft_data.py"


rule calibrate:
    input:
        model=f"{R}/lep/{{vocab}}/{{init}}/{{prop}}",
        data=f"{R}/instructions/calibration.jsonl",
        lib=lib("tune", "train", "models"),
    output:
        directory(f"{R}/calibrated/{{vocab}}/{{init}}/{{prop}}"),
    log:
        f"{R}/logs/calibrate/{{vocab}}/{{init}}/{{prop}}.log",
    benchmark:
        f"{R}/benchmarks/calibrate/{{vocab}}/{{init}}/{{prop}}.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        gpu=GPU["gpu"],
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
    params:
        lora=CALIBRATE["lora"],
        train=CALIBRATE["train"],
        max_len=CALIBRATE["max_len"],
        seed=config["seed"],
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/lora_finetune.py"


rule sft:
    input:
        model=f"{R}/{SFT_FROM}/{{vocab}}/{{init}}/{{prop}}",
        data=f"{R}/instructions/sft.jsonl",
        lib=lib("tune", "train", "models"),
    output:
        directory(f"{R}/sft/{{vocab}}/{{init}}/{{prop}}"),
    log:
        f"{R}/logs/sft/{{vocab}}/{{init}}/{{prop}}.log",
    benchmark:
        f"{R}/benchmarks/sft/{{vocab}}/{{init}}/{{prop}}.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        gpu=GPU["gpu"],
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
    params:
        lora=SFT["lora"],
        train=SFT["train"],
        max_len=SFT["max_len"],
        seed=config["seed"],
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/lora_finetune.py"

rule calibration_data:
    input:
        instruct=f"{R}/models/source/instruct",
        docs=f"{R}/corpus/{TARGET}/train.txt",
        lib=library("calibration_data.py"),
    output:
        f"{R}/instructions/calibration.jsonl",
    log:
        f"{R}/logs/calibration_data.log",
    benchmark:
        f"{R}/benchmarks/calibration_data.tsv"
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        gpu=GPU["gpu"],
        cpus_per_gpu=GPU["cpus_per_gpu"],
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


rule instruct_tune_data:
    input:
        docs=f"{R}/corpus/{TARGET}/train.txt",
        lib=library("instruct_tune_data.py"),
    output:
        f"{R}/instructions/instruct_tune.jsonl",
    log:
        f"{R}/logs/instruct_tune_data.log",
    benchmark:
        f"{R}/benchmarks/instruct_tune_data.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        n=TUNE["examples"],
        lang=TUNE["lang"],
        copy_fraction=TUNE["copy_fraction"],
        copy_instruction=config["evaluate"]["copy"]["instruction"],
        max_chars=TUNE["max_chars"],
        seed=config["seed"],
    script:
        "../scripts/instruct_tune_data.py"


rule calibrate:
    input:
        model=f"{R}/lep/{{vocab}}/{{init}}/{{prop}}",
        data=f"{R}/instructions/calibration.jsonl",
        lib=library("lora_finetune.py"),
    output:
        directory(f"{R}/calibrated/{{vocab}}/{{init}}/{{prop}}"),
    log:
        f"{R}/logs/calibrate/{{vocab}}/{{init}}/{{prop}}.log",
    benchmark:
        f"{R}/benchmarks/calibrate/{{vocab}}/{{init}}/{{prop}}.tsv"
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        gpu=GPU["gpu"],
        cpus_per_gpu=GPU["cpus_per_gpu"],
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
        processes=GPU["processes"],
    params:
        lora=CALIBRATE["lora"],
        train=CALIBRATE["train"],
        max_len=CALIBRATE["max_len"],
        seed=config["seed"],
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/lora_finetune.py"


rule instruct_tune:
    input:
        model=f"{R}/{TUNE_FROM}/{{vocab}}/{{init}}/{{prop}}",
        data=f"{R}/instructions/instruct_tune.jsonl",
        lib=library("lora_finetune.py"),
    output:
        directory(f"{R}/instruct_tuned/{{vocab}}/{{init}}/{{prop}}"),
    log:
        f"{R}/logs/instruct_tune/{{vocab}}/{{init}}/{{prop}}.log",
    benchmark:
        f"{R}/benchmarks/instruct_tune/{{vocab}}/{{init}}/{{prop}}.tsv"
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        gpu=GPU["gpu"],
        cpus_per_gpu=GPU["cpus_per_gpu"],
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
        processes=GPU["processes"],
    params:
        lora=TUNE["lora"],
        train=TUNE["train"],
        max_len=TUNE["max_len"],
        seed=config["seed"],
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/lora_finetune.py"

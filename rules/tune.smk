rule calibration_data:
    input:
        instruct=source_model("instruct"),
        docs=sample_text(TARGET),
        lib=library("calibration_data.py"),
    output:
        f"{R}/instructions/calibration.jsonl",
    log:
        log_of("calibration_data"),
    benchmark:
        benchmark_of("calibration_data")
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        **resources_for("gpu"),
    params:
        cfg={
            k: v for k, v in CALIBRATE.items() if k not in ("lora", "train", "max_len")
        },
        lang=PROFILES[CALIBRATE["lang"]],
        seed=config["seed"],
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/calibration_data.py"


rule instruct_tune_data:
    input:
        docs=sample_text(TARGET),
        lib=library("instruct_tune_data.py"),
    output:
        f"{R}/instructions/instruct_tune.jsonl",
    log:
        log_of("instruct_tune_data"),
    benchmark:
        benchmark_of("instruct_tune_data")
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        **resources_for("light"),
    params:
        n=TUNE["examples"],
        lang=PROFILES[TUNE["lang"]],
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
        log_of("calibrate/{vocab}/{init}/{prop}"),
    benchmark:
        benchmark_of("calibrate/{vocab}/{init}/{prop}")
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        **resources_for("train"),
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
        log_of("instruct_tune/{vocab}/{init}/{prop}"),
    benchmark:
        benchmark_of("instruct_tune/{vocab}/{init}/{prop}")
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        **resources_for("train"),
    params:
        lora=TUNE["lora"],
        train=TUNE["train"],
        max_len=TUNE["max_len"],
        seed=config["seed"],
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/lora_finetune.py"

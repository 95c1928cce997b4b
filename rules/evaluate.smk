rule eval_tasks:
    input:
        heldout=expand(f"{R}/corpus/{{lang}}/heldout.txt", lang=LANGS),
        templates=[
            f"tasks/{t}"
            for t in (
                "bits_per_byte.yaml",
                "multiple_choice.yaml",
                "copy.yaml",
                "copy_metrics.py",
                "response_language.yaml",
                "lang_metrics.py",
            )
        ],
        source_tokenizer=SOURCE_TOKENIZER,
        lib=library("eval_tasks.py"),
    output:
        directory(f"{R}/eval/tasks"),
    log:
        log_of("eval_tasks"),
    benchmark:
        benchmark_of("eval_tasks")
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        **resources_for("light"),
    params:
        langs=LANGS,
        max_docs=config["evaluate"]["max_docs"],
        mc_docs=config["evaluate"]["mc_docs"],
        copy_task=config["evaluate"]["copy"],
        lang_docs=config["evaluate"]["lang_docs"],
        builtin=config["evaluate"]["builtin"],
        profiles=PROFILES,
        seed=config["seed"],
    script:
        "../scripts/eval_tasks.py"


# lm-eval jobs: one per model (a cluster evaluates them side by side), or one per stage
# (evaluate.one_job_per: stage), where start-up, not the models, is most of the time
EVAL_INPUT = dict(
    tasks=f"{R}/eval/tasks",
    heldout=expand(f"{R}/corpus/{{lang}}/heldout.txt", lang=LANGS),
)
EVAL_PARAMS = dict(
    langs=LANGS,
    batch_size=config["evaluate"]["batch_size"],
    max_docs=config["evaluate"]["max_docs"],
    limit=config["evaluate"]["limit"],
    trust_remote_code=config["models"]["trust_remote_code"],
)


if config["evaluate"]["one_job_per"] == "model":

    rule evaluate:
        input:
            **EVAL_INPUT,
            models=lambda w: [model_dir(w.model)],
            lib=library("evaluate.py", "langadapt.eval.metrics"),  # metrics: through tasks/*_metrics.py
        output:
            f"{R}/eval/{{model}}.json",
        log:
            log_of("evaluate/{model}"),
        benchmark:
            benchmark_of("evaluate/{model}")
        wildcard_constraints:
            model=r"source/(base|instruct)|(init|cpt)/[^/]+/[^/]+|(lep|calibrated|instruct_tuned)/[^/]+/[^/]+/[^/]+|(sft|clo)/\d+",
        conda:
            "../envs/langadapt.yaml"
        threads: EVAL_THREADS
        resources:
            **resources_for("gpu"),
        params:
            **EVAL_PARAMS,
            instruct=lambda w: [is_instruct(w.model)],
        script:
            "../scripts/evaluate.py"

else:
    for _stage, _keys in eval_stages().items():

        rule:
            name:
                f"evaluate_{_stage}"
            input:
                **EVAL_INPUT,
                models=[model_dir(k) for k in _keys],
                lib=library("evaluate.py", "langadapt.eval.metrics"),  # metrics: through tasks/*_metrics.py
            output:
                [f"{R}/eval/{k}.json" for k in _keys],
            log:
                log_of(f"evaluate/{_stage}"),
            benchmark:
                benchmark_of(f"evaluate/{_stage}")
            conda:
                "../envs/langadapt.yaml"
            threads: EVAL_THREADS
            resources:
                **resources_for("gpu"),
            params:
                **EVAL_PARAMS,
                instruct=[is_instruct(k) for k in _keys],
            script:
                "../scripts/evaluate.py"

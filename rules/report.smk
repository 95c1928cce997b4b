rule report:
    input:
        evals=expand(f"{R}/eval/{{model}}.json", model=model_keys()),
        cpt=expand(f"{R}/cpt/{{vocab}}/{{init}}", vocab=VOCABS, init=INITS),
        lib=lib("report"),
    output:
        csv=f"{R}/report/summary.csv",
        md=f"{R}/report/summary.md",
        loss=f"{R}/report/figures/cpt_loss.png",
    log:
        f"{R}/logs/report.log",
    benchmark:
        f"{R}/benchmarks/report.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        models=model_keys(),
        curves=[f"{v}/{i}" for v in VOCABS for i in INITS],
        title=f"langadapt — {config['experiment']}",
    script:
        "../scripts/report.py"

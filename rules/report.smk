rule report:
    input:
        evals=expand(f"{R}/eval/{{model}}.json", model=model_keys()),
        cpt=[f"{R}/cpt/{v}/{i}" for v, i in PAIRS],
        tokenizers=expand(f"{R}/tokenizers/{{vocab}}", vocab=VOCABS),
        translation=(f"{R}/translate/stats.json" if config["clo"]["enabled"] else []),
        # the manifest hashes every result file, so the report runs last
        corpus_stats=f"{R}/corpus/stats.json",
        lib=library("report.py"),
    output:
        **(
            {
                "clo_csv": f"{R}/report/clo.csv",
                "translation_csv": f"{R}/report/translation.csv",
                "clo_png": f"{R}/report/figures/clo.png",
            }
            if config["clo"]["enabled"]
            else {}
        ),
        csv=f"{R}/report/summary.csv",
        md=f"{R}/report/summary.md",
        loss=f"{R}/report/figures/cpt_loss.png",
        tokenizers_csv=f"{R}/report/tokenizers.csv",
        tokenizers_png=f"{R}/report/figures/tokenizer_efficiency.png",
        transfer_csv=f"{R}/report/transfer.csv",
        transfer_png=f"{R}/report/figures/init_comparison.png",
        lep_csv=f"{R}/report/lep.csv",
        tune_csv=f"{R}/report/tune.csv",
        lep_png=f"{R}/report/figures/lep.png",
        manifest=f"{R}/report/manifest.tsv",
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
        curves=[f"{v}/{i}" for v, i in PAIRS],
        vocabs=VOCABS,
        langs=LANGS,
        compare_vocab=max(VOCABS, key=lambda v: len(PLAN[v])),
        root=lambda w, output: Path(output.manifest).parent.parent,
        # not the experiment's name: twin experiments give the same bytes (tests/test_reliability.py)
        title="langadapt: every evaluated model",
    script:
        "../scripts/report.py"

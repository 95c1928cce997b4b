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
                "clo_csv": report(
                    f"{R}/report/clo.csv",
                    caption="../report/clo_table.rst",
                    category="Tables",
                ),
                "translation_csv": report(
                    f"{R}/report/translation.csv",
                    caption="../report/translation.rst",
                    category="Tables",
                ),
                "clo_png": report(
                    f"{R}/report/figures/clo.png",
                    caption="../report/clo.rst",
                    category="Figures",
                ),
            }
            if config["clo"]["enabled"]
            else {}
        ),
        csv=report(
            f"{R}/report/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
        ),
        md=f"{R}/report/summary.md",
        loss=report(
            f"{R}/report/figures/cpt_loss.png",
            caption="../report/cpt_loss.rst",
            category="Figures",
        ),
        tokenizers_csv=report(
            f"{R}/report/tokenizers.csv",
            caption="../report/tokenizers.rst",
            category="Tables",
        ),
        tokenizers_png=report(
            f"{R}/report/figures/tokenizer_efficiency.png",
            caption="../report/tokenizer_efficiency.rst",
            category="Figures",
        ),
        transfer_csv=report(
            f"{R}/report/transfer.csv",
            caption="../report/transfer.rst",
            category="Tables",
        ),
        transfer_png=report(
            f"{R}/report/figures/init_comparison.png",
            caption="../report/init_comparison.rst",
            category="Figures",
        ),
        lep_csv=report(
            f"{R}/report/lep.csv", caption="../report/lep_table.rst", category="Tables"
        ),
        tune_csv=report(
            f"{R}/report/tune.csv", caption="../report/tune.rst", category="Tables"
        ),
        claims_csv=report(
            f"{R}/report/claims.csv",
            caption="../report/claims.rst",
            category="Tables",
        ),
        lep_png=report(
            f"{R}/report/figures/lep.png",
            caption="../report/lep.rst",
            category="Figures",
        ),
        manifest=f"{R}/report/manifest.tsv",
    log:
        log_of("report"),
    benchmark:
        benchmark_of("report")
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        **resources_for("light"),
    params:
        models=model_keys(),
        curves=[f"{v}/{i}" for v, i in PAIRS],
        vocabs=VOCABS,
        langs=LANGS,
        compare_vocab=max(VOCABS, key=lambda v: len(PLAN[v])),
        # the rehearsed family: its column of LEP Table 2 beside the tokenizer table
        family=(
            config["models"]["rehearsal"]["family"]
            if config["models"]["kind"] == "rehearsal"
            else None
        ),
        root=lambda w, output: Path(output.manifest).parent.parent,
        # not the experiment's name: twin experiments give the same bytes (tests/test_reliability.py)
        title="langadapt: every evaluated model",
    script:
        "../scripts/report.py"

rule corpus_deb:
    input:
        lib=library("corpus_deb.py"),
    output:
        directory(f"{R}/corpus/debs/{{package}}"),
    log:
        log_of("corpus_deb/{package}"),
    benchmark:
        benchmark_of("corpus_deb/{package}")
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        **resources_for("light"),
    params:
        apt_update=config["corpus"]["apt_update"],
    script:
        "../scripts/corpus_deb.py"


rule corpus_source:
    input:
        raw=source_inputs,
        lib=library("corpus_source.py"),
    output:
        docs=f"{R}/corpus/sources/{{source}}.txt",
        stats=f"{R}/corpus/sources/{{source}}.json",
    log:
        log_of("corpus_source/{source}"),
    benchmark:
        benchmark_of("corpus_source/{source}")
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        **resources_for("light"),
    params:
        source=lambda w: SOURCES[w.source],
        lang=lambda w: PROFILES.get(
            SOURCES[w.source]["lang"], SOURCES[w.source]["lang"]
        ),
        min_chars=config["corpus"]["min_chars"],
        min_script_ratio=config["corpus"]["min_script_ratio"],
        invalid_utf8=config["corpus"]["invalid_utf8"],
    script:
        "../scripts/corpus_source.py"


rule corpus_split:
    input:
        docs=lambda w: [
            f"{R}/corpus/sources/{s}.txt"
            for s, v in SOURCES.items()
            if v["lang"] == w.lang
        ],
        lib=library("corpus_split.py"),
    output:
        train=directory(f"{R}/corpus/{{lang}}/train"),
        heldout=f"{R}/corpus/{{lang}}/heldout.txt",
        stats=f"{R}/corpus/{{lang}}/split.json",
    log:
        log_of("corpus_split/{lang}"),
    benchmark:
        benchmark_of("corpus_split/{lang}")
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        **resources_for("light"),
    params:
        heldout_fraction=config["corpus"]["heldout_fraction"],
        max_heldout_docs=config["corpus"]["max_heldout_docs"],
        max_train_bytes=lambda w: config["corpus"]["max_train_bytes"].get(w.lang),
        shards=lambda w: SHARDS[w.lang],
    script:
        "../scripts/corpus_split.py"


rule corpus_sample:
    input:
        train=train_text("{lang}"),
        lib=library("corpus_sample.py"),
    output:
        sample_text("{lang}"),
    log:
        log_of("corpus_sample/{lang}"),
    benchmark:
        benchmark_of("corpus_sample/{lang}")
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        **resources_for("light"),
    params:
        max_bytes=config["corpus"]["sample_bytes"],
    script:
        "../scripts/corpus_sample.py"


rule corpus_parallel:
    input:
        src=f"{R}/corpus/debs/{config['corpus']['parallel']['packages'].get(SOURCE, 'none')}",
        tgt=f"{R}/corpus/debs/{config['corpus']['parallel']['packages'].get(TARGET, 'none')}",
        lib=library("corpus_parallel.py"),
    output:
        train=f"{R}/corpus/parallel/train.jsonl",
        heldout=f"{R}/corpus/parallel/heldout.jsonl",
    log:
        log_of("corpus_parallel"),
    benchmark:
        benchmark_of("corpus_parallel")
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        **resources_for("light"),
    params:
        langs=[PROFILES[SOURCE], PROFILES[TARGET]],
        heldout_fraction=config["corpus"]["parallel"]["heldout_fraction"],
        min_chars=config["corpus"]["min_chars"],
    script:
        "../scripts/corpus_parallel.py"


rule corpus_stats:
    input:
        sources=expand(f"{R}/corpus/sources/{{source}}.json", source=SOURCES),
        splits=expand(f"{R}/corpus/{{lang}}/split.json", lang=LANGS),
        parallel=(
            [f"{R}/corpus/parallel/train.jsonl", f"{R}/corpus/parallel/heldout.jsonl"]
            if config["corpus"]["parallel"]["enabled"]
            else []
        ),
        lib=library("corpus_stats.py"),
    output:
        f"{R}/corpus/stats.json",
    log:
        log_of("corpus_stats"),
    benchmark:
        benchmark_of("corpus_stats")
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        **resources_for("light"),
    script:
        "../scripts/corpus_stats.py"

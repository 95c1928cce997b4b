from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# config.yaml is the default; a --configfile on the command line replaces it instead of merging into it
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "rules/common.smk"


wildcard_constraints:
    lang=alternatives(LANGS),
    source=alternatives(SOURCES),
    package=r"[a-z0-9][a-z0-9.+-]+",
    vocab=alternatives(VOCABS),
    init=alternatives(INITS),
    prop=alternatives(PROPS),


include: "rules/corpus.smk"
include: "rules/models.smk"
include: "rules/tokenizer.smk"
include: "rules/overlap.smk"
include: "rules/auxiliary.smk"
include: "rules/transfer.smk"
include: "rules/pretrain.smk"
include: "rules/lep.smk"
include: "rules/tune.smk"
include: "rules/clo.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        f"{R}/corpus/stats.json",
        rules.report.output,

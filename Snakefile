from pathlib import Path

from snakemake.utils import min_version

from langadapt.workflow import keep_freed_tensors

min_version("9.0")

# CPU jobs keep freed tensors in the heap instead of faulting them in again every step
# (CPT 1.4x faster); set here because glibc reads it when each job's process starts
keep_freed_tensors()


# config.yaml is the default; a --configfile on the command line replaces it instead of merging into it
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


# snakemake --report report.html: the figures and tables of report() outputs, with captions
report: "report/workflow.rst"


include: "rules/common.smk"


wildcard_constraints:
    lang=alternatives(LANGS),
    source=alternatives(SOURCES),
    package=r"[a-z0-9][a-z0-9.+-]+",
    vocab=alternatives(VOCABS),
    init=alternatives(INITS),
    prop=alternatives(PROPS),
    shard=r"\d{5}",


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


# Light rules run where snakemake runs, not through a cluster executor (profiles/slurm): the
# corpus and Hub downloads (compute nodes often have no internet), task and data files, the report
localrules:
    all,
    corpus_deb,
    corpus_source,
    corpus_split,
    corpus_parallel,
    corpus_stats,
    overlap,
    eval_tasks,
    instruct_tune_data,
    report,


if config["models"]["kind"] == "hf":

    localrules:
        fetch_model,


# a translator is fetched, or trained on the parallel corpus (rules/clo.smk)
if config["translate"]["model"] != "train":

    localrules:
        fetch_translator,


if config["models"]["kind"] == "rehearsal":

    localrules:
        family_tokenizer,


if PLM["kind"] != "bootstrap":

    localrules:
        fetch_plm,


rule all:
    default_target: True
    input:
        f"{R}/corpus/stats.json",
        rules.report.output,

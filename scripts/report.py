from langadapt.core.stage import snakemake_job
from langadapt.eval.manifest import write_manifest
from langadapt.eval.report import write_report

p = snakemake.params
with snakemake_job(snakemake):
    write_report(
        dict(zip(p.models, snakemake.input.evals)),
        dict(zip(p.curves, snakemake.input.cpt)),
        {v: f"{d}/stats.json" for v, d in zip(p.vocabs, snakemake.input.tokenizers)},
        {k: v for k, v in snakemake.output.items() if k != "manifest"},
        p.title,
        p.langs,
        p.compare_vocab,
        translation_stats=snakemake.input.translation or None,
        family=p.family,
    )
    write_manifest(p.root, snakemake.output.manifest)

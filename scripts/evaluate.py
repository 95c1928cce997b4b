from langadapt.core.stage import snakemake_job
from langadapt.eval.evaluate import write_evaluations

p = snakemake.params
with snakemake_job(snakemake):
    write_evaluations(
        zip(snakemake.input.models, snakemake.output, p.instruct),
        snakemake.input.tasks,
        dict(zip(p.langs, snakemake.input.heldout)),
        batch_size=p.batch_size,
        max_docs=p.max_docs,
        limit=p.limit,
        trust_remote_code=p.trust_remote_code,
    )

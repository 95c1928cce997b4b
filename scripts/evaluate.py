from langadapt.common import stage
from langadapt.evaluate import write_evaluation

p = snakemake.params
with stage(snakemake.log[0], snakemake.threads):
    write_evaluation(
        snakemake.input.model,
        snakemake.input.tasks,
        dict(zip(p.langs, snakemake.input.heldout)),
        snakemake.output[0],
        batch_size=p.batch_size,
        max_docs=p.max_docs,
        limit=p.limit,
        instruct=p.instruct,
        trust_remote_code=p.trust_remote_code,
    )

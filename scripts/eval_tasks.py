from langadapt.common import stage
from langadapt.evaluate import write_tasks

p = snakemake.params
with stage(snakemake.log[0]):
    write_tasks(snakemake.output[0], dict(zip(p.langs, snakemake.input.heldout)), p.max_docs)

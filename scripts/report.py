from langadapt.common import stage
from langadapt.report import write_report

p = snakemake.params
with stage(snakemake.log[0]):
    write_report(
        dict(zip(p.models, snakemake.input.evals)),
        {c: f"{d}/loss.csv" for c, d in zip(p.curves, snakemake.input.cpt)},
        snakemake.output.csv,
        snakemake.output.md,
        snakemake.output.loss,
        p.title,
    )

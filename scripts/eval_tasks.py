from langadapt.core.stage import snakemake_job
from langadapt.eval.evaluate import write_tasks
from langadapt.models.io import load_tokenizer

p = snakemake.params
with snakemake_job(snakemake):
    write_tasks(
        snakemake.output[0],
        dict(zip(p.langs, snakemake.input.heldout)),
        p.max_docs,
        mc_docs=p.mc_docs,
        copy_docs_n=p.copy_task["docs"],
        copy_chars=p.copy_task["max_chars"],
        instruction=p.copy_task["instruction"],
        lang_docs_n=p.lang_docs,
        source_tokenizer=load_tokenizer(snakemake.input.source_tokenizer),
        seed=p.seed,
        builtin=p.builtin["tasks"],
        num_fewshot=p.builtin["num_fewshot"],
        profiles=p.profiles,
    )

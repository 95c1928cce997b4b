from langadapt.core.stage import snakemake_job
from langadapt.translate.pipeline import build_translations, make_translator

i, p = snakemake.input, snakemake.params
c = p.cfg
with snakemake_job(snakemake, p.seed):
    translator = make_translator(
        c["backend"],
        dictionary=i.get("dictionary"),
        dictionary_format=c["dictionary_format"],
        parallel=i.get("senses"),
        model=i.get("model"),
        src=p.langs[0],
        tgt=p.langs[1],
        src_code=c["src_code"],
        tgt_code=c["tgt_code"],
        batch_size=c["batch_size"],
        max_new_tokens=c["max_new_tokens"],
        trust_remote_code=p.trust_remote_code,
    )
    build_translations(
        i.docs,
        snakemake.output.data,
        snakemake.output.stats,
        translator,
        n=p.examples,
        relation=c["relation"],
        relation_aware=c["relation_aware"],
        max_chars=c["max_chars"],
        seed=p.seed,
        parallel_heldout=i.parallel or None,
        langs=tuple(p.langs),
        eval_points=c["eval_points"],
        spare=c["spare"],
    )

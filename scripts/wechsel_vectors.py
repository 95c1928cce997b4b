from langadapt.core.stage import snakemake_job
from langadapt.transfer.vectors import build_wechsel_vectors

i, p = snakemake.input, snakemake.params
with snakemake_job(snakemake, p.seed):
    build_wechsel_vectors(i.source_tokenizer, i.tokenizer, i.source_text, i.target_text, i.get("dictionary"),
                          snakemake.output.npz, langs=tuple(p.langs), dim=p.cfg["dim"], epochs=p.cfg["epochs"],
                          min_count=p.cfg["min_count"], seed=p.seed, dictionary_format=p.cfg["dictionary_format"],
                          parallel=i.parallel or None)

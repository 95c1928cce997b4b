from langadapt.core import launch
from langadapt.translate.trained import build_translator

p = snakemake.params
c = p.cfg
launch.job(
    snakemake,
    build_translator,
    parallel_train=snakemake.input.pairs,
    out_dir=snakemake.output[0],
    relation=p.relation,
    src=p.langs[0],
    tgt=p.langs[1],
    vocab_size=c["vocab_size"],
    arch={k: c[k] for k in ("hidden_size", "layers", "heads", "intermediate_size", "max_len")},
    max_chars=c["max_chars"],
    template_copies=c["template_copies"],
    train_cfg=c["train"],
    seed=p.seed,
)

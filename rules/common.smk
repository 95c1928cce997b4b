import sys

from langadapt.core.deps import code_stamp, import_closure
from langadapt.core.errors import LangadaptError
from langadapt.transfer.registry import METHODS, module_name
from langadapt.workflow import (
    check_corpus_config,
    check_local_models,
    check_results_dir,
    check_translate_config,
    language_profiles,
    files_source_paths,
    lep_plan,
    train_shards,
    transfer_plan,
    validate_config,
)

# every check that needs no job runs here, so bad input stops the run before anything is written
try:
    validate_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")
    PLAN = transfer_plan(config)
    PAIRS = [(v, i) for v in config["tokenizer"]["variants"] for i in PLAN[v]]
    # (vocab, init, prop) propagated; and those calibrate and instruct_tune start from
    PROPAGATED, TUNED = lep_plan(config, PLAN)
    # each language's profile (rule params), and what the config leaves to them filled in
    PROFILES = language_profiles(config)
    # what the profiles filled in (package names reach apt-get) is checked as if written
    validate_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")
    check_translate_config(config)
    check_results_dir(config)
    check_corpus_config(config)
    check_local_models(config)
except LangadaptError as err:
    sys.exit(f"langadapt: {err}")

R = f"{config['results_dir']}/{config['experiment']}"
TARGET = config["languages"]["target"]
SOURCE = config["languages"]["source"]
LANGS = [SOURCE, TARGET]
SOURCES = config["corpus"]["sources"]
VOCABS = list(config["tokenizer"]["variants"])
INITS = sorted({i for _, i in PAIRS})
PLM = config["transfer"]["plm"]
PROPS = sorted({p for _, _, p in PROPAGATED})
CALIBRATE = config["calibrate"]
TUNE = config["instruct_tune"]
# what instruct_tune fine-tunes: the calibrated model, or the propagated one
TUNE_FROM = (
    "calibrated" if CALIBRATE["enabled"] and TUNE["start"] == "calibrate" else "lep"
)
GPU = config["resources"]["gpu_rules"]
LIGHT = config["resources"]["light_rules"]
TRAIN_THREADS = config["threads"]["train"]
# weight arithmetic (transfer, LEP): mostly start-up at miniature scale, so two share 2 cores
LIGHT_THREADS = config["threads"]["light"]
EVAL_THREADS = config["threads"]["eval"]
# the models → init → CPT → LEP → tuning chain goes first: the evaluations, CLO and the
# auxiliary jobs fill the other core instead of one late CPT run holding up the end
CHAIN_PRIORITY = 1


def log_of(job):
    """A job's log: logs/{rule}/{wildcards}.log (langadapt.core.stage names a stage by it)."""
    return f"{R}/logs/{job}.log"


def benchmark_of(job):
    """A job's time and memory: benchmarks/{rule}/{wildcards}.tsv (benchmarks/stages.py reads them)."""
    return f"{R}/benchmarks/{job}.tsv"


def train_text(lang):
    """A language's training text: a directory of shards, part-00000.txt, ..."""
    return f"{R}/corpus/{lang}/train"


# how many shards each language's training text is written in (langadapt.workflow.train_shards)
SHARDS = {lang: train_shards(config, lang) for lang in LANGS}


def sample_text(lang):
    """The bounded sample of a language's training text that stages other than tokenizer
    training and CPT read (corpus.sample_bytes)."""
    return f"{R}/corpus/{lang}/sample.txt"


def token_shards(vocab, lang):
    """A language's training text tokenized with a vocabulary, one directory per shard."""
    return [f"{R}/tokens/{vocab}/{lang}/part-{i:05d}" for i in range(SHARDS[lang])]


def source_model(role):
    """The source model (base or instruct) that everything adapts."""
    return f"{R}/models/source/{role}"


# the source model's tokenizer: its own early rule when bootstrapped or rehearsed, else the
# fetched base model
SOURCE_TOKENIZER = (
    f"{R}/models/source/tokenizer"
    if config["models"]["kind"] in ("bootstrap", "rehearsal")
    else source_model("base")
)


def alternatives(names):
    return "|".join(sorted(names))


def resources_for(kind, gpu=None):
    """What a job asks the scheduler for, from the config (docs/cluster.md): `light` jobs take
    memory and time from `resources.light_rules`; `model` jobs (they read or write a model on
    the CPU: transfer, LEP, downloads) from `resources.gpu_rules`; `gpu` jobs (they run a model)
    also its GPUs (or `gpu`, for a job that needs fewer here) and CPUs per GPU; `train` jobs
    also their training processes and nodes and how they share the work (ddp or fsdp), which a
    profile's set-resources may change per rule."""
    base = LIGHT if kind == "light" else GPU
    res = {"mem_mb": base["mem_mb"], "runtime": base["runtime"]}
    if kind in ("gpu", "train"):
        res |= {
            "gpu": GPU["gpu"] if gpu is None else gpu,
            "cpus_per_gpu": GPU["cpus_per_gpu"],
        }
    if kind == "train":
        res |= {
            k: GPU[k]
            for k in (
                "processes",
                "parallel",
                "nodes",
                "activation_checkpointing",
                "precision",
            )
        }
        if res["nodes"] > 1 and res["gpu"]:
            # sbatch --gpus counts the whole job's GPUs; --gres the GPUs of each node
            res["gres"] = f"gpu:{res.pop('gpu')}"
    return res


def library(script, *dispatched):
    """The code stamp of the library files that scripts/`script` runs, as a rule's `lib` input:
    its import closure (langadapt/core/deps.py), plus `dispatched` modules it picks by name when
    it runs (and their closures). Editing one re-runs the rule's jobs and their dependants
    (tests/test_layout.py: every script rule names the closure of its own script)."""
    return code_stamp(
        import_closure(Path(workflow.basedir) / "scripts" / script, tuple(dispatched))
    )


def model_keys():
    """Every model the experiment evaluates, as paths relative to the results root."""
    keys = ["source/base", "source/instruct"]
    keys += [f"{stage}/{v}/{i}" for v, i in PAIRS for stage in ("init", "cpt")]
    keys += [f"lep/{v}/{i}/{p}" for v, i, p in PROPAGATED]
    for stage, on in (
        ("calibrated", CALIBRATE["enabled"]),
        ("instruct_tuned", TUNE["enabled"]),
    ):
        keys += [f"{stage}/{v}/{i}/{p}" for v, i, p in TUNED if on]
    if config["clo"]["enabled"]:
        keys += [f"{o}/{n}" for n in config["clo"]["sizes"] for o in ("sft", "clo")]
    return keys


def eval_stages():
    """The evaluated models by stage (CLO with its SFT baseline), for one lm-eval job each."""
    stages = {}
    for key in model_keys():
        stage = key.split("/")[0]
        stages.setdefault("clo" if stage == "sft" else stage, []).append(key)
    return stages


def is_instruct(key):
    """Instruct models (copy and response language, through the chat template) by their key."""
    return key == "source/instruct" or key.startswith(
        ("lep/", "calibrated/", "instruct_tuned/", "sft/", "clo/")
    )


def model_dir(key):
    return f"{R}/models/{key}" if key.startswith("source/") else f"{R}/{key}"


def source_inputs(wildcards):
    """The unpacked Debian packages of a deb source; a files source's own files (editing one
    re-runs the corpus and everything after it)."""
    src = SOURCES[wildcards.source]
    if src["kind"] == "files":
        return files_source_paths(wildcards.source, src["paths"])
    pkgs = src.get("packages", []) if src["kind"] == "deb" else []
    return [f"{R}/corpus/debs/{p}" for p in pkgs]


def transfer_inputs(wildcards):
    """The base model, new tokenizer and overlap, plus what this method needs (vectors or the PLM)."""
    m = wildcards.init
    inputs = {
        "base": source_model("base"),
        "tokenizer": f"{R}/tokenizers/{wildcards.vocab}",
        "overlap": f"{R}/overlap/{wildcards.vocab}.json",
        "lib": library("transfer.py", module_name(m)),
    }
    need = METHODS[m]
    if need == "vectors":
        inputs["vectors"] = f"{R}/aux/{m}/{wildcards.vocab}.npz"
    elif need == "plm":
        inputs["plm"] = f"{R}/models/plm"
    return inputs


def tokenizer_inputs(wildcards):
    """The hf PLM, for a variant of kind plm (its tokenizer becomes the variant)."""
    kind = config["tokenizer"]["variants"][wildcards.vocab]["kind"]
    return {"plm": f"{R}/models/plm"} if kind == "plm" else {}


TRANSLATE = config["translate"]
CLO = config["clo"]


def dictionary_input(section):
    """A section's dictionary (translate, transfer.wechsel): its file, or its Debian package; none
    where the language pair has none (word pairs are then induced from the parallel corpus).
    """
    if section["dictionary_path"]:
        return {"dictionary": section["dictionary_path"]}
    if section["dictionary_package"]:
        return {"dictionary": f"{R}/corpus/debs/{section['dictionary_package']}"}
    return {}


def translator_inputs(wildcards):
    """The dictionary package (and the parallel training pairs that choose its senses), or the
    translation model the backend runs."""
    if TRANSLATE["backend"] == "dictionary":
        inputs = dictionary_input(TRANSLATE)
        if config["corpus"]["parallel"]["enabled"]:
            inputs["senses"] = f"{R}/corpus/parallel/train.jsonl"
        return inputs
    if TRANSLATE["backend"] == "causal_lm" and TRANSLATE["model"] == "instruct":
        return {"model": source_model("instruct")}
    return {"model": f"{R}/models/translator"}

"""Bad input, table-driven: every case stops with exactly one `langadapt:` line naming the
offending config key or file, no Python traceback, and no partial output (config errors create no
results directory at all; a failed or interrupted job leaves neither its output nor a temporary
`.name.XXXX` / `.name.tmp`). Config, corpus and interrupt cases run the real `snakemake` CLI;
model-level cases call the library inside `core.stage.stage`, as a rule's script would.

Then safe loading: safetensors only, no untrusted remote code, no shell."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import yaml

from langadapt.core.errors import LangadaptError

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# the jobs' scripts import this checkout's langadapt, not whichever one is installed
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}

RU = ("привет мир язык модель текст слово файл данные окно строка таблица документ выбрать изменить открыть "
      "закрыть сохранить команда функция значение ячейка формат шрифт").split()
EN = ("hello world language model text word file data window line table document select change open close save "
      "command function value cell format font").split()
FR = ("bonjour le monde langue modèle texte mot fichier données fenêtre ligne tableau document choisir changer ouvrir "
      "fermer enregistrer commande fonction valeur cellule format police avec pour dans").split()


def paragraphs(words, n, seed):
    import random

    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(6, 14))).capitalize() + "." for _ in range(n)]


def write_text(path: Path, paras: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(paras) + "\n", encoding="utf-8")
    return path


def files_config(tmp: Path, results: Path | None = None, **changes) -> dict:
    """The smoke config on two local `files` corpora (no Debian downloads), results under `tmp`."""
    cfg = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    cfg["results_dir"] = str(results or tmp / "results")
    ru = write_text(tmp / "corpora" / "ru.txt", paragraphs(RU, 300, 1))
    en = write_text(tmp / "corpora" / "en.txt", paragraphs(EN, 300, 2))
    cfg["corpus"]["sources"] = {"ru_text": {"kind": "files", "lang": "ru", "paths": [str(ru)]},
                                "en_text": {"kind": "files", "lang": "en", "paths": [str(en)]}}
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg


def snakemake(cfg: dict, tmp: Path, target: str | Path, cores: int = 1) -> subprocess.CompletedProcess:
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return subprocess.run([SNAKEMAKE, str(target), "--cores", str(cores), "--configfile", str(path)], cwd=ROOT,
                          env=ENV, capture_output=True, text=True, timeout=300)


def results_root(cfg: dict) -> Path:
    return Path(cfg["results_dir"]) / cfg["experiment"]


@dataclass
class Outcome:
    rc: int
    stderr: str
    absent: list[Path]  # the outputs that must not exist
    scan: Path  # where no temporary file or directory may remain


@dataclass
class Case:
    id: str
    run: Callable[["Ctx"], Outcome]
    line: Callable[["Ctx"], str]  # the one `langadapt:` line; <N> stands for a number
    marks: list = field(default_factory=list)


@dataclass
class Ctx:
    tmp: Path
    request: pytest.FixtureRequest
    capsys: pytest.CaptureFixture

    def fixture(self, name):
        return self.request.getfixturevalue(name)


# ------------------------------------------------------------------ how cases run


def config_error(**changes) -> Callable[[Ctx], Outcome]:
    """A workflow run that must stop while the Snakefile is read: no job, no results directory."""

    def run(c: Ctx) -> Outcome:
        cfg = files_config(c.tmp, **changes)
        proc = snakemake(cfg, c.tmp, results_root(cfg) / "corpus" / "stats.json")
        return Outcome(proc.returncode, proc.stderr, [c.tmp / "results"], c.tmp)

    return run


def job_error(target: Callable[[Path], Path], prepared: bool = False, **changes) -> Callable[[Ctx], Outcome]:
    """A workflow run whose job fails: its output (`target` under the results root) must be gone.
    `prepared`: on the module's results directory that already holds the corpus and source tokenizer."""

    def run(c: Ctx) -> Outcome:
        if prepared:
            prep = c.fixture("prepared")
            cfg = {**prep["config"], **changes}
        else:
            cfg = files_config(c.tmp, **changes)
        out = target(results_root(cfg))
        proc = snakemake(cfg, c.tmp, out)
        return Outcome(proc.returncode, proc.stderr, [out], Path(cfg["results_dir"]))

    return run


def in_stage(fn: Callable[[Ctx], Path]) -> Callable[[Ctx], Outcome]:
    """The library call inside `core.stage.stage`, as a rule's script runs it; `fn` returns its output."""

    def run(c: Ctx) -> Outcome:
        import logging

        import torch

        from langadapt.core.stage import stage

        threads, root = torch.get_num_threads(), logging.getLogger()
        handlers, level = root.handlers[:], root.level
        outputs: list[Path] = []
        try:
            with pytest.raises(SystemExit) as stop:
                with stage(None):
                    outputs.append(fn(c))
        finally:
            torch.set_num_threads(threads)
            root.handlers[:], root.level = handlers, level
        return Outcome(stop.value.code, c.capsys.readouterr().err, outputs, c.tmp)

    return run


def interrupt(c: Ctx) -> Outcome:
    """SIGINT to snakemake's process group while bootstrap_base trains (the Trainer's folder is in
    its temporary output directory), as Ctrl-C in a terminal does."""
    prep = c.fixture("prepared")
    cfg = prep["config"]
    out = results_root(cfg) / "models" / "source" / "base"
    path = c.tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    with open(c.tmp / "stderr", "w") as err:
        # SIGINT as a terminal delivers it: a background job of a non-interactive shell (`pytest &`)
        # inherits SIGINT ignored, which Python and so every job would keep
        proc = subprocess.Popen([SNAKEMAKE, str(out), "--cores", "2", "--configfile", str(path)], cwd=ROOT, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            deadline = time.monotonic() + 120
            # the Trainer makes its work folder inside the temporary output once its imports and
            # set-up are done: from then on the job is training (a fixed delay is not, under load)
            while not list(out.parent.glob(".base.*/trainer")):
                assert proc.poll() is None, (c.tmp / "stderr").read_text()
                assert time.monotonic() < deadline, "bootstrap_base never started training"
                time.sleep(0.1)
            time.sleep(0.5)
            os.killpg(proc.pid, signal.SIGINT)
            rc = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return Outcome(rc, (c.tmp / "stderr").read_text(), [out], Path(cfg["results_dir"]))


# ------------------------------------------------------------------ fixtures the cases share


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A results directory holding the corpus splits and the bootstrapped source tokenizer, for the
    cases that fail or are interrupted in a later rule. Variant `bpe` asks for more tokens than its
    corpus gives; bootstrap_base would train far longer than any interrupt waits."""
    tmp = tmp_path_factory.mktemp("prepared")
    cfg = files_config(tmp)
    cfg["tokenizer"]["variants"]["bpe"]["size"] = 50000
    cfg["models"]["bootstrap"]["base"]["max_steps"] = 1000000
    proc = snakemake(cfg, tmp, results_root(cfg) / "models" / "source" / "tokenizer", cores=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"config": cfg}


@pytest.fixture(scope="module")
def models(tmp_path_factory, byte_level_tok, spm_tok):
    """Tiny model directories: `good` (safetensors), `pickle` (only pytorch_model.bin), `mismatch`
    (a tokenizer with more tokens than embedding rows), `custom` (config.json auto_map to a module
    that writes `marker` when imported), `instruct` (another base's vocabulary), and a PLM setup
    whose vocabulary shares no tokens with the LLM's."""
    import torch

    from langadapt.models.io import save_model
    from langadapt.train.bootstrap import tiny_llama
    from langadapt.vocab.overlap import write_overlap

    d = tmp_path_factory.mktemp("models")
    arch = dict(hidden_size=16, layers=1, heads=2, intermediate_size=32, max_len=64, seed=0)
    model = tiny_llama(byte_level_tok, **arch)
    save_model(model, byte_level_tok, d / "good")

    (d / "pickle").mkdir()
    model.config.save_pretrained(d / "pickle")
    torch.save(model.state_dict(), d / "pickle" / "pytorch_model.bin")  # what save_pretrained wrote before safetensors
    byte_level_tok.save_pretrained(d / "pickle")

    small = tiny_llama(byte_level_tok, **arch)
    small.resize_token_embeddings(len(byte_level_tok) - 10)
    save_model(small, byte_level_tok, d / "mismatch")

    shutil.copytree(d / "good", d / "custom")
    cfg = json.loads((d / "custom" / "config.json").read_text())
    cfg["auto_map"] = {"AutoModelForCausalLM": "custom_model.CustomModel", "AutoConfig": "custom_model.CustomConfig"}
    (d / "custom" / "config.json").write_text(json.dumps(cfg))
    (d / "custom" / "custom_model.py").write_text(
        f"open({str(d / 'marker')!r}, 'w').write('remote code ran')\n"
        "from transformers import LlamaConfig as CustomConfig, LlamaForCausalLM as CustomModel\n")

    shutil.copytree(d / "good", d / "instruct")
    for f in (d / "instruct").glob("*token*"):
        f.unlink()
    spm_tok.save_pretrained(d / "instruct")  # an instruct model of another base, by its vocabulary

    save_model(model, byte_level_tok, d / "plm_setup" / "base")
    spm_tok.save_pretrained(d / "plm_setup" / "tok")
    write_overlap(d / "plm_setup" / "base", d / "plm_setup" / "tok", d / "plm_setup" / "overlap.json")
    ov = json.loads((d / "plm_setup" / "overlap.json").read_text())
    ov["shared"] = []  # the LLM and the PLM share no token
    (d / "plm_setup" / "overlap.json").write_text(json.dumps(ov))
    save_model(tiny_llama(spm_tok, hidden_size=8, layers=1, heads=2, intermediate_size=16, max_len=64, seed=1),
               spm_tok, d / "plm_setup" / "plm")
    return d


def bad_utf8_file(tmp: Path) -> tuple[Path, int]:
    """A Russian `files` corpus with one planted undecodable byte (returns its offset) in the
    second paragraph, and a legitimate U+FFFD in the third, which must survive."""
    paras = paragraphs(RU, 3, 5)
    head = (paras[0] + "\n\n" + paras[1][:20]).encode()
    data = head + b"\xff" + paras[1][20:].encode() + b"\n\n" + (paras[2] + " \ufffd знак.").encode() + b"\n"
    path = tmp / "corpora" / "bad.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, len(head)


def bad_utf8_source(c: Ctx) -> dict:
    return {"kind": "files", "lang": "ru", "paths": [str(bad_utf8_file(c.tmp)[0])]}


def utf8_fail(c: Ctx) -> Outcome:
    cfg = files_config(c.tmp, corpus={"invalid_utf8": "fail"})
    cfg["corpus"]["sources"]["bad"] = bad_utf8_source(c)
    out = results_root(cfg) / "corpus" / "sources" / "bad.txt"
    proc = snakemake(cfg, c.tmp, out)
    return Outcome(proc.returncode, proc.stderr, [out, out.with_suffix(".json")], c.tmp / "results")


def empty_after_cleaning(c: Ctx) -> Outcome:
    cfg = files_config(c.tmp)
    cfg["corpus"]["sources"]["en_as_ru"] = {"kind": "files", "lang": "ru", "paths": [str(c.tmp / "corpora/en.txt")]}
    out = results_root(cfg) / "corpus" / "sources" / "en_as_ru.txt"
    proc = snakemake(cfg, c.tmp, out)
    return Outcome(proc.returncode, proc.stderr, [out, out.with_suffix(".json")], c.tmp / "results")


def corpus_in_another_language(c: Ctx) -> Outcome:
    """French text given as English: the same script, so only the identifier can tell."""
    cfg = files_config(c.tmp)
    fr = write_text(c.tmp / "corpora" / "fr.txt", paragraphs(FR, 300, 3))
    cfg["corpus"]["sources"]["fr_as_en"] = {"kind": "files", "lang": "en", "paths": [str(fr)]}
    out = results_root(cfg) / "corpus" / "sources" / "fr_as_en.txt"
    proc = snakemake(cfg, c.tmp, out)
    return Outcome(proc.returncode, proc.stderr, [out, out.with_suffix(".json")], c.tmp / "results")


def dictionary_of_another_pair(c: Ctx) -> Outcome:
    """An English-French word list given as the English-Russian dictionary: translate stops on it."""
    words = c.tmp / "en-fr.tsv"
    words.write_text("".join(f"{e}\t{f}\n" for e, f in zip(EN, FR)), encoding="utf-8")
    return job_error(lambda r: r / "translate" / "stats.json",
                     translate={"backend": "dictionary", "dictionary_path": str(words), "max_chars": 60,
                                "eval_points": 0})(c)


def missing_files_source(c: Ctx) -> Outcome:
    cfg = files_config(c.tmp)
    cfg["corpus"]["sources"]["extra"] = {"kind": "files", "lang": "ru",
                                         "paths": [str(c.tmp / "corpora/ru.txt"), str(c.tmp / "nowhere/*.txt")]}
    proc = snakemake(cfg, c.tmp, results_root(cfg) / "corpus" / "sources" / "extra.txt")
    return Outcome(proc.returncode, proc.stderr, [c.tmp / "results"], c.tmp)


def local_model(name: str) -> Callable[[Ctx], Outcome]:
    """models.kind hf with a local base model directory: checked while the Snakefile is read."""

    def run(c: Ctx) -> Outcome:
        d = c.fixture("models")
        return config_error(models={"kind": "hf", "hf": {"base": str(d / name)}})(c)

    return run


def fetch_mismatch(c: Ctx) -> Outcome:
    """The tokenizer/model check needs the tokenizer loaded: fetch_model's job makes it."""
    d = c.fixture("models")
    return job_error(lambda r: r / "models" / "source" / "base",
                     models={"kind": "hf", "hf": {"base": str(d / "mismatch")}})(c)


def results_under_a_file(c: Ctx) -> Outcome:
    (c.tmp / "file.txt").write_text("not a directory\n")
    return config_error(results_dir=str(c.tmp / "file.txt" / "results"))(c)


def plm_no_shared(c: Ctx) -> Path:
    from langadapt.transfer.apply import build_init_model

    d = c.fixture("models") / "plm_setup"
    build_init_model(d / "base", d / "tok", d / "overlap.json", c.tmp / "out", "let", {}, plm=d / "plm")
    return c.tmp / "out"


def fetch_pickle(c: Ctx) -> Path:
    from langadapt.models.io import fetch_hf_model

    fetch_hf_model(str(c.fixture("models") / "pickle"), c.tmp / "base")
    return c.tmp / "base"


def base_instruct_mismatch(c: Ctx) -> Path:
    from langadapt.train.lep import build_propagated

    d = c.fixture("models")
    build_propagated(d / "instruct", d / "good", c.tmp / "out", "overlap", base_dir=d / "good",
                     overlap_json=c.tmp / "overlap.json")
    return c.tmp / "out"


def missing_deb(c: Ctx) -> Path:
    from langadapt.data.corpus import fetch_deb

    fetch_deb("no-such-package-langadapt", c.tmp / "out", apt_update="never")
    return c.tmp / "out"


PATTERN = "'^[A-Za-z0-9_.-]+$'"
# ------------------------------------------------------------------ real families' shapes


def non_bpe_source(model_type: str) -> Callable[[Ctx], Path]:
    """A merged variant over a WordPiece (BERT-style) or Unigram (T5-style) source tokenizer."""

    def fn(c: Ctx) -> Path:
        from tokenizers import Tokenizer, models, pre_tokenizers
        from transformers import PreTrainedTokenizerFast

        from langadapt.vocab.build import build_tokenizer

        words = ["[UNK]", "<unk>", "привет", "мир", "hello", "world", "a", "b"]
        model = (models.WordPiece({w: i for i, w in enumerate(words)}, unk_token="[UNK]") if model_type == "WordPiece"
                 else models.Unigram([(w, -1.0) for w in words], unk_id=1))
        tok = Tokenizer(model)
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        PreTrainedTokenizerFast(tokenizer_object=tok, unk_token=words[0 if model_type == "WordPiece" else 1]
                                ).save_pretrained(c.tmp / "src")
        ru = write_text(c.tmp / "ru.txt", paragraphs(RU, 50, 1))
        en = write_text(c.tmp / "en.txt", paragraphs(EN, 50, 2))
        build_tokenizer(ru, en, {}, c.tmp / "src", c.tmp / "out", variant={"kind": "extended", "donor_size": 60},
                        source_share=0.2, byte_fallback=False, character_coverage=1.0, input_sentence_size=0,
                        threads=1, name="extended")
        return c.tmp / "out"

    return fn


def instruct_without_template(c: Ctx) -> Path:
    from langadapt.models.io import fetch_hf_model

    fetch_hf_model(str(c.fixture("models") / "good"), c.tmp / "instruct", chat=True)
    return c.tmp / "instruct"


def older_tokenizer_config(c: Ctx) -> Path:
    """A model directory in the pre-fast-tokenizer layout whose tokenizer.model went missing: only a
    tokenizer_config.json naming LlamaTokenizer (transformers would build a 3-token tokenizer)."""
    from langadapt.models.io import fetch_hf_model

    d = c.tmp / "old"
    shutil.copytree(c.fixture("models") / "good", d)
    for f in d.glob("*token*"):
        f.unlink()
    (d / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>"}))
    fetch_hf_model(str(d), c.tmp / "base")
    return c.tmp / "base"


def rehearsal_source(c: Ctx, rows: int | None, template: bool) -> Path:
    """A local rehearsal source: a tokenizer and a config.json (no weights)."""
    from langadapt.vocab.families import fetch_family

    tok = c.fixture("byte_level_tok")
    d = c.tmp / "src"
    tok.save_pretrained(d)
    if template:
        conf = json.loads((d / "tokenizer_config.json").read_text())
        (d / "tokenizer_config.json").write_text(json.dumps({**conf, "chat_template": "{{ messages[0]['content'] }}"}))
    (d / "config.json").write_text(json.dumps({"model_type": "llama", "vocab_size": rows or len(tok) + 64}))
    fetch_family("llama3", c.tmp / "tokenizer", source=str(d))
    return c.tmp / "tokenizer"


CASES = [
    Case("unknown_init_method", config_error(transfer={"methods": ["nope"]}),
         lambda c: "langadapt: config key 'transfer.methods.0': 'nope' is not one of "
                   "['random', 'mean', 'focus', 'wechsel', 'let', 'salt', 'omp']"),
    Case("negative_learning_rate", config_error(pretrain={"lr": -0.1}),
         lambda c: "langadapt: config key 'pretrain.lr': -0.1 is less than or equal to the minimum of 0"),
    Case("vocabulary_size_0", config_error(tokenizer={"variants": {"bpe": {"kind": "bpe", "size": 0},
                                                                   "extended": {"kind": "extended",
                                                                                "donor_size": 600}}}),
         lambda c: "langadapt: config key 'tokenizer.variants.bpe.size': 0 is less than the minimum of 1"),
    Case("unknown_top_level_key", config_error(nope=1),
         lambda c: "langadapt: config key 'nope': Additional properties are not allowed ('nope' was unexpected)"),
    Case("experiment_with_a_slash", config_error(experiment="a/b"),
         lambda c: f"langadapt: config key 'experiment': 'a/b' does not match {PATTERN}"),
    Case("deb_package_like_an_option",
         config_error(corpus={"sources": {"x": {"kind": "deb", "lang": "ru", "packages": ["-oDebug::pkg=1"],
                                                "extractor": "fortunes"}}}),
         lambda c: "langadapt: config key 'corpus.sources.x.packages.0': '-oDebug::pkg=1' does not match "
                   "'^[a-z0-9][a-z0-9.+-]+$'"),
    Case("missing_files_source", missing_files_source,
         lambda c: f"langadapt: config key 'corpus.sources.extra.paths': '{c.tmp}/nowhere/*.txt' matches no file"),
    Case("results_dir_not_writable", results_under_a_file,
         lambda c: f"langadapt: config key 'results_dir': {c.tmp}/file.txt/results cannot be created: "
                   f"{c.tmp}/file.txt is not a directory"),
    Case("pickle_only_model_dir", local_model("pickle"),
         lambda c: f"langadapt: config key 'models.hf.base': model directory {c.fixture('models')}/pickle: only pickle "
                   "checkpoints (pytorch_model.bin); langadapt loads safetensors only"),
    Case("untrusted_remote_code", local_model("custom"),
         lambda c: f"langadapt: config key 'models.hf.base': model directory {c.fixture('models')}/custom: config.json "
                   "asks to run custom code (AutoModelForCausalLM: custom_model.CustomModel); langadapt runs it only "
                   "with models.trust_remote_code: true"),
    Case("empty_after_cleaning", empty_after_cleaning,
         lambda c: "langadapt: error: corpus source 'en_as_ru': empty after cleaning (300 raw documents, lang ru, "
                   "min_chars 20, min_script_ratio 0.5); its first documents read as 'en' (<N>% of 200)"),
    Case("corpus_in_another_language_of_the_same_script", corpus_in_another_language,
         lambda c: "langadapt: error: corpus source 'fr_as_en': its first 200 documents read as 'fr' (<N>%; 'en' <N>%), "
                   "not as its lang 'en' says: check the source's lang or its packages"),
    Case("unknown_language_code", config_error(languages={"target": "xx"}),
         lambda c: "langadapt: config key 'languages.target': no profile for language 'xx' (built in: de, en, es, fr, "
                   "ko, ru); give languages.profiles.xx with at least name, scripts and templates"),
    Case("dictionary_for_another_language_pair", dictionary_of_another_pair,
         lambda c: f"langadapt: error: translate: dictionary {c.tmp}/en-fr.tsv: its translations are not in Cyrillic "
                   "script, as 'ru' is: a dictionary for another language pair than en-ru"),
    Case("invalid_utf8_fail", utf8_fail,
         lambda c: f"langadapt: error: corpus source 'bad': corpus file {c.tmp}/corpora/bad.txt: invalid UTF-8 at "
                   f"byte offset {bad_utf8_file(c.tmp)[1]} (corpus.invalid_utf8 is 'fail'; 'drop' or 'replace' go on)"),
    Case("tokenizer_does_not_match_model", fetch_mismatch,
         lambda c: f"langadapt: error: model directory {c.fixture('models')}/mismatch: its tokenizer has "
                   f"{len(c.fixture('byte_level_tok'))} tokens but the model only "
                   f"{len(c.fixture('byte_level_tok')) - 10} embedding rows (config.json vocab_size); "
                   "the tokenizer of another model?"),
    Case("fetch_model_refuses_pickle", in_stage(fetch_pickle),
         lambda c: f"langadapt: error: model directory {c.fixture('models')}/pickle: only pickle checkpoints "
                   "(pytorch_model.bin); langadapt loads safetensors only"),
    Case("plm_shares_no_tokens", in_stage(plm_no_shared),
         lambda c: f"langadapt: error: let: the PLM's vocabulary {c.fixture('models')}/plm_setup/tok shares no tokens "
                   "with the LLM's: there is nothing to fit the map on"),
    Case("instruct_of_another_base", in_stage(base_instruct_mismatch),
         lambda c: f"langadapt: error: instruct model {c.fixture('models')}/instruct: its tokenizer does not keep the "
                   f"token ids of the base model {c.fixture('models')}/good; LEP needs an instruct model fine-tuned "
                   "from this base"),
    Case("missing_debian_package", in_stage(missing_deb),
         lambda c: "langadapt: error: Debian package 'no-such-package-langadapt': <ANY>",
         marks=[pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get")]),
    Case("corpus_too_small_for_vocabulary", job_error(lambda r: r / "tokenizers" / "bpe", prepared=True),
         lambda c: "langadapt: error: config key 'tokenizer.variants.bpe.size': vocab_size 50000 is more than the "
                   "training text gives: at most <N> tokens (add corpus or lower it)"),
    Case("merged_variant_of_a_wordpiece_source", in_stage(non_bpe_source("WordPiece")),
         lambda c: "langadapt: error: tokenizer variant 'extended': the source tokenizer's model is WordPiece; "
                   "Extended and Optimized need a BPE source tokenizer (byte-level or SentencePiece-style)"),
    Case("merged_variant_of_a_unigram_source", in_stage(non_bpe_source("Unigram")),
         lambda c: "langadapt: error: tokenizer variant 'extended': the source tokenizer's model is Unigram; "
                   "Extended and Optimized need a BPE source tokenizer (byte-level or SentencePiece-style)"),
    Case("instruct_model_without_chat_template", in_stage(instruct_without_template),
         lambda c: f"langadapt: error: model '{c.fixture('models')}/good': its tokenizer has no chat template, and the "
                   "instruct model (models.hf.instruct) is prompted through one"),
    Case("older_tokenizer_config_without_its_files", in_stage(older_tokenizer_config),
         lambda c: f"langadapt: error: tokenizer directory {c.tmp}/old: tokenizer_config.json names LlamaTokenizer but "
                   "none of the files it is built from is there (tokenizer.json, tokenizer.model, spiece.model, ...)"),
    Case("rehearsal_source_without_chat_template", in_stage(lambda c: rehearsal_source(c, None, template=False)),
         lambda c: f"langadapt: error: model family 'llama3' ({c.tmp}/src): the tokenizer has no chat template for the "
                   "instruct model"),
    Case("rehearsal_embeddings_smaller_than_tokenizer", in_stage(lambda c: rehearsal_source(c, 100, template=True)),
         lambda c: f"langadapt: error: model family 'llama3' ({c.tmp}/src): its tokenizer has "
                   f"{len(c.fixture('byte_level_tok'))} tokens but the model only 100 embedding rows (config.json "
                   "vocab_size); the tokenizer of another model?"),
    Case("interrupt", interrupt, lambda c: "langadapt: interrupted: bootstrap_base"),  # last: it reuses `prepared`
]

# temporary names the atomic writers use: `.name.XXXXXXXX` dirs, `.name.tmp` files, `.name.download`
TEMPORARY = re.compile(r"^\..+\.(tmp|download|[A-Za-z0-9_]{8})$")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_bad_input(case, tmp_path, request, capsys):
    ctx = Ctx(tmp_path, request, capsys)
    out = case.run(ctx)
    assert out.rc != 0, out.stderr[-3000:]
    ours = [line for line in out.stderr.splitlines() if line.startswith("langadapt:")]
    pattern = re.escape(case.line(ctx)).replace("<N>", r"\d+").replace("<ANY>", ".+")
    assert len(ours) == 1 and re.fullmatch(pattern, ours[0]), (ours, out.stderr[-3000:])
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    for path in out.absent:
        assert not path.exists(), path
    left = [p for p in out.scan.rglob(".*") if TEMPORARY.match(p.name)] if out.scan.exists() else []
    assert not left, left
    if case.id == "untrusted_remote_code":
        assert not (ctx.fixture("models") / "marker").exists()


@pytest.mark.parametrize("mode", ["drop", "replace"])
def test_invalid_utf8_is_counted_and_handled_per_config(mode, tmp_path):
    """A planted undecodable byte: its document dropped or kept with U+FFFD, counted in the source's
    stats either way; a legitimate U+FFFD in another document is text and stays."""
    from langadapt.core.io import read_json, read_lines

    cfg = files_config(tmp_path, corpus={"invalid_utf8": mode})
    path, offset = bad_utf8_file(tmp_path)
    cfg["corpus"]["sources"]["bad"] = {"kind": "files", "lang": "ru", "paths": [str(path)]}
    out = results_root(cfg) / "corpus" / "sources" / "bad.txt"
    proc = snakemake(cfg, tmp_path, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats, docs = read_json(out.with_suffix(".json")), read_lines(out)
    assert (stats["invalid_utf8_files"], stats["invalid_utf8_bytes"], stats["invalid_utf8"]) == (1, 1, mode)
    assert (stats["dropped_invalid_utf8"], stats["replaced_invalid_utf8"]) == ((1, 0) if mode == "drop" else (0, 1))
    assert len(docs) == stats["documents"] == (2 if mode == "drop" else 3)
    assert docs[-1].endswith("\ufffd знак.")  # the legitimate replacement character
    if mode == "replace":
        assert "\ufffd" in docs[1] and docs[1].index("\ufffd") == 20


def test_atomic_writers_leave_no_temporary_file_on_failure(tmp_path):
    from langadapt.core.io import write_json, write_lines

    def lines():
        yield "one"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_lines(tmp_path / "a.txt", lines())
    with pytest.raises(TypeError):
        write_json(tmp_path / "a.json", {"x": object()})
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ safe loading


def test_every_loader_refuses_a_pickle_only_directory(models, tmp_path):
    from langadapt.eval.evaluate import evaluate_model
    from langadapt.models.io import fetch_hf_model, load_config, load_model
    from langadapt.translate.pipeline import Seq2SeqTranslator, fetch_translation_model

    d = str(models / "pickle")
    for load in (load_model, load_config, lambda p: fetch_hf_model(p, tmp_path / "a"), Seq2SeqTranslator,
                 lambda p: fetch_translation_model(p, tmp_path / "b"),
                 lambda p: evaluate_model(p, tmp_path, [], {}, batch_size=1, max_docs=1)):
        with pytest.raises(LangadaptError, match=r"only pickle checkpoints \(pytorch_model.bin\); langadapt loads "
                                                 "safetensors only"):
            load(d)
    assert list(tmp_path.iterdir()) == []


def test_remote_code_runs_only_when_the_config_trusts_it(models):
    from langadapt.models.files import check_model_dir
    from langadapt.models.io import load_config, load_model, load_tokenizer

    d = models / "custom"
    for load in (load_model, load_config):
        with pytest.raises(LangadaptError, match=r"custom_model.CustomModel\); langadapt runs it only with "
                                                 r"models.trust_remote_code: true"):
            load(d)
    tok_dir = models / "custom_tok"
    shutil.copytree(models / "good", tok_dir, dirs_exist_ok=True)
    cfg = json.loads((tok_dir / "tokenizer_config.json").read_text())
    cfg["auto_map"] = {"AutoTokenizer": [None, "custom_model.CustomTokenizer"]}
    (tok_dir / "tokenizer_config.json").write_text(json.dumps(cfg))
    with pytest.raises(LangadaptError, match=r"tokenizer_config.json asks to run custom code "
                                             r"\(AutoTokenizer: custom_model.CustomTokenizer\)"):
        load_tokenizer(tok_dir)
    assert not (models / "marker").exists()  # nothing imported the module
    assert check_model_dir(d, trust_remote_code=True) == d  # the key lets it through


def test_the_default_config_does_not_trust_remote_code():
    from langadapt.workflow import validate_config

    cfg = validate_config(yaml.safe_load((ROOT / "config.yaml").read_text()), ROOT / "schemas/config.schema.yaml")
    assert cfg["models"]["trust_remote_code"] is False


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            yield node


def _name(func) -> str:
    return ast.unparse(func)


CODE = sorted([*ROOT.glob("langadapt/**/*.py"), *ROOT.glob("scripts/*.py")])


def test_models_load_only_through_the_checked_loaders():
    """A `from_pretrained` of a model runs only in a function that checks the directory first
    (check_model_dir; the loaders of models/io.py included), and nothing unpickles (torch.load, pickle)."""
    for path in CODE:
        tree = ast.parse(path.read_text(), str(path))
        for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            names = [_name(c.func) for c in ast.walk(fn) if isinstance(c, ast.Call)]
            loads = [n for n in names if n.endswith(".from_pretrained") and "Tokenizer" not in n]
            if loads:
                assert "check_model_dir" in names, f"{path.name}:{fn.name} loads {loads} unchecked"
        names = {_name(c.func) for c in _calls(path)}
        assert not names & {"torch.load", "pickle.load", "pickle.loads", "joblib.load"}, path
        text = path.read_text()
        assert "allow_pickle=True" not in text and "weights_only=False" not in text, path


def test_no_shell_anywhere():
    """No subprocess with shell=True, os.system or os.popen in the library and scripts: argument
    lists only, so no config value is ever parsed by a shell."""
    for path in CODE:
        for call in _calls(path):
            name = _name(call.func)
            assert name not in ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"), path
            for kw in call.keywords:
                assert not (kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and not kw.value.value)), \
                    f"{path}: {name}(shell=...)"


def test_every_rule_is_a_script_rule():
    """No rule builds a shell command (or runs inline Python) from config values: every rule's
    action is a `script:`, the rest are target rules without an action."""
    texts = {p.name: p.read_text() for p in [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]}
    rules = 0
    for name, text in texts.items():
        for m in re.finditer(r"^([ \t]*)rule (\w+):\n((?:\1[ \t]+.*\n|[ \t]*\n)*)", text, re.M):
            rules += 1
            body = m.group(3)
            actions = re.findall(r"^\s+(shell|run|script|notebook|wrapper|cwl|template_engine):", body, re.M)
            assert actions in (["script"], []), f"{name}: rule {m.group(2)} uses {actions}"
            if not actions:
                assert m.group(2) == "all", f"{name}: rule {m.group(2)} has no script"
        assert not re.search(r"^\s*(shell|run):", text, re.M), name
        assert "shell(" not in text, name
    assert rules == sum(len(re.findall(r"^\s*rule \w+:", t, re.M)) for t in texts.values()) > 20


DEB_KEYS = [
    ("corpus.sources.x.packages.0", lambda cfg, v: cfg["corpus"]["sources"].update(
        x={"kind": "deb", "lang": "ru", "packages": [v], "extractor": "fortunes"})),
    ("corpus.parallel.packages.en", lambda cfg, v: cfg["corpus"]["parallel"].update(packages={"en": v})),
    ("transfer.wechsel.dictionary_package", lambda cfg, v: cfg["transfer"]["wechsel"].update(dictionary_package=v)),
    ("translate.dictionary_package", lambda cfg, v: cfg.setdefault("translate", {}).update(dictionary_package=v)),
]


@pytest.mark.parametrize("key, put", DEB_KEYS, ids=[k for k, _ in DEB_KEYS])
@pytest.mark.parametrize("value", ["-oAPT::Get::Foo=1", "fortunes; rm -rf /", "Fortunes", "a"])
def test_debian_package_names_are_validated_before_they_reach_apt(key, put, value, monkeypatch):
    """Every config value that becomes an apt-get argument matches the package-name pattern (no
    leading '-', no spaces or shell characters); fetch_deb refuses others itself before running anything."""
    from langadapt.data import corpus
    from langadapt.workflow import validate_config

    cfg = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    put(cfg, value)
    with pytest.raises(LangadaptError, match=f"config key '{re.escape(key)}': .* does not match"):
        validate_config(cfg, ROOT / "schemas" / "config.schema.yaml")
    monkeypatch.setattr(corpus.subprocess, "run", lambda *a, **k: pytest.fail("ran a command"))
    with pytest.raises(LangadaptError, match="not a package name"):
        corpus.fetch_deb(value, "/nonexistent/out")


def test_results_dir_that_is_not_writable_for_this_user(tmp_path, monkeypatch):
    """Root writes through permission bits (so the workflow case uses a file as parent); for
    everyone else os.access decides."""
    from langadapt import workflow as config

    cfg = {"results_dir": str(tmp_path / "results"), "experiment": "x"}
    config.check_results_dir(cfg)
    monkeypatch.setattr(config.os, "access", lambda path, mode: False)
    with pytest.raises(LangadaptError, match=f"config key 'results_dir': {tmp_path}/results cannot be written: "
                                             f"{tmp_path} is not writable"):
        config.check_results_dir(cfg)
    assert list(tmp_path.iterdir()) == []


def test_sigterm_ends_a_stage_like_an_interrupt(tmp_path):
    """scancel and time limits send SIGTERM: the stage removes its temporary output and says so."""
    code = ("import time\nfrom langadapt.core.io import atomic_dir\nfrom langadapt.core.stage import stage\n"
            f"with stage({str(tmp_path / 'logs' / 'job' / 'x.log')!r}):\n"
            f"    with atomic_dir({str(tmp_path / 'out')!r}) as tmp:\n"
            "        print('started', flush=True)\n        time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "started\n"
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert [line for line in err.splitlines() if line.startswith("langadapt:")] == ["langadapt: interrupted: job/x"]
    assert "Traceback" not in err and sorted(p.name for p in tmp_path.iterdir()) == ["logs"]


def test_a_files_source_reruns_when_one_of_its_files_changes(tmp_path):
    """A `files` source's files are inputs of its corpus job: after an edit, the dry run lists
    that job again (and nothing for the untouched source)."""
    cfg = files_config(tmp_path)
    out = results_root(cfg) / "corpus" / "sources" / "ru_text.txt"
    assert snakemake(cfg, tmp_path, out).returncode == 0
    path = tmp_path / "config.yaml"

    def planned():
        proc = subprocess.run([SNAKEMAKE, str(out), str(out.with_name("en_text.txt")), "-n", "--cores", "1",
                               "--configfile", str(path), "--quiet", "rules"], cwd=ROOT, env=ENV,
                              capture_output=True, text=True, check=True)
        return {ln.split()[0]: int(ln.split()[1]) for ln in proc.stdout.splitlines()
                if len(ln.split()) == 2 and ln.split()[1].isdigit()}

    assert planned() == {"corpus_source": 1, "total": 1}  # only en_text, never run
    time.sleep(0.01)
    with open(tmp_path / "corpora" / "ru.txt", "a", encoding="utf-8") as f:
        f.write("\nЕщё один абзац текста на русском языке для проверки.\n")
    assert planned() == {"corpus_source": 2, "total": 2}

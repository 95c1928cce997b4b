"""Shared fixtures: small corpora, tokenizers of both families, tiny models, the local smoke run."""

from __future__ import annotations

import os
import random
import shutil
import signal

import pytest

RU_WORDS = ("привет мир язык модель текст слово файл данные окно строка таблица документ выбрать "
            "изменить открыть закрыть сохранить команда функция значение ячейка формат шрифт 1990 2024 год").split()
EN_WORDS = ("hello world language model text word file data window line table document select "
            "change open close save command function value cell format font").split()


def sentences(words, n, seed=0):
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(5, 14))).capitalize() + "." for _ in range(n)]


@pytest.fixture(scope="session")
def ru_docs():
    return sentences(RU_WORDS, 600, seed=1)


@pytest.fixture(scope="session")
def en_docs():
    return sentences(EN_WORDS, 600, seed=2)


@pytest.fixture(scope="session")
def byte_level_tok(en_docs, ru_docs):
    """LLaMa-3-style source tokenizer: English-heavy byte-level BPE."""
    from langadapt.train.bootstrap import train_byte_bpe

    return train_byte_bpe(en_docs + ru_docs[:30], 400)


@pytest.fixture(scope="session")
def spm_model(tmp_path_factory, ru_docs):
    from langadapt.core.io import write_lines
    from langadapt.vocab.sentencepiece import train_sentencepiece

    d = tmp_path_factory.mktemp("spm")
    write_lines(d / "ru.txt", ru_docs)
    return train_sentencepiece(d / "ru.txt", d / "sp", "bpe", 120, threads=1)


@pytest.fixture(scope="session")
def spm_tok(spm_model):
    from langadapt.vocab.sentencepiece import sentencepiece_to_hf

    return sentencepiece_to_hf(spm_model)


@pytest.fixture
def tiny_model(byte_level_tok):
    from langadapt.train.bootstrap import tiny_llama

    return tiny_llama(byte_level_tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=64, seed=0)


def untracked_files() -> set[str]:
    """Files in the repository that git does not know (a run writing outside its results_dir)."""
    import subprocess

    from snakemake_run import ROOT

    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return {line[3:] for line in out.splitlines() if line.startswith("??")}


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    """The smoke config run locally, once per session, and at the same time in the same results_dir
    a twin experiment of the same config under another name (`smoke_twin`, a clean second run for
    tests/test_reliability.py, with one lm-eval job per stage instead of per model). The workflow tests read `smoke` (some re-run it with changed values);
    test_slurm.py compares its SLURM run with `tmp/as_run`, a copy taken right after."""
    import subprocess

    from snakemake_run import ROOT, SNAKEMAKE, run_snakemake, smoke_config

    tmp = tmp_path_factory.mktemp("smoke")
    # the twin evaluates one lm-eval job per stage: its evaluations must equal the per-model jobs'
    twin_cfg = smoke_config(tmp, name="twin.yaml", experiment="smoke_twin", evaluate={"one_job_per": "stage"})
    untracked = untracked_files()
    with open(tmp / "twin.out", "w") as out:
        twin = subprocess.Popen([SNAKEMAKE, "--cores", "2", "--configfile", str(twin_cfg)], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            run_snakemake(smoke_config(tmp))
        except BaseException:
            os.killpg(twin.pid, signal.SIGTERM)
            twin.wait()
            raise
    if twin.wait() != 0:
        raise RuntimeError(f"the twin experiment failed: {(tmp / 'twin.out').read_text()[-3000:]}")
    # what the two runs left in the repository (tests/test_reliability.py expects nothing)
    (tmp / "new_in_repo").write_text("".join(f"{f}\n" for f in sorted(untracked_files() - untracked)))
    res = tmp / "results" / "smoke"
    shutil.copytree(res, tmp / "as_run" / "smoke", symlinks=True)
    return tmp, res

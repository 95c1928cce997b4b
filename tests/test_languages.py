"""Any target language by config alone: language profiles (built in, overridden, or given whole),
and French and Korean through the whole DAG at smoke size, each with its report."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from snakemake_run import ROOT, SNAKEMAKE

from langadapt.core.errors import LangadaptError
from langadapt.lang.profiles import BUILTIN, make_profile, profile
from langadapt.workflow import language_profiles, validate_config

SCHEMA = ROOT / "schemas" / "config.schema.yaml"


def config(*files: str, **changes) -> dict:
    cfg = {}
    for f in files:
        for key, value in yaml.safe_load((ROOT / f).read_text()).items():
            cfg[key] = {**cfg[key], **value} if isinstance(value, dict) and isinstance(cfg.get(key), dict) else value
    cfg.update(changes)
    validate_config(cfg, SCHEMA)
    return cfg


# ------------------------------------------------------------------ profiles


def test_every_builtin_profile_is_complete_and_its_lm_eval_tasks_exist():
    from lm_eval.tasks import TaskManager

    known = set(TaskManager().all_tasks)
    for code in BUILTIN:
        p = profile(code)
        assert p.code == code and p.name and p.scripts and sorted(p.templates) == ["continue", "copy", "first", "last"]
        iso15924 = {"Latin": "Latn", "Cyrillic": "Cyrl", "Hangul": "Hang"}[p.scripts[0]]
        assert p.nllb.endswith("_" + iso15924) and p.libreoffice_help and p.debian
        assert set(p.lm_eval_tasks) <= known, set(p.lm_eval_tasks) - known


def test_a_config_overrides_a_field_or_brings_a_whole_language(tmp_path):
    (tmp_path / "t.yaml").write_text("copy: Recopie ce texte.\ncontinue: Continue.\nfirst: Premier mot ?\n"
                                     "last: Dernier mot ?\n", encoding="utf-8")
    fr = make_profile("fr", {"templates": str(tmp_path / "t.yaml"), "stemmer": None})
    assert fr.templates["copy"] == "Recopie ce texte." and fr.stemmer is None and fr.nllb == "fra_Latn"
    uk = make_profile("uk", {"name": "Ukrainian", "scripts": ["Cyrillic"], "templates": str(tmp_path / "t.yaml")})
    assert uk.letters.fullmatch("ї") and not uk.letters.fullmatch("a") and uk.debian == {}
    with pytest.raises(LangadaptError, match=r"'languages.profiles.uk.scripts': language 'uk' is not built in"):
        make_profile("uk", {"name": "Ukrainian"})
    with pytest.raises(LangadaptError, match=r"'languages.profiles.fr.scripts': 'Klingon' is not a Unicode script"):
        make_profile("fr", {"scripts": ["Klingon"]})
    with pytest.raises(LangadaptError, match=r"'languages.profiles.fr.templates': templates need exactly the keys"):
        make_profile("fr", {"templates": {"copy": "x"}})


def test_the_profiles_fill_what_a_config_leaves_out():
    """configs/french.yaml and korean.yaml name nothing but the language: the profiles give the
    corpus, the parallel packages and the dictionaries; where no dictionary exists (en-ko) none is
    named and the pairs are induced; calibrate.lang 'target' becomes the code."""
    fr = config("config.yaml", "configs/french.yaml")
    profiles = language_profiles(fr)
    assert set(profiles) == {"en", "fr"} and fr["calibrate"]["lang"] == "fr" and fr["instruct_tune"]["lang"] == "fr"
    assert sorted(fr["corpus"]["sources"]) == ["en_bible", "en_fortunes", "en_libreoffice", "fr_libreoffice",
                                               "fr_manpages"]
    assert fr["corpus"]["parallel"]["packages"] == {"en": "libreoffice-help-en-us", "fr": "libreoffice-help-fr"}
    assert fr["translate"]["dictionary_package"] == fr["transfer"]["wechsel"]["dictionary_package"] == \
        "dict-freedict-eng-fra"
    ko = config("config.yaml", "configs/korean.yaml")
    language_profiles(ko)
    assert [k for k in ko["corpus"]["sources"] if k.startswith("ko")] == ["ko_libreoffice"]
    assert ko["translate"]["dictionary_package"] is None and ko["transfer"]["wechsel"]["dictionary_package"] is None
    ko["corpus"]["parallel"]["enabled"] = False
    with pytest.raises(LangadaptError, match=r"^config key 'translate.dictionary_package': no en-ko dictionary known"):
        language_profiles(config("config.yaml", "configs/korean.yaml", corpus={"parallel": {"enabled": False}}))
    ru = config("config.yaml")
    language_profiles(ru)
    assert ru["translate"]["dictionary_package"] == "mueller7-dict" and ru["translate"]["dictionary_format"] == "mueller"


def test_a_freedict_dictionary_is_parsed_by_its_index_and_checked_for_its_pair(tmp_path):
    """FreeDict's entries (headword /pronunciation/, numbered senses, gender and domain marks,
    indented examples) through the .index; a word list of another pair is refused."""
    import gzip

    from langadapt.data.dictionaries import check_pair_languages, read_dictionary

    entries = ["00databaseshort", "English-French FreeDict Dictionary\n"], \
        ["file", "file /fail/\n1. fichier <masc>, dossier\n2. lime <fem> [techn.]\n      \"a file\" - un fichier\n"], \
        ["open", "open /əupən/\nouvrir\n"], ["open up", "open up /x/\ns'ouvrir\n"]
    data, index = "", []
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    enc = lambda n: "".join(b64[(n >> s) & 63] for s in (12, 6, 0)).lstrip("A") or "A"  # noqa: E731
    for head, body in entries:
        index.append(f"{head}\t{enc(len(data.encode()))}\t{enc(len(body.encode()))}")
        data += body
    d = tmp_path / "usr/share/dictd"
    d.mkdir(parents=True)
    with gzip.open(d / "freedict-eng-fra.dict.dz", "wt", encoding="utf-8") as f:
        f.write(data)
    (d / "freedict-eng-fra.index").write_text("\n".join(index) + "\n")
    pairs = read_dictionary(tmp_path, None, "en", "fr")
    assert pairs == [("file", "fichier"), ("file", "dossier"), ("file", "lime"), ("open", "ouvrir")]
    words = ("ouvrir fermer enregistrer fichier dossier fenêtre tableau cellule texte police avec pour dans le la les "
             "un une des et est sont choisir changer commande valeur ligne").split()
    heads = ("open close save file folder window table cell text font with for in the the the a an some and is are "
             "choose change command value line").split()
    with pytest.raises(LangadaptError, match=r"^d: its translations read as 'fr', not 'de': a dictionary for another "
                                             r"language pair than en-de$"):
        check_pair_languages(list(zip(heads, words)) * 4, "en", "de", "d")
    check_pair_languages(list(zip(heads, words)) * 4, "en", "fr", "d")


# ------------------------------------------------------------------ French and Korean end to end


def language_smoke(tmp, target: str, sources: dict, parallel: bool) -> dict:
    """configs/smoke.yaml for another target language, one vocabulary, two initializations (mean,
    and WECHSEL, which needs the dictionary), conversion only, one CLO size."""
    cfg = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    cfg.update(experiment=f"smoke_{target}", results_dir=str(tmp / "results"), languages={"target": target},
               threads={"train": 1, "light": 1, "eval": 1})
    cfg["corpus"].update(sources=sources, max_train_bytes={target: 400000, "en": 400000},
                         parallel={"enabled": parallel})
    cfg["tokenizer"]["variants"] = {"bpe": {"kind": "bpe", "size": 800}}
    # Hangul takes the English-centric source tokenizer 1.2 characters a token: room to copy 60
    cfg["models"]["bootstrap"]["max_len"] = 256
    cfg["transfer"]["compare"] = {"vocab": "bpe", "methods": ["mean", "wechsel"]}
    cfg["transfer"]["wechsel"]["corpus"] = "parallel" if parallel else "train"
    cfg["lep"] = {"methods": ["conversion"], "compare": "conversion", "tune": "conversion"}
    cfg["calibrate"]["lang"] = "target"
    cfg["clo"]["sizes"] = [8]
    cfg["evaluate"].update(one_job_per="stage", copy={"docs": 6, "max_chars": 60, "instruction": None})
    return cfg


def start_language_runs(tmp) -> dict:
    """Start the French (Latin, like English; FreeDict dictionary) and Korean (Hangul; the
    dictionary induced from the LibreOffice help's alignment) runs, side by side, one core each.
    tests/conftest.py calls this as the session starts when these tests are selected, so the runs
    take the core that the many single-process tests before them leave idle."""
    fortunes = {"kind": "deb", "lang": "en", "packages": ["fortunes"], "extractor": "fortunes"}
    cfgs = {"fr": language_smoke(tmp, "fr", {"fr_manpages": {"kind": "deb", "lang": "fr", "packages": ["manpages-fr"],
                                                             "extractor": "manpages"}, "en_fortunes": fortunes},
                                 parallel=False),
            "ko": language_smoke(tmp, "ko", {"ko_libreoffice": {"kind": "deb", "lang": "ko",
                                                                "packages": ["libreoffice-help-ko"],
                                                                "extractor": "libreoffice_help"},
                                             "en_fortunes": fortunes}, parallel=True)}
    runs = {}
    for lang, cfg in cfgs.items():
        (tmp / f"{lang}.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
        with open(tmp / f"{lang}.out", "w") as out:
            runs[lang] = subprocess.Popen([SNAKEMAKE, "--cores", "1", "--configfile", str(tmp / f"{lang}.yaml")],
                                          cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return {"tmp": tmp, "procs": runs}


@pytest.fixture(scope="module")
def languages(request, tmp_path_factory):
    runs = getattr(request.config, "language_runs", None) or start_language_runs(tmp_path_factory.mktemp("languages"))
    tmp = runs["tmp"]
    for lang, proc in runs["procs"].items():
        assert proc.wait() == 0, (tmp / f"{lang}.out").read_text()[-4000:]
    return {lang: tmp / "results" / f"smoke_{lang}" for lang in runs["procs"]}


def rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.workflow
def test_french_runs_end_to_end_and_is_told_apart_from_english(languages):
    import pandas as pd

    res = languages["fr"]
    assert (res / "report" / "summary.md").exists() and (res / "report" / "claims.csv").exists()
    stats = json.loads((res / "corpus" / "sources" / "fr_manpages.json").read_text())
    assert stats["lang"] == "fr" and stats["documents"] > 500
    # the French vocabulary cuts French text into fewer tokens than the English-centric source's
    fr = pd.read_csv(res / "report" / "tokenizers.csv").set_index("tokenizer")["chars_per_token_fr"]
    assert fr["bpe"] > fr["source"]
    # the response-language task asks in French and tells French from English by the identifier
    lang_rows = rows(res / "eval" / "tasks" / "langadapt_lang_fr.jsonl")
    assert all(r["rivals"] == ["en"] and r["scripts"] == ["Latin"] for r in lang_rows)
    assert any(r["prompt"].startswith(("Répète", "Quel est")) for r in lang_rows)
    summary = pd.read_csv(res / "report" / "summary.csv")
    assert {"in_lang_fr", "in_lang_en", "bpb_fr"} <= set(summary.columns)
    # FreeDict's English-French dictionary: WECHSEL's alignment and the translator use it
    assert json.loads((res / "aux" / "wechsel" / "bpe.json").read_text())["dictionary_pairs"] > 5000
    translated = rows(res / "translate" / "instructions.jsonl")
    assert all("en" in r and "fr" in r for r in translated)
    sense = json.loads((res / "translate" / "stats.json").read_text())["translator"]["senses"]
    assert sense["dictionary_first_sense"] > 3000


@pytest.mark.workflow
def test_korean_runs_end_to_end_with_a_dictionary_induced_from_the_aligned_help(languages):
    import pandas as pd
    import regex

    res = languages["ko"]
    assert (res / "report" / "summary.md").exists()
    assert json.loads((res / "corpus" / "sources" / "ko_libreoffice.json").read_text())["lang"] == "ko"
    pairs = rows(res / "corpus" / "parallel" / "train.jsonl")
    assert len(pairs) > 1000 and all(regex.search(r"\p{Hangul}", p["ko"]) for p in pairs[:100])
    # no English-Korean dictionary in Debian: the pairs come from the alignment
    assert json.loads((res / "aux" / "wechsel" / "bpe.json").read_text())["dictionary_pairs"] > 100
    senses = json.loads((res / "translate" / "stats.json").read_text())["translator"]["senses"]
    assert senses["dictionary_first_sense"] == 0 and senses["corpus_only"] > 100
    translated = [r["ko"] for r in rows(res / "translate" / "instructions.jsonl") if r["ko"]]
    assert sum(bool(regex.search(r"\p{Hangul}", m["content"])) for c in translated for m in c) > len(translated)
    lang_rows = rows(res / "eval" / "tasks" / "langadapt_lang_ko.jsonl")
    assert all(r["rivals"] == [] and r["scripts"] == ["Hangul"] for r in lang_rows)
    ko = pd.read_csv(res / "report" / "tokenizers.csv").set_index("tokenizer")["chars_per_token_ko"]
    assert ko["bpe"] > ko["source"]


@pytest.mark.workflow
def test_two_experiments_ran_at_once_in_one_results_dir_without_touching_each_other(languages):
    """The French and Korean runs ran concurrently in one results_dir: each wrote only under its
    own results_dir/experiment, named none of the other's files, and their jobs overlapped in time."""
    fr, ko = languages["fr"], languages["ko"]
    assert sorted(p.name for p in fr.parent.iterdir()) == ["smoke_fr", "smoke_ko"]
    texts = (".json", ".jsonl", ".yaml", ".csv", ".md", ".tsv", ".log", ".txt")
    for own, other in ((fr, ko), (ko, fr)):
        needle = f"{other}/"
        mentions = [str(p.relative_to(own)) for p in own.rglob("*")
                    if p.is_file() and p.suffix in texts and needle in p.read_text(errors="replace")]
        assert not mentions, f"{own.name} names files of {other.name}: {mentions[:5]}"
    spans = []
    for root in (fr, ko):
        times = [p.stat().st_mtime for p in (root / "logs").rglob("*.log")]
        spans.append((min(times), max(times)))
    assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1], spans

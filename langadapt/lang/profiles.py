"""Language profiles: everything the pipeline knows about a language, in one place.

A profile names a language's script(s), its Snowball stemmer, the instruction and copy templates
of the bootstrapped instruct model, calibration, tuning and the evaluation, its Debian corpora and
the LibreOffice help that aligns it with another language, the bilingual dictionaries from other
languages into it, its NLLB and M2M100 codes and the lm-eval tasks that exist for it. Built-in
profiles live in BUILTIN; a config's `languages.profiles.<code>` overrides any field of one, or
gives a whole profile for a language not built in (`name` and `scripts` at least).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import regex
import yaml

from langadapt.core.errors import LangadaptError

KINDS = ("copy", "continue", "first", "last")


@dataclass(frozen=True)
class Profile:
    code: str  # ISO 639-1 where there is one (the code of py3langid's model), else ISO 639-3
    name: str  # its English name, as prompts to a translation model name it
    scripts: tuple[str, ...]  # Unicode script names (\p{Script=...}) its letters are written in
    templates: dict[str, str]  # instructions, one per KINDS
    stemmer: str | None = None  # a snowballstemmer algorithm
    nllb: str | None = None  # NLLB-200 code, e.g. fra_Latn
    m2m: str | None = None  # M2M100 / Marian code, e.g. fr
    libreoffice_help: str | None = None  # the Debian package of the LibreOffice help in it
    # Debian corpus sources: name suffix -> {packages: [...], extractor: ...}
    debian: dict[str, dict] = field(default_factory=dict)
    # bilingual dictionaries into this language, by source language: {package, format} or
    # {path, format}; none: induced from the parallel corpus where one is configured
    dictionaries: dict[str, dict] = field(default_factory=dict)
    lm_eval_tasks: tuple[str, ...] = ()  # lm-eval's built-in tasks in it (datasets from the hub)

    @property
    def letters(self) -> regex.Pattern:
        """One letter of this language's scripts."""
        return script_letters(self.scripts)

    def to_dict(self) -> dict:
        """Plain data (rule params, JSON): a dict that `profile()` turns back into this profile."""
        return asdict(self)


@functools.cache
def script_letters(scripts: tuple[str, ...]) -> regex.Pattern:
    """One letter of any of `scripts` (Unicode script names)."""
    return regex.compile(r"[\p{L}&&[" + "".join(rf"\p{{Script={s}}}" for s in scripts) + "]]", regex.V1)


_LO = "libreoffice_help"
BUILTIN: dict[str, dict] = {
    "en": dict(name="English", scripts=["Latin"], stemmer="english", nllb="eng_Latn",
               templates={"copy": "Repeat the following text exactly.", "continue": "Continue the text.",
                          "first": "What is the first word of this text?",
                          "last": "What is the last word of this text?"},
               libreoffice_help="libreoffice-help-en-us",
               debian={"libreoffice": {"packages": ["libreoffice-help-en-us"], "extractor": _LO},
                       "fortunes": {"packages": ["fortunes"], "extractor": "fortunes"},
                       "bible": {"packages": ["bible-kjv", "bible-kjv-text"], "extractor": "bible"}},
               lm_eval_tasks=["xstorycloze_en", "xwinograd_en", "belebele_eng_Latn", "xnli_en",
                              "global_mmlu_full_en"]),
    "ru": dict(name="Russian", scripts=["Cyrillic"], stemmer="russian", nllb="rus_Cyrl",
               templates={"copy": "Повтори следующий текст в точности.", "continue": "Продолжи текст.",
                          "first": "Какое первое слово в этом тексте?",
                          "last": "Какое последнее слово в этом тексте?"},
               libreoffice_help="libreoffice-help-ru",
               debian={"fortunes": {"packages": ["fortunes-ru"], "extractor": "fortunes"},
                       "libreoffice": {"packages": ["libreoffice-help-ru"], "extractor": _LO},
                       "manpages": {"packages": ["manpages-ru"], "extractor": "manpages"}},
               dictionaries={"en": {"package": "mueller7-dict", "format": "mueller"}},
               lm_eval_tasks=["xstorycloze_ru", "xwinograd_ru", "belebele_rus_Cyrl", "xnli_ru",
                              "global_mmlu_full_ru"]),
    "fr": dict(name="French", scripts=["Latin"], stemmer="french", nllb="fra_Latn",
               templates={"copy": "Répète exactement le texte suivant.", "continue": "Continue le texte.",
                          "first": "Quel est le premier mot de ce texte ?",
                          "last": "Quel est le dernier mot de ce texte ?"},
               libreoffice_help="libreoffice-help-fr",
               debian={"libreoffice": {"packages": ["libreoffice-help-fr"], "extractor": _LO},
                       "manpages": {"packages": ["manpages-fr"], "extractor": "manpages"}},
               dictionaries={"en": {"package": "dict-freedict-eng-fra", "format": "freedict"}},
               lm_eval_tasks=["xwinograd_fr", "belebele_fra_Latn", "xnli_fr", "paws_fr", "global_mmlu_full_fr"]),
    "de": dict(name="German", scripts=["Latin"], stemmer="german", nllb="deu_Latn",
               templates={"copy": "Wiederhole den folgenden Text genau.", "continue": "Setze den Text fort.",
                          "first": "Was ist das erste Wort dieses Textes?",
                          "last": "Was ist das letzte Wort dieses Textes?"},
               libreoffice_help="libreoffice-help-de",
               debian={"fortunes": {"packages": ["fortunes-de"], "extractor": "fortunes"},
                       "libreoffice": {"packages": ["libreoffice-help-de"], "extractor": _LO},
                       "manpages": {"packages": ["manpages-de"], "extractor": "manpages"}},
               dictionaries={"en": {"package": "dict-freedict-eng-deu", "format": "freedict"}},
               lm_eval_tasks=["belebele_deu_Latn", "xnli_de", "paws_de", "global_mmlu_full_de"]),
    "es": dict(name="Spanish", scripts=["Latin"], stemmer="spanish", nllb="spa_Latn",
               templates={"copy": "Repite exactamente el siguiente texto.", "continue": "Continúa el texto.",
                          "first": "¿Cuál es la primera palabra de este texto?",
                          "last": "¿Cuál es la última palabra de este texto?"},
               libreoffice_help="libreoffice-help-es",
               debian={"fortunes": {"packages": ["fortunes-es"], "extractor": "fortunes"},
                       "libreoffice": {"packages": ["libreoffice-help-es"], "extractor": _LO},
                       "manpages": {"packages": ["manpages-es"], "extractor": "manpages"}},
               dictionaries={"en": {"package": "dict-freedict-eng-spa", "format": "freedict"}},
               lm_eval_tasks=["xstorycloze_es", "belebele_spa_Latn", "xnli_es", "paws_es", "global_mmlu_full_es"]),
    # Debian has no English-Korean dictionary, fortunes or manual pages in Korean: the corpus is the
    # LibreOffice help, the dictionary is induced from its alignment (docs/languages.md)
    "ko": dict(name="Korean", scripts=["Hangul"], nllb="kor_Hang",
               templates={"copy": "다음 텍스트를 그대로 반복하세요.", "continue": "텍스트를 이어서 쓰세요.",
                          "first": "이 텍스트의 첫 번째 단어는 무엇인가요?",
                          "last": "이 텍스트의 마지막 단어는 무엇인가요?"},
               libreoffice_help="libreoffice-help-ko",
               debian={"libreoffice": {"packages": ["libreoffice-help-ko"], "extractor": _LO}},
               lm_eval_tasks=["belebele_kor_Hang", "kobest_boolq", "kobest_copa", "kobest_hellaswag",
                              "kobest_sentineg", "kobest_wic", "global_mmlu_full_ko", "kmmlu"]),
}
FIELDS = {f.name for f in fields(Profile)}


def read_templates(value, where: str) -> dict[str, str]:
    """Templates as given: a mapping, or the path of a YAML/JSON file holding one."""
    if isinstance(value, str):
        path = Path(value)
        if not path.is_file():
            raise LangadaptError(f"config key '{where}': templates file {path} not found")
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict) or sorted(value) != sorted(KINDS) or \
            not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise LangadaptError(f"config key '{where}': templates need exactly the keys {', '.join(KINDS)}, "
                             "each a non-empty string")
    return dict(value)


def make_profile(code: str, overrides: dict | None = None, where: str = "languages") -> Profile:
    """The built-in profile of `code` with `overrides` (a config's languages.profiles.<code>)."""
    base = dict(BUILTIN.get(code, {}))
    over = dict(overrides or {})
    if not base and not over:
        raise LangadaptError(f"config key '{where}': no profile for language '{code}' (built in: "
                             f"{', '.join(sorted(BUILTIN))}); give languages.profiles.{code} with at least "
                             "name, scripts and templates")
    unknown = sorted(set(over) - FIELDS)
    if unknown:
        raise LangadaptError(f"config key 'languages.profiles.{code}.{unknown[0]}': not a profile field "
                             f"({', '.join(sorted(FIELDS - {'code'}))})")
    data = {**base, **over, "code": code}
    missing = [k for k in ("name", "scripts", "templates") if not data.get(k)]
    if missing:
        raise LangadaptError(f"config key 'languages.profiles.{code}.{missing[0]}': language '{code}' is not "
                             "built in, so its profile needs it")
    data["templates"] = read_templates(data["templates"], f"languages.profiles.{code}.templates")
    for s in data["scripts"]:
        try:
            regex.compile(rf"\p{{Script={s}}}")
        except regex.error:
            raise LangadaptError(f"config key 'languages.profiles.{code}.scripts': '{s}' is not a Unicode "
                                 "script name (Latin, Cyrillic, Hangul, Han, Arabic, ...)") from None
    data["scripts"] = tuple(data["scripts"])
    data.setdefault("m2m", code)  # M2M100's codes are ISO 639-1 codes
    data["lm_eval_tasks"] = tuple(data.get("lm_eval_tasks") or ())
    return Profile(**data)


def profile(lang: str | dict | Profile) -> Profile:
    """A profile from a code (built in), its dict (a rule's params) or itself."""
    if isinstance(lang, Profile):
        return lang
    if isinstance(lang, dict):
        return make_profile(lang["code"], {k: v for k, v in lang.items() if k != "code"})
    return _builtin(lang)


@functools.cache
def _builtin(code: str) -> Profile:
    return make_profile(code)


def shared_scripts(a: Profile, b: Profile) -> bool:
    """Whether two languages are written (partly) in one script, so that script alone cannot tell them apart."""
    return bool(set(a.scripts) & set(b.scripts))

"""The dictionary translator's word table: senses chosen by the parallel corpus."""

import pytest

from langadapt.core.errors import LangadaptError
from langadapt.data.lexicon import build_lexicon
from langadapt.translate.pipeline import DictionaryTranslator

# Mueller-like: the wrong sense listed first, "click" missing, "the" with a junk sense
PAIRS = [("file", "напильник"), ("file", "файл"), ("save", "сохранить"), ("save", "спасти"),
         ("the", "этот"), ("open", "открыть"), ("menu", "меню"), ("window", "окно")]


def _parallel():
    pairs = []
    for k in range(6):
        pairs += [(f"Save the file {k}.", f"Сохраните файл {k}."), (f"Open the files {k}.", f"Откройте файлы {k}."),
                  (f"Open the menu {k}.", f"Откройте меню {k}."), (f"Close the window {k}.", f"Закройте окно {k}.")]
    pairs += [(f"Click the {en}.", f"Щёлкните {ru}.") for en, ru in
              [("button", "кнопку"), ("link", "ссылку"), ("icon", "значок"), ("tab", "вкладку")]]
    return pairs


def test_corpus_chooses_the_sense_learns_missing_words_and_drops_articles():
    lex = build_lexicon(PAIRS, _parallel(), "en", "ru")
    out = lex.translate_words(["file", "files", "the", "click", "window", "spam"])
    assert out["file"] in ("файл", "файлы") and out["files"] == out["file"]  # not напильник; inflection shares the stem
    assert out["the"] == ""  # in every sentence, tied to no Russian word more than by chance
    assert out["click"] == "щёлкните"  # not in the dictionary; the corpus's own association
    assert out["window"] == "окно" and out["spam"] is None
    assert lex.sources["dropped"] >= 1 and lex.sources["corpus_only"] >= 1


def test_without_a_corpus_the_first_listed_sense():
    lex = build_lexicon(PAIRS, None, "en", "ru")
    assert lex.translate_words(["file", "the"]) == {"file": "напильник", "the": "этот"}


def test_translator_hands_a_dropped_capital_on_and_keeps_indicators():
    tr = DictionaryTranslator(PAIRS, _parallel(), "en", "ru")
    got = tr.translate(["[1] The window 2.\n[2] Click the menu, then save the file."])[0]
    assert got.startswith("[1] Окно 2.\n[2] Щёлкните меню, then сохраните файл") and "напильник" not in got


def test_a_dictionary_without_single_words_is_refused():
    with pytest.raises(LangadaptError, match="no single-word"):
        build_lexicon([("open up", "раскрыть")], None, "en", "ru")


def test_without_a_dictionary_word_pairs_are_induced_from_the_aligned_corpus():
    """A pair with no dictionary (English-Korean in Debian): the corpus's own associations, one
    target word per source word; function words tied to nothing are left out."""
    from langadapt.data.lexicon import induced_pairs

    pairs = dict(induced_pairs(_parallel(), "en", "ru"))
    assert (pairs["click"], pairs["menu"], pairs["save"]) == ("щёлкните", "меню", "сохраните") and "the" not in pairs

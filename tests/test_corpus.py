"""Corpus sources and splits: cleaning drops short, wrong-script, undecodable and duplicate
documents; the held-out split by hash is deterministic and order-independent and caps the train
bytes; the fortunes, manpage and LibreOffice extractors (paragraphs aligned on page and id across
languages); a `files` source, a corpus empty after cleaning and a missing Debian package are one
clear line each."""

import gzip
import shutil

import pytest

from langadapt.core.errors import LangadaptError
from langadapt.data import corpus


def test_clean_drops_short_wrong_script_invalid_and_duplicates():
    bad = corpus.decode_utf8("Битый текст с плохим байтом".encode() + b"\xff", "x", {})
    docs = ["Привет,   мир!\nКак дела сегодня?", "Привет, мир! Как дела сегодня?", "short",
            "This is English text, not Russian at all.", bad, "Законный \ufffd символ замены в тексте"]
    kept, c = corpus.clean_documents(docs, "ru", min_chars=10, min_script_ratio=0.5)
    assert kept == ["Привет, мир! Как дела сегодня?", "Законный \ufffd символ замены в тексте"]
    assert c == {"raw": 6, "dropped_short_or_script": 2, "dropped_invalid_utf8": 1, "replaced_invalid_utf8": 0,
                 "dropped_duplicate": 1}
    kept, c = corpus.clean_documents(docs, "ru", min_chars=10, min_script_ratio=0.5, invalid_utf8="replace")
    assert kept[1] == "Битый текст с плохим байтом\ufffd" and c["replaced_invalid_utf8"] == 1


def test_split_is_deterministic_and_order_independent():
    docs = [f"document number {i} with some text" for i in range(2000)]
    tr1, ho1 = corpus.split_documents(docs, 0.1)
    tr2, ho2 = corpus.split_documents(list(reversed(docs)), 0.1)
    assert set(ho1) == set(ho2) and set(tr1) == set(tr2)
    assert not set(tr1) & set(ho1)
    assert 120 < len(ho1) < 280


def test_split_caps_train_bytes():
    docs = [f"документ {i} " * 5 for i in range(500)]
    train, _ = corpus.split_documents(docs, 0.05, max_train_bytes=2000)
    assert 0 < sum(len(d.encode()) + 1 for d in train) <= 2000


def test_fortunes_extractor(tmp_path):
    d = tmp_path / "usr/share/games/fortunes/ru"
    d.mkdir(parents=True)
    (d / "jokes").write_text("Первая шутка.\n\t-- Автор\n%\nВторая шутка.\n%\n")
    (d / "jokes.dat").write_bytes(b"\x00\x01")
    docs = list(corpus.extract_fortunes(tmp_path, {}))
    assert docs[0].startswith("Первая шутка.") and docs[1].strip() == "Вторая шутка."
    assert len([x for x in docs if x.strip()]) == 2


def test_manpage_markup_is_stripped(tmp_path):
    d = tmp_path / "usr/share/man/ru/man1"
    d.mkdir(parents=True)
    roff = ".TH CAT 1\n.SH ИМЯ\ncat \\- объединяет файлы\n.PP\n\\fBcat\\fP выводит \\fIФАЙЛ\\fP на экран\n"
    (d / "cat.1.gz").write_bytes(gzip.compress(roff.encode()))
    assert list(corpus.extract_manpages(tmp_path, {})) == ["cat - объединяет файлы", "cat выводит ФАЙЛ на экран"]


def test_libreoffice_alignment_by_paragraph_id(tmp_path):
    for lang, a, b in [("en-US", "Select the text you want to change.", "Choose Format - Text."),
                       ("ru", "Выделите текст, который требуется изменить.", "Choose Format - Text.")]:
        p = tmp_path / lang / "usr/share/libreoffice/help" / lang / "text/swriter"
        p.mkdir(parents=True)
        (p / "page.html").write_text(f'<p id="par_1" class="x">{a}</p><p id="par_2">{b}</p>')
    pairs = corpus.align_parallel(corpus.libreoffice_paragraphs(tmp_path / "en-US", {}),
                                  corpus.libreoffice_paragraphs(tmp_path / "ru", {}), ("en", "ru"), min_chars=5)
    assert pairs == [{"id": "swriter/page.html#par_1", "en": "Select the text you want to change.",
                      "ru": "Выделите текст, который требуется изменить."}]


def test_files_source_and_empty_after_cleaning(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("Это первый абзац текста на русском.\n\nЭто второй абзац текста на русском.\n")
    src = {"kind": "files", "lang": "ru", "paths": [str(tmp_path / "*.txt")], "unit": "paragraph"}
    stats = corpus.write_source("mine", src, [], tmp_path / "o.txt", tmp_path / "o.json", min_chars=10,
                                min_script_ratio=0.5)
    assert stats["documents"] == 2
    en = {"kind": "files", "lang": "en", "paths": [str(f)], "unit": "paragraph"}
    with pytest.raises(LangadaptError, match="corpus source 'mine': empty after cleaning"):
        corpus.write_source("mine", en, [], tmp_path / "e.txt", tmp_path / "e.json", min_chars=10,
                            min_script_ratio=0.5)
    assert not (tmp_path / "e.txt").exists()
    with pytest.raises(LangadaptError, match=r"config key .corpus.sources.x.paths.: .*nope\*. matches no file"):
        list(corpus.source_documents("x", {"kind": "files", "lang": "ru", "paths": [str(tmp_path / "nope*")]}, [], {}))


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get")
def test_missing_debian_package_is_one_clear_line(tmp_path):
    with pytest.raises(LangadaptError, match="Debian package 'no-such-package-langadapt'"):
        corpus.fetch_deb("no-such-package-langadapt", tmp_path / "out", apt_update="never")
    assert not (tmp_path / "out").exists()


def test_an_hf_dataset_without_the_text_field_is_one_line_naming_the_key(tmp_path):
    """A dataset streamed as the hub's are (here a local directory of JSON lines, offline)."""
    import json

    (tmp_path / "ds").mkdir()
    rows = [{"content": f"Документ номер {i} на русском языке."} for i in range(5)]
    (tmp_path / "ds" / "train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    src = {"kind": "hf", "lang": "ru", "dataset": str(tmp_path / "ds"), "text_field": "text", "max_bytes": 10**6}
    with pytest.raises(LangadaptError, match=r"^config key 'corpus.sources.web.text_field': dataset .*/ds has no "
                                             r"field 'text' \(its fields: content\)$"):
        corpus.write_source("web", src, [], tmp_path / "o.txt", tmp_path / "o.json", min_chars=10, min_script_ratio=0.5)
    assert not (tmp_path / "o.txt").exists() and not list(tmp_path.glob(".o.*"))
    stats = corpus.write_source("web", dict(src, text_field="content"), [], tmp_path / "o.txt", tmp_path / "o.json",
                                min_chars=10, min_script_ratio=0.5)
    assert stats["documents"] == 5


def test_script_shares_of_a_batch_are_the_per_document_regex_counts():
    """The batch's table lookup counts exactly what the regexes match, astral characters included."""
    import regex

    texts = ["Привет, мир! Hello", "123 456 ___", "ɐ ǅ Ⅻ ² 𝔸𝔹 Жж 😀", "English only", "Смешанный text ёЁ", "x",
             "한국어 텍스트 abc", "Ça été déjà vu"]
    letter = regex.compile(r"[^\W\d_]")  # a letter; of the language's script: also \p{L} (not Ⅻ, a number)
    for lang, script in (("ru", r"\p{Cyrillic}"), ("en", r"\p{Latin}"), ("ko", r"\p{Hangul}")):
        want = []
        for t in texts:
            n = len(letter.findall(t))
            ours = [c for c in letter.findall(t) if regex.fullmatch(script, c) and regex.fullmatch(r"\p{L}", c)]
            want.append(len(ours) / n if n else 0.0)
        assert corpus.script_shares(texts, lang).tolist() == want

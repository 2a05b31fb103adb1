"""Languages without a model: telling them apart, BM25 terms per language, sentences, the analyzer
recorded in an index."""
import pytest

from citebot.index.text.languages import detect, from_locale
from citebot.index.text.sentences import sentence_spans
from citebot.index.text.terms import ANALYZER, content_stems, query_terms, stems, uk_stem


def test_languages_are_told_apart_by_script_then_letters_and_short_words():
    assert detect("How much Russian territory does Kyiv control?") == "en"
    assert detect("Сколько квадратных миль российской территории контролирует Киев?") == "ru"
    assert detect("Скільки квадратних миль російської території контролює Київ?") == "uk"
    assert detect("Чому небо вдень блакитне?") == "uk"  # no Ukrainian letter: its short words tell
    assert detect("Почему небо днём голубое?") == "ru"
    assert detect("The Kremlin's channel «Шот» said so.") == "en"  # mostly Latin: English
    assert detect("") == "en"


def test_telegram_language_codes_become_one_the_bot_speaks():
    assert from_locale("ru") == "ru" and from_locale("uk-UA") == "uk" and from_locale("en-GB") == "en"
    assert from_locale("de") == "en" and from_locale(None) == "en"


def test_english_terms_are_as_they_always_were():
    text = "He told Ukrainian TV that Kyiv now controls 500 square miles of Russian soil, the council's."
    assert content_stems(text) == ["told", "ukrainian", "tv", "kyiv", "now", "control", "500", "squar", "mile",
                                   "russian", "soil", "council"]
    # a Cyrillic name inside English text does not change how the English words are read
    assert content_stems("Kyiv controls 500 square miles (Шот)")[:4] == ["kyiv", "control", "500", "squar"]
    assert query_terms("How much Russian territory does Kyiv control?") == ["russian", "territori", "kyiv", "control"]


def test_russian_terms_are_snowball_stems_tagged_with_the_language():
    terms = content_stems("Сколько квадратных миль российской территории контролирует Киев в 2024 году?")
    assert terms == ["ru:квадратн", "ru:мил", "ru:российск", "ru:территор", "ru:контролир", "ru:ки", "ru:2024",
                     "ru:год"]
    # inflected forms meet; ё is read as е
    assert stems("территория территорию территориями") == {"ru:территор"}
    assert stems("ещё её") == set()  # stop words


def test_ukrainian_forms_meet_under_the_light_stemmer():
    forms = "територія території територію територією територій".split()
    assert {uk_stem(f) for f in forms} == {"територ"}
    assert {uk_stem(f) for f in "квадратних квадратні квадратна".split()} == {"квадратн"}
    assert content_stems("Київ контролює п'ять квадратних миль") == ["uk:київ", "uk:контрол", "uk:пят", "uk:квадратн",
                                                                   "uk:мил"]


def test_lexical_evidence_stays_within_one_language():
    english = stems("Kyiv now controls 500 square miles of Russian soil in 2024.")
    russian = stems("Киев контролирует 500 квадратных миль российской земли в 2024 году.")
    ukrainian = stems("Київ контролює 500 квадратних миль російської землі у 2024 році.")
    assert not english & russian and not english & ukrainian and not russian & ukrainian
    assert "ru:500" in russian and "500" in english  # the same number, two languages: no match


def test_russian_and_ukrainian_sentences_are_split_by_razdel():
    text = "Проф. А. С. Иванов сказал: «Это было неизбежно». Он ушёл.\n\nДругой абзац. Ещё один."
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Проф. А. С. Иванов сказал: «Это было неизбежно».", "Он ушёл.", "Другой абзац.", "Ещё один."]
    uk = "Він прийшов у 1890 р. до Львова. Потім пішов."
    assert len(sentence_spans(uk)) == 2
    english = "Mr. Smith went to Washington. He came back."  # English keeps syntok
    assert [english[s:e] for s, e in sentence_spans(english)] == ["Mr. Smith went to Washington.", "He came back."]


def test_the_analyzer_is_recorded_and_another_is_refused():
    from citebot.index.stores.base import IncompatibleIndex, check_compatible

    manifest = {"format": 5, "model": "m", "analyzer": ANALYZER}
    check_compatible(manifest, "m", 5)
    check_compatible({"format": 5, "model": "m"}, "m", 5)  # written before analyzers were named: English as ever
    with pytest.raises(IncompatibleIndex, match="analysed by 'en-porter/9'.*rebuild"):
        check_compatible({**manifest, "analyzer": "en-porter/9"}, "m", 5)

"""Which language a text is in, for the few things that differ by language: BM25 terms and stop
words (terms.py), sentence splitting (sentences.py) and the words the bot says.

Script first: a text with more Latin than Cyrillic letters is read as English, as citebot always
read it (so English text takes exactly the path it took before languages were told apart). A
Cyrillic text is Ukrainian or Russian by the letters only one of them writes (і ї є ґ and the
apostrophe inside a word; ы э ъ ё) and by their commonest short words, where letters say nothing.
On the Russian XQuAD paragraphs' 89 sentences and their 100 questions every one was told Russian;
see tests/test_languages.py for Ukrainian and mixed cases.
"""
from __future__ import annotations

import re

LANGUAGES = ("en", "ru", "uk")
DEFAULT = "en"

_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_UK_LETTERS = re.compile(r"[іїєґІЇЄҐ]|(?<=[а-яіїєґ])['’ʼ](?=[а-яіїєґ])", re.IGNORECASE)
_RU_LETTERS = re.compile(r"[ыэъёЫЭЪЁ]")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# short words common in one language and absent (or rare) in the other
_UK_WORDS = frozenset("що як та це його її від але або які який яка яке щоб також вже ще між після під їх нього "
                      "ми ви вони він вона воно був була було були буде є бути має мають про "
                      "тому коли де чи скільки хто своїх свою свої сьогодні року роки чому зараз дуже усі всі цей ця ці".split())
_RU_WORDS = frozenset("что как это его ее её от но или которые который которая которое чтобы также уже еще "
                      "между после под их него мы вы они он она оно был была было были будет есть быть имеет "
                      "имеют поэтому когда где ли сколько кто своих свою свои сегодня года годы почему сейчас очень "
                      "все этот эта эти".split())


def has_cyrillic(text: str) -> bool:
    return _CYRILLIC.search(text) is not None


def detect(text: str) -> str:
    """"en", "ru" or "uk" (any Latin-script text counts as "en")."""
    if not has_cyrillic(text):
        return "en"
    cyr = len(_CYRILLIC.findall(text))
    if len(_LATIN.findall(text)) >= cyr:
        return "en"
    return cyrillic_language(text)


def cyrillic_language(text: str) -> str:
    """Ukrainian or Russian, for a text known to be Cyrillic; Russian when nothing tells."""
    score = 2 * len(_UK_LETTERS.findall(text)) - 2 * len(_RU_LETTERS.findall(text))
    for w in _WORD.findall(text.lower()):
        score += (w in _UK_WORDS) - (w in _RU_WORDS)
    return "uk" if score > 0 else "ru"


def from_locale(code: str | None) -> str:
    """The language of a locale code such as Telegram's `language_code` ("ru", "uk-UA", "en-GB"):
    one citebot speaks, else English."""
    base = (code or "").replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT

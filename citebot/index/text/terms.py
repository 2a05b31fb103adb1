"""Words as BM25 and lexical sentence scoring see them, per language. One analyzer for chunks and
questions, so their terms always meet.

English (and any Latin-script text): lower-cased, split at apostrophes, Porter stems, stop words
left out; exactly as before other languages came. Russian: Snowball's Russian stemmer (ё read as
е). Ukrainian, which Snowball lacks: a light stemmer that strips one inflectional ending
(`uk_stem`). Each language has its stop words, and the terms of a Russian or Ukrainian text carry
its language ("ru:", "uk:"), its numbers and Latin names too: lexical evidence counts only
within one language, so a Russian question over English articles is found by the dense side
alone and never by a stray number. `ANALYZER` names all this in an index's manifest.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .languages import cyrillic_language, detect

ANALYZER = "en-porter+ru-snowball+uk-light/1"
LEGACY_ANALYZER = "en-porter/0"  # what an index written before languages were told apart used

STOP_WORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been before being
below between both but by can cannot could couldn't did didn't do does doesn't doing don't down during
each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's
hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's
me more most mustn't my myself no nor not of off on once only or other ought our ours ourselves out
over own same shan't she she'd she'll she's should shouldn't so some such than that that's the their
theirs them themselves then there there's these they they'd they'll they're they've this those through
to too under until up very was wasn't we we'd we'll we're we've were weren't what what's when when's
where where's which while who who's whom why why's with won't would wouldn't you you'd you'll you're
you've your yours yourself yourselves also did does many much tell say said says according name named
kind type one ones s t d ll ve re
""".split())

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("porter")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer().stemWord(word)


@lru_cache(maxsize=500_000)
def _word_stems(word: str) -> tuple[str, ...]:
    """A lower-cased word's content parts, stemmed (apostrophes split "council's" into two parts;
    stop words and single letters dropped); cached because indexing a large archive meets the
    same words millions of times."""
    return tuple(stem(part) for part in word.split("'")
                 if part and part not in STOP_WORDS and (len(part) > 1 or part.isdigit()))


def _english_stems(text: str) -> list[str]:
    return [st for w in _WORD.findall(text.lower().replace("’", "'")) for st in _word_stems(w)]


def content_stems(text: str, lang: str | None = None) -> list[str]:
    """The stems of the text's content words, in order, repeats kept (term frequencies). `lang`:
    the text's language when known (an article's, a question's); None tells it from the text."""
    if lang is None:
        lang = detect(text)
    if lang == "en":
        return _english_stems(text)
    return _slavic_stems(text, lang)


def query_terms(text: str, lang: str | None = None) -> list[str]:
    """A question's stems, each once, in order."""
    return list(dict.fromkeys(content_stems(text, lang)))


def stems(text: str, lang: str | None = None) -> set[str]:
    return set(content_stems(text, lang))


# -- Russian and Ukrainian ------------------------------------------------------------------
RU_STOP_WORDS = frozenset("""
и в во не что он на я с со как а то все всё она так его но да ты к у же вы за бы по только ее её мне было
вот от меня еще ещё нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь
опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам
чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь
этом один почти мой тем чтобы нее кажется сейчас были куда зачем всех никогда можно при наконец два
об другой хоть после над больше тот через эти нас про всего них какая много разве три эту моя впрочем
хорошо свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между это
также который которая которое которые которого которой которых сколько каком какие каких
""".replace("ё", "е").split())
UK_STOP_WORDS = frozenset("""
і й та в у на з зі із до від для по про за під над між через при без що як це цей ця ці цього цієї
цих той та те ті того тієї тих він вона воно вони його її їх їхній йому їй ним нею ними ми ви я ти
мене мені нас нам вас вам себе собі свій своя своє свої свого своєї своїх був була було були буде
будуть бути є не ні так але або чи ж же лише тільки вже ще теж також навіть який яка яке які якого
якої яких якій якому яким де коли тому тоді там тут хто скільки чому чим адже бо якщо щоб аби усе все
всі весь вся всього всієї всіх може можна треба мав мала мали має мають один одна одне
""".split())

_STEMMERS: dict[str, object] = {}


def _snowball(language: str):
    if language not in _STEMMERS:
        import snowballstemmer

        _STEMMERS[language] = snowballstemmer.stemmer(language)
    return _STEMMERS[language]


# One ending stripped, the longest that leaves a stem of at least 3 letters; reflexive -ся/-сь first.
_UK_ENDINGS = tuple(sorted(set("""
ого ому ими іми ій ий ої ою их іх им ім ього ьому ьої ів їв ові еві єві ам ям ами ями ах ях ом ем єм
ею єю ей ія ії ію ією іям іями іях ти ть еш єш емо ємо ете єте уть ють иш їш ить їть имо їмо ите іте ать
ять ати яти ити іти ала ало али ла ло ли ує ює ують юють а я е є и і ї о у ю ь
""".split()), key=len, reverse=True))


@lru_cache(maxsize=200_000)
def uk_stem(word: str) -> str:
    """A light Ukrainian stem: inflected forms of a word mostly meet ("території", "територія";
    "квадратних", "квадратні"), derived words stay apart."""
    for r in ("ся", "сь"):
        if word.endswith(r) and len(word) - 2 >= 4:
            word = word[:-2]
            break
    for e in _UK_ENDINGS:
        if word.endswith(e) and len(word) - len(e) >= 3:
            return word[:-len(e)]
    return word


@lru_cache(maxsize=200_000)
def ru_stem(word: str) -> str:
    return _snowball("russian").stemWord(word)


_CYR = re.compile(r"[\u0400-\u04FF]")


@lru_cache(maxsize=500_000)
def _slavic_word(word: str, lang: str) -> tuple[str, ...]:
    """One lower-cased word of a Russian or Ukrainian text: its terms, tagged with the language.
    A Ukrainian apostrophe is part of the word (м'ясо); elsewhere it splits, as in English."""
    parts = [word.replace("'", "")] if lang == "uk" and _CYR.search(word) else word.split("'")
    stop = UK_STOP_WORDS if lang == "uk" else RU_STOP_WORDS
    out = []
    for part in parts:
        if not part or part in stop or (len(part) < 2 and not part.isdigit()):
            continue
        if _CYR.search(part):
            st = uk_stem(part) if lang == "uk" else ru_stem(part)
        elif part.isdigit():
            st = part
        elif part in STOP_WORDS:
            continue
        else:
            st = stem(part)
        out.append(f"{lang}:{st}")
    return tuple(out)


def _slavic_stems(text: str, lang: str) -> list[str]:
    if lang not in ("ru", "uk"):  # a Cyrillic text of another language: read as Russian or Ukrainian
        lang = cyrillic_language(text)
    low = text.lower().replace("’", "'").replace("ʼ", "'")
    if lang == "ru":
        low = low.replace("ё", "е")
    return [st for w in _WORD.findall(low) for st in _slavic_word(w, lang)]

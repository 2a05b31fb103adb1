"""Words as BM25 and lexical sentence scoring see them: lower-cased, split at apostrophes, Porter
stems, stop words left out. One tokenizer for chunks and questions, so their terms always meet."""
from __future__ import annotations

import re
from functools import lru_cache

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


def content_stems(text: str) -> list[str]:
    """The stems of the text's content words, in order, repeats kept (term frequencies)."""
    return [st for w in _WORD.findall(text.lower().replace("’", "'")) for st in _word_stems(w)]


def query_terms(text: str) -> list[str]:
    """A question's stems, each once, in order."""
    return list(dict.fromkeys(content_stems(text)))


def stems(text: str) -> set[str]:
    return set(content_stems(text))

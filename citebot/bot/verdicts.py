"""An answer's verdicts in the reader's language: "not found" (naming the period), the caution,
"More". English lives in render.py (the terminal's words); Russian and Ukrainian here, so that
every front end (the Telegram bot, the web page) says them the same way."""
from __future__ import annotations

from . import render

VERDICTS: dict[str, dict[str, str]] = {
    "ru": {
        "NO_MORE": "Других отрывков по этому вопросу нет.",
        "NOT_FOUND": "Не найдено: в проиндексированных статьях нет ответа на этот вопрос.",
        "NOT_FOUND_PERIOD": "Не найдено: в проиндексированных статьях за {period} нет ответа на этот вопрос.",
        "NOT_FOUND_EMPTY": "Не найдено: среди проиндексированных статей нет ни одной за {period}.",
        "ELSEWHERE": "Ближайшая статья об этом в архиве — от {date}.",
        "TENTATIVE": "Возможно, эти отрывки не отвечают на вопрос: проверьте их, прежде чем на них полагаться.",
        "MORE": "Ещё",
    },
    "uk": {
        "NO_MORE": "Інших уривків на це запитання немає.",
        "NOT_FOUND": "Не знайдено: у проіндексованих статтях немає відповіді на це запитання.",
        "NOT_FOUND_PERIOD": "Не знайдено: у проіндексованих статтях за {period} немає відповіді на це запитання.",
        "NOT_FOUND_EMPTY": "Не знайдено: серед проіндексованих статей немає жодної за {period}.",
        "ELSEWHERE": "Найближча стаття про це в архіві — від {date}.",
        "TENTATIVE": "Можливо, ці уривки не відповідають на запитання: перевірте їх, перш ніж на них покладатися.",
        "MORE": "Ще",
    },
}


def verdict(key: str, lang: str, **fields) -> str:
    """Verdict `key` (NOT_FOUND, TENTATIVE, MORE, ...) in `lang`, English when not translated."""
    text = VERDICTS.get(lang, {}).get(key) or getattr(render, key)
    return text.format(**fields) if fields else text


def not_found_in(answer, lang: str) -> str:
    """"Not found", naming the period when the question named one, in `lang`."""
    return render.not_found(answer, lambda key, **fields: verdict(key, lang, **fields))

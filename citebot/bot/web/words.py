"""The page's own words in English, Russian and Ukrainian (the question's language, else the
browser's); the answer's verdicts ("not found", the caution, "More") come from bot/verdicts.py,
as in Telegram."""
from __future__ import annotations

from ..verdicts import verdict

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "TITLE": "citebot: answers from the archive, quoted and cited",
        "INTRO": "Ask about the indexed articles: the passages that answer come back word for word, "
                 "the answering sentence in bold, each with its article, source, date and link.",
        "LABEL": "Your question",
        "ASK": "Ask",
        "SKIP": "Skip to the answers",
        "ANSWERS_TO": "Answers to “{q}”",
        "EXPLAIN": "How this answer was reached",
        "SEARCHING": "Searching…",
        "MORE_LOADED": "{n} more passages below.",
        "FAILED": "The answer could not be loaded: {error}",
    },
    "ru": {
        "TITLE": "citebot: ответы из архива, с цитатами и источниками",
        "INTRO": "Спросите о проиндексированных статьях: отрывки, которые отвечают на вопрос, приводятся "
                 "дословно, главное предложение выделено, у каждого — статья, источник, дата и ссылка.",
        "LABEL": "Ваш вопрос",
        "ASK": "Спросить",
        "SKIP": "Перейти к ответам",
        "ANSWERS_TO": "Ответы на вопрос «{q}»",
        "EXPLAIN": "Как получен этот ответ",
        "SEARCHING": "Ищу…",
        "MORE_LOADED": "Ниже ещё отрывков: {n}.",
        "FAILED": "Не удалось загрузить ответ: {error}",
    },
    "uk": {
        "TITLE": "citebot: відповіді з архіву, з цитатами та джерелами",
        "INTRO": "Запитайте про проіндексовані статті: уривки, що відповідають на запитання, наводяться "
                 "дослівно, головне речення виділено, у кожного — стаття, джерело, дата й посилання.",
        "LABEL": "Ваше запитання",
        "ASK": "Запитати",
        "SKIP": "Перейти до відповідей",
        "ANSWERS_TO": "Відповіді на запитання «{q}»",
        "EXPLAIN": "Як отримано цю відповідь",
        "SEARCHING": "Шукаю…",
        "MORE_LOADED": "Нижче ще уривків: {n}.",
        "FAILED": "Не вдалося завантажити відповідь: {error}",
    },
}
VERDICT_KEYS = ("MORE", "NO_MORE", "TENTATIVE")


def words(lang: str) -> dict[str, str]:
    """Every word the page shows, in `lang` (English for a language it does not speak)."""
    own = {**WORDS["en"], **WORDS.get(lang, {})}
    return {**own, **{key: verdict(key, lang) for key in VERDICT_KEYS}}

"""What the bot says in its own words, and one cited extract as a message of its own (a pushed
article, an inline result). Article text is escaped by rendering.py, as in answers.

The bot's own words come in English, Russian and Ukrainian: `say(key, lang)` picks the asker's
(`lang_of`: Telegram's language_code, English for any other); quotes stay in their article's language."""
from __future__ import annotations


from citebot.index.text.languages import from_locale

from ..verdicts import VERDICTS
from ..render import (ELSEWHERE, MORE, NO_MORE, NOT_FOUND, NOT_FOUND_EMPTY, NOT_FOUND_PERIOD, TENTATIVE,  # noqa: F401
                      flatten, human_date, not_found)  # the English words are the terminal's too: `say` finds them here
from .rendering import TELEGRAM_LIMIT, cut, esc, hit_html

HELP = ("Ask me a question about the indexed articles and I reply with the passages that answer it, "
        "quoted word for word, with the best sentence in bold and where it comes from.\n\n"
        "In a private chat just write the question. In a group, use /ask <i>question</i>, mention me, "
        "or reply to one of my messages. Tap <b>More</b> for further passages; short follow-ups like "
        "“and Belgorod?” continue your last question. /sources tells what is indexed.\n\n"
        "/follow <i>topic</i> sends you new articles on a topic as they are indexed; /following lists "
        "what this chat follows, /unfollow stops. In any chat you can also type @{me} and a question.")
NOT_ALLOWED = "Sorry, this bot only answers the people and chats it was set up for."
NON_TEXT = "I can only read text: please type your question."
RATE_LIMITED = "You are asking faster than I can keep up with: please wait a minute and ask again."
APOLOGY = "Sorry, something went wrong while answering that. Please try again."
INDEX_UNAVAILABLE = "The article index is not available right now; please try again in a little while."
BUTTON_EXPIRED = "That button has expired: please ask again."

TRANSLATIONS: dict[str, dict[str, str]] = {
    "ru": {
        **VERDICTS["ru"],
        "HELP": ("Задайте вопрос о проиндексированных статьях, и я отвечу отрывками, которые на него отвечают: "
                 "слово в слово, с главным предложением жирным шрифтом и указанием источника.\n\n"
                 "В личном чате просто напишите вопрос. В группе используйте /ask <i>вопрос</i>, упомяните меня "
                 "или ответьте на моё сообщение. Кнопка <b>Ещё</b> покажет другие отрывки; короткие уточнения "
                 "вроде «а Белгород?» продолжают ваш последний вопрос. /sources расскажет, что проиндексировано.\n\n"
                 "/follow <i>тема</i> присылает новые статьи на эту тему, как только они проиндексированы; "
                 "/following показывает, за чем следит этот чат, /unfollow отменяет. В любом чате можно также "
                 "набрать @{me} и вопрос."),
        "NOT_ALLOWED": "Извините, этот бот отвечает только тем людям и чатам, для которых он настроен.",
        "NON_TEXT": "Я читаю только текст: пожалуйста, напишите вопрос.",
        "RATE_LIMITED": "Вы спрашиваете быстрее, чем я успеваю отвечать: подождите минуту и спросите снова.",
        "APOLOGY": "Извините, при ответе что-то пошло не так. Пожалуйста, попробуйте ещё раз.",
        "INDEX_UNAVAILABLE": "Указатель статей сейчас недоступен; пожалуйста, попробуйте чуть позже.",
        "BUTTON_EXPIRED": "Эта кнопка устарела: задайте вопрос ещё раз.",
        "FOLLOW_USAGE": ("Отправьте /follow и тему, например <code>/follow наводнения</code>: тогда я буду присылать "
                         "в этот чат каждую новую статью на эту тему, как только она будет проиндексирована."),
        "FOLLOW_GROUP_ONLY_ADMINS": "В группе выбирать темы для отслеживания могут только её администраторы.",
        "FOLLOW_ALREADY": "Этот чат уже следит за темой {topic}.",
        "FOLLOW_TOO_MANY": "Этот чат уже следит за {n} темами: сначала отмените одну через /unfollow.",
        "FOLLOW_OK": ("Слежу за темой {topic}: каждая новая статья на эту тему будет приходить сюда, как только "
                      "она будет проиндексирована{limit}. /unfollow {plain} отменяет это."),
        "FOLLOW_LIMIT": ", не больше {cap} в час",
        "FOLLOWS_NONE": "Этот чат ни за чем не следит.",
        "UNFOLLOW_WHICH": "Какую тему перестать отслеживать?",
        "UNFOLLOW_ALL": "Все",
        "UNFOLLOWED": "Больше не слежу за {topics}.",
        "UNFOLLOW_UNKNOWN": "Этот чат не следит за {topic}. /following показывает, за чем он следит.",
        "FOLLOWING_HEAD": "Этот чат следит за:",
        "FOLLOWING_LINE": "• {topic} с {since}: отправлено статей: {pushed}",
        "FOLLOWING_CAPPED": ", задержано часовым лимитом: {capped}",
        "UNFOLLOW_EXPIRED": "Эта кнопка устарела.",
    },
    "uk": {
        **VERDICTS["uk"],
        "HELP": ("Поставте запитання про проіндексовані статті, і я відповім уривками, що на нього відповідають: "
                 "слово в слово, з головним реченням жирним шрифтом і зазначенням джерела.\n\n"
                 "В особистому чаті просто напишіть запитання. У групі використовуйте /ask <i>запитання</i>, "
                 "згадайте мене або дайте відповідь на моє повідомлення. Кнопка <b>Ще</b> покаже інші уривки; "
                 "короткі уточнення на кшталт «а Бєлгород?» продовжують ваше останнє запитання. /sources "
                 "розповість, що проіндексовано.\n\n"
                 "/follow <i>тема</i> надсилає нові статті на цю тему, щойно їх проіндексовано; /following "
                 "показує, за чим стежить цей чат, /unfollow скасовує. У будь-якому чаті можна також набрати "
                 "@{me} і запитання."),
        "NOT_ALLOWED": "Вибачте, цей бот відповідає лише тим людям і чатам, для яких його налаштовано.",
        "NON_TEXT": "Я читаю лише текст: будь ласка, напишіть запитання.",
        "RATE_LIMITED": "Ви питаєте швидше, ніж я встигаю відповідати: зачекайте хвилину й спитайте знову.",
        "APOLOGY": "Вибачте, під час відповіді щось пішло не так. Будь ласка, спробуйте ще раз.",
        "INDEX_UNAVAILABLE": "Покажчик статей зараз недоступний; будь ласка, спробуйте трохи згодом.",
        "BUTTON_EXPIRED": "Ця кнопка застаріла: поставте запитання ще раз.",
        "FOLLOW_USAGE": ("Надішліть /follow і тему, наприклад <code>/follow повені</code>: тоді я надсилатиму в "
                         "цей чат кожну нову статтю на цю тему, щойно її буде проіндексовано."),
        "FOLLOW_GROUP_ONLY_ADMINS": "У групі вибирати теми для стеження можуть лише її адміністратори.",
        "FOLLOW_ALREADY": "Цей чат уже стежить за темою {topic}.",
        "FOLLOW_TOO_MANY": "Цей чат уже стежить за {n} темами: спершу скасуйте одну через /unfollow.",
        "FOLLOW_OK": ("Стежу за темою {topic}: кожна нова стаття на цю тему надходитиме сюди, щойно її буде "
                      "проіндексовано{limit}. /unfollow {plain} скасовує це."),
        "FOLLOW_LIMIT": ", не більше {cap} на годину",
        "FOLLOWS_NONE": "Цей чат ні за чим не стежить.",
        "UNFOLLOW_WHICH": "Яку тему перестати відстежувати?",
        "UNFOLLOW_ALL": "Усі",
        "UNFOLLOWED": "Більше не стежу за {topics}.",
        "UNFOLLOW_UNKNOWN": "Цей чат не стежить за {topic}. /following показує, за чим він стежить.",
        "FOLLOWING_HEAD": "Цей чат стежить за:",
        "FOLLOWING_LINE": "• {topic} з {since}: надіслано статей: {pushed}",
        "FOLLOWING_CAPPED": ", затримано годинним лімітом: {capped}",
        "UNFOLLOW_EXPIRED": "Ця кнопка застаріла.",
    },
}


def lang_of(update) -> str:
    """The asker's language from Telegram's language_code: en, ru or uk (English for any other)."""
    user = getattr(update, "effective_user", None)
    return from_locale(getattr(user, "language_code", None))


def say(key: str, lang: str, **fields) -> str:
    """The bot's words `key` (a name of this module, e.g. "NOT_FOUND") in `lang`, English when
    there is no translation; `fields` fill its {placeholders}."""
    text = TRANSLATIONS.get(lang, {}).get(key) or globals()[key]
    return text.format(**fields) if fields else text


def local(lang: str, key: str, english: str, **fields) -> str:
    """`english` as it is, or the `key` translation for `lang` filled with `fields` (for words
    whose English form is made in place, e.g. with a plural)."""
    text = TRANSLATIONS.get(lang, {}).get(key)
    return text.format(**fields) if text is not None else english


def not_found_text(answer, lang: str) -> str:
    """"Not found", naming the period when the question named one, in the asker's language."""
    return not_found(answer, lambda key, **fields: say(key, lang, **fields))


def extract_html(hit, room: int = TELEGRAM_LIMIT) -> str:
    """«extract with the <b>best sentence</b>» and its citation, unnumbered, within `room`."""
    return hit_html(hit, 1, room).removeprefix("1. ")


def push_html(topic: str, hit) -> str:
    """A new article for a followed topic: which follow it answers, then the cited extract."""
    head = f"New on “{esc(cut(flatten(topic), 200))}”:\n"
    return head + extract_html(hit, TELEGRAM_LIMIT - len(head))


def citation_line(hit) -> str:
    """title · source · date, plain text (an inline result's description)."""
    parts = [hit.title, hit.source or hit.extra.get("author"), human_date(hit.published)]
    return cut(flatten(" · ".join(p for p in parts if p)), 200)

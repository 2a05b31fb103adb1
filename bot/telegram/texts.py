"""What the bot says in its own words, and one cited extract as a message of its own (a pushed
article, an inline result). Article text is escaped by telegram_html, as in answers."""
from __future__ import annotations

from html import escape

from ..render import flatten, human_date
from ..telegram_html import TELEGRAM_LIMIT, hit_html

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
NO_MORE = "No more passages for that question."


def esc(text: str) -> str:
    return escape(text, quote=True)


def cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


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

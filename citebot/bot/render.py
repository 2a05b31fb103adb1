"""How an answer looks: the JSON object (question, answer_found, results), and plain or coloured terminal text.
(Telegram's HTML rendering lives with the bot.)"""
from __future__ import annotations

import datetime as dt
import re

from citebot.index.text.controls import one_line, strip_controls

# The English words of an answer's verdicts; the bot's translations (telegram/texts.py) use the same keys.
NOT_FOUND = "Not found: nothing in the indexed articles answers that."
NOT_FOUND_PERIOD = "Not found: nothing in the indexed articles from {period} answers that."
NOT_FOUND_EMPTY = "Not found: the indexed articles have nothing from {period}."
ELSEWHERE = "The closest story on it in the archive is from {date}."
TENTATIVE = "These passages may not answer the question: check them before you rely on them."
MORE = "More"
NO_MORE = "No more passages for that question."


def english(key: str, **fields) -> str:
    return globals()[key].format(**fields)


def not_found(answer, words=english) -> str:
    """Why there is no answer, naming the period when the question named one: never another
    year's story in place of the one asked about. `words(key, **fields)`: the text of `key` in
    the reader's language."""
    period = getattr(answer, "period", None)
    if period is None:
        return words("NOT_FOUND")
    if getattr(answer, "reason", None) == "period_empty":
        return words("NOT_FOUND_EMPTY", period=period.label)
    text = words("NOT_FOUND_PERIOD", period=period.label)
    elsewhere = getattr(answer, "elsewhere", None)
    return text + (" " + words("ELSEWHERE", date=human_date(elsewhere)) if elsewhere else "")


def hit_to_json(hit, rank: int) -> dict:
    return {
        "rank": rank, "score": hit.score, "title": one_line(hit.title), "source": one_line(hit.source),
        "url": one_line(hit.url), "published": hit.published, "path": hit.path, "article_id": hit.article_id,
        "chunk_id": hit.chunk_id, "extract": hit.extract, "highlight": hit.highlight,
        "highlight_start": hit.highlight_start, "highlight_end": hit.highlight_end,
        "author": one_line(hit.extra.get("author")), "cut_start": hit.extra.get("cut_start", False),
        "cut_end": hit.extra.get("cut_end", False), "also": hit.extra.get("also", []),
        "extract_start": hit.extract_start,  # the extract's offset in the article's clean text (/api/articles)
    }


def answer_to_json(answer, offset: int = 0) -> dict:
    obj = {"question": answer.question, "answer_found": answer.answer_found,
           "results": [hit_to_json(h, offset + i + 1) for i, h in enumerate(answer.hits)]}
    if answer.period is not None:
        obj["period"] = {"start": answer.period.start, "end": answer.period.end, "label": answer.period.label}
    if not answer.answer_found:
        obj["message"] = not_found(answer)
        if getattr(answer, "elsewhere", None):
            obj["elsewhere"] = answer.elsewhere
    obj["confidence"] = round(float(answer.confidence), 3)
    obj["tentative"] = bool(answer.tentative)
    if getattr(answer, "explanation", None) is not None:
        obj["explain"] = answer.explanation
    return obj


def explanation_lines(expl: dict) -> list[str]:
    """An answer's explanation (index/answer/explain.py) as plain lines for an operator: the stage
    that decided and why, the question as parsed, the candidates' scores, the decision's figures."""
    q, d = expl["question"], expl.get("decision")
    period = q["period"]
    lines = [f"decided by: {expl['stage']}: {expl['why']}",
             f"question: language {q['language']}; period "
             + (f"{period['label']} ({period['start']} to {period['end']})" if period else "none")
             + ("; asks for the latest" if q["asks_latest"] else ""),
             f"  searched: {q['searched_text']!r}; terms: {', '.join(q['terms']) or '-'}; "
             f"BM25 looked up: {', '.join(q['bm25_terms']) or '-'}"
             + (f"; names: {', '.join(q['names'])}" if q["names"] else "")]
    if expl["candidates"]:
        lines.append(f"candidates (first {len(expl['candidates'])}, in the answer's order):")
        lines.append(f"  {'#':>2} {'dense':>7} {'(rank)':>6} {'bm25':>7} {'(rank)':>6} {'fused':>7} {'sent.cos':>8} "
                     f"{'relev.':>7} {'reader':>7}  title")
        for c in expl["candidates"]:
            lines.append(f"  {c['rank']:>2} {_fig(c['dense'])} {_fig(c['dense_rank'], 6)} {_fig(c['bm25'])} "
                         f"{_fig(c['bm25_rank'], 6)} {_fig(c['fused'])} {_fig(c['sentence_cos'], 8)} "
                         f"{_fig(c['relevance'])} {_fig(c['reader'])}  {flatten(c['title'])[:60]}")
    if d is not None:
        lines.append(f"decision: {d['decider']} confidence {d['confidence']:.3f} vs threshold {d['threshold']:.3f} "
                     f"(sure at {d['sure_at']:.3f}): {'answered' if d['found'] else 'not found'}"
                     + (", with a caution" if d["tentative"] else ""))
        lines.append("  features: " + ", ".join(f"{k} {v:.3f}" for k, v in d["features"].items()))
    if expl.get("timings_ms"):
        lines.append("timings (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in expl["timings_ms"].items()))
    return lines


def _fig(x, width: int = 7) -> str:
    if x is None:
        return f"{'-':>{width}}"
    return f"{x:>{width}}" if isinstance(x, int) else f"{x:>{width}.3f}"


def human_date(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        d = dt.date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{d.day} {d.strftime('%b %Y')}"


def citation_parts(hit) -> list[str]:
    """title · source (or author) · date · url — whichever are known."""
    parts = [hit.title]
    who = hit.source or hit.extra.get("author")
    if who:
        parts.append(who)
    date = human_date(hit.published)
    if date:
        parts.append(date)
    if hit.url:
        parts.append(hit.url)
    return parts


def also_line(hit) -> str | None:
    """The other outlets that ran the same story: "also: Source B, Source C"."""
    also = hit.extra.get("also") or []
    names = list(dict.fromkeys(a.get("source") or a.get("title") or a.get("article_id") for a in also))
    return "also: " + ", ".join(n for n in names if n) if names else None


def extract_pieces(hit) -> tuple[str, str, str, str, str]:
    """(lead ellipsis, before, highlight, after, tail ellipsis) — the text stays verbatim."""
    e = hit.extract
    return ("…" if hit.extra.get("cut_start") else "", e[:hit.highlight_start], hit.highlight,
            e[hit.highlight_end:], "…" if hit.extra.get("cut_end") else "")


def flatten(text: str) -> str:
    """Paragraph breaks inside an extract become spaces (the words stay verbatim); control
    characters and whole escape sequences (in a title or source indexed before they were
    cleaned at the door) never reach the screen."""
    return strip_controls(re.sub(r"\s+", " ", text))


def paragraphs(text: str, indent: str = "") -> str:
    """An extract's words verbatim with its paragraph breaks kept, one line break each (then
    `indent`): a standfirst without a full stop must not run into the next paragraph ("…a debate
    that ran past midnight Wendford city council has approved…"). Other whitespace runs become one
    space; control characters never reach the screen."""
    return ("\n" + indent).join(flatten(p) for p in re.split(r"[ \t\r\f\v]*\n\s*", text))


def is_web_link(url: str | None) -> bool:
    """Only http(s) URLs become links: a `javascript:` or `data:` URL from an article is text."""
    return bool(url) and url.strip().lower().startswith(("http://", "https://"))


def answer_to_text(answer, offset: int = 0, markup: bool = False) -> str:
    """Numbered extracts with the best sentence marked, each followed by its citation line.
    With `markup`, rich console markup (bold highlight); otherwise **highlight** in plain text."""
    if not answer.answer_found:
        return not_found(answer)
    from rich.markup import escape

    blocks = []
    for i, hit in enumerate(answer.hits, offset + 1):
        lead, before, high, after, tail = extract_pieces(hit)
        if markup:
            body = (f"{lead}{escape(paragraphs(before, '   '))}[bold yellow]{escape(paragraphs(high, '   '))}[/]"
                    f"{escape(paragraphs(after, '   '))}{tail}")
            cite = "[dim]— " + escape(flatten(" · ".join(citation_parts(hit)))) + "[/]"
        else:
            body = f"{lead}{paragraphs(before, '   ')}**{paragraphs(high, '   ')}**{paragraphs(after, '   ')}{tail}"
            cite = "— " + flatten(" · ".join(citation_parts(hit)))
        also = also_line(hit)
        if also:
            cite += "\n   " + (f"[dim]{escape(flatten(also))}[/]" if markup else flatten(also))
        blocks.append(f"{i}. «{body}»\n   {cite}")
    if answer.tentative and offset == 0:
        blocks.insert(0, f"[italic]{TENTATIVE}[/]" if markup else TENTATIVE)
    return "\n\n".join(blocks)


def eval_table(table: dict[str, dict], title: str) -> None:
    """One table for every archive size and question set of `citebot eval`."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for col in ("archive", "set", "n", "r@1", "r@3", "r@5", "hl@1", "art@1", "art@5", "MRR", "refused", "other"):
        t.add_column(col, justify="left" if col in ("archive", "set") else "right")
    for size, results in table.items():
        first = True
        for name, m in results.items():
            if m["kind"] == "summary":
                continue
            row = [size if first else "", name, str(m["questions"])]
            first = False
            if m["kind"] == "answerable":
                row += [f"{m[key]:.3f}" for key in ("answer_recall@1", "answer_recall@3", "answer_recall@5",
                                                     "highlight_recall@1", "article_hit@1", "article_hit@5",
                                                     "mrr@5")]
                row += [f"{m['refused']:.1%}", f"{m.get('tentative', 0):.1%} cautioned"]
            elif m["kind"] == "refuse":
                row += [""] * 7 + [f"{m['refused']:.1%}", f"{m.get('refused_or_tentative', 0):.1%} with cautions"]
            else:
                # dates: strictly right under r@1, right article under art@1
                row += [f"{m['right']:.3f}", "", "", "", f"{m.get('right_article', 0):.3f}", "", "",
                        f"{m['refused_naming_period']:.1%}", f"{m['other_period']} other period"]
            t.add_row(*row)
        s = results["all"]
        t.add_row("", f"{s['queries']} questions: p50 {s['latency_median_ms']:.1f} ms, p95 "
                      f"{s['latency_p95_ms']:.1f} ms; spliced extracts {s['spliced_extracts']} of "
                      f"{s['extracts_checked']}", *[""] * 10, end_section=True)
    console = Console()
    if not console.is_terminal:
        console = Console(width=170)  # a file or a pipe: every column whole
    console.print(t)


def ago(iso: str | None) -> str:
    """'3 min ago', '5 h ago', '2 days ago' or 'never'."""
    if not iso:
        return "never"
    try:
        then = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    seconds = (dt.datetime.now(dt.timezone.utc) - then).total_seconds()
    if seconds < 90:
        return "just now"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"

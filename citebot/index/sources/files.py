"""Files and folders as a source: discovered by walking, stamped by size and mtime, mirrored (a
deleted file's articles go).

Like make and rsync, an unchanged size and mtime means unchanged: re-parsing a whole archive of
scraped pages on every update would cost minutes.

Mirroring removes only what is truly gone. An entry that is still there but cannot be read now (a
link whose target volume is unmounted, a FIFO where a .txt was, a permission or I/O error), or a
file inside a folder that cannot be listed, keeps its articles with one warning naming it: from
a walk alone, "cannot be read" and "was deleted" look the same, and only one of them is news.
"""
from __future__ import annotations

import os
import stat as stat_
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..records import Article
from .base import Collected, Context, Kind, Known, ProblemHandler, SourceSpec
from .base import MAX_ARTICLE_BYTES
from .exports import json_list_articles, jsonl_articles
from .parsers import SUFFIXES, ArticleError, parse_file

MAX_FILE_BYTES = 50 * 1024 * 1024  # a file read whole (a page, a text); lists of articles are streamed


class PathProblem(ArticleError):
    """A named source that cannot be read at all (missing, not a regular file, too big)."""


def open_regular(path: Path):
    """The file opened for reading, refusing what is not a regular file (a FIFO would block,
    /dev/zero never ends)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat_.S_ISREG(os.fstat(fd).st_mode):
            raise PathProblem("not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """The file's bytes, counting what is read, not what stat says."""
    limit = MAX_FILE_BYTES if limit is None else limit
    with open_regular(path) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ArticleError(f"file over {limit // 2**20} MB")
    return data


def load_file(path: Path, rel: str, on_problem: ProblemHandler, max_article: int = MAX_ARTICLE_BYTES,
              on_article: Callable[[], None] | None = None) -> list[Article]:
    """A file's articles. A file that is a list of articles (JSON Lines, a JSON array) is read as
    a stream with the size limit on each article; any other file whole, up to MAX_FILE_BYTES.
    `on_article`: told of each article as it is read."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ArticleError(f"unsupported file type '{suffix or path.name}'")
    if suffix == ".jsonl":
        with open_regular(path) as fh:
            return _counted(jsonl_articles(fh, rel, on_problem, max_article), on_article)
    if suffix == ".json":
        open_regular(path).close()
        listed = json_list_articles(path, rel, on_problem, max_article)
        if listed is not None:
            return _counted(listed, on_article)
    return _counted(parse_file(read_bytes(path), suffix, rel, on_problem), on_article)


def _counted(articles: Iterable[Article], on_article: Callable[[], None] | None) -> list[Article]:
    out = []
    for a in articles:
        out.append(a)
        if on_article is not None:
            on_article()
    return out


def iter_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str, Path]]:
    """(file, id-path, the source it came from); the id-path is relative to the folder given, so
    ids survive moves of it. Inside a folder only regular article files are taken (no FIFOs,
    devices or hidden files); a file named directly is taken as it is and checked when read."""
    for p in paths:
        root = Path(p)
        if root.is_dir():
            for f in sorted(root.rglob("*")):
                if f.suffix.lower() in SUFFIXES and f.is_file() and not any(
                        part.startswith(".") for part in f.relative_to(root).parts):
                    yield f, f.relative_to(root).as_posix(), root
        else:
            yield root, root.name, root


@dataclass
class Listing:
    """A folder's article entries (sorted as `iter_files` gives them) and the folders under it that
    could not be listed (path → why)."""
    entries: list[tuple[Path, str]] = field(default_factory=list)
    unlisted: dict[str, str] = field(default_factory=dict)


def list_folder(root: Path) -> Listing:
    """Every entry with an article suffix, not hidden, whatever it is now: a regular file, a link
    (broken or not), a FIFO. Unlike `iter_files` nothing is left out silently: the caller decides
    what an entry that is not a readable file means."""
    out = Listing()

    def unlisted(e: OSError) -> None:
        out.unlisted[os.path.abspath(e.filename or root)] = e.strerror or str(e)

    for folder, subfolders, names in os.walk(root, onerror=unlisted):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        for name in names:
            if not name.startswith(".") and Path(name).suffix.lower() in SUFFIXES:
                path = Path(folder) / name
                out.entries.append((path, path.relative_to(root).as_posix()))
    out.entries.sort()
    return out


def _why_unreadable(path: Path, error: Exception) -> str:
    if os.path.islink(path) and not os.path.exists(path):
        return "broken link (its target is missing or not mounted)"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


def file_stamp(stat: os.stat_result) -> str:
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def missing_paths(paths: Iterable[str | Path]) -> list[str]:
    """The named paths that do not exist: a typo must not read as "every article there is gone"."""
    return [str(p) for p in paths if not os.path.lexists(p)]


def spec_for_path(path: str | Path) -> SourceSpec:
    """A path keyed absolutely (not resolved: symlinked archives keep the name they were given)."""
    location = os.path.abspath(path)
    return SourceSpec(Kind.FOLDER if os.path.isdir(location) else Kind.FILE, location)


class FileSource:
    """A file or a folder of article files (txt, md, html, json, jsonl)."""

    def __init__(self, spec: SourceSpec, prefetched=None):  # a file is never fetched ahead
        self.spec = spec

    def collect(self, known: Known, ctx: Context) -> Collected:
        """Reads every file whose stamp differs from the one it was indexed with. A file that
        cannot be read now (or a JSONL file with a broken line) keeps its indexed articles; so does
        every file of a folder that cannot be listed."""
        out = Collected(self.spec)
        location = self.spec.location
        if not os.path.lexists(location):
            out.error = f"no such file or folder (`citebot index remove {location}` drops its articles)"
            return out
        if self.spec.kind is Kind.FOLDER and not os.path.isdir(location):
            out.error = "not a folder now (a broken link, or a volume not mounted?)"
            return out
        in_folder = os.path.isdir(location)
        if in_folder:
            listing = list_folder(Path(location))
            if os.path.abspath(location) in listing.unlisted:
                out.error = f"cannot list the folder ({listing.unlisted[os.path.abspath(location)]})"
                return out
            entries = listing.entries
        else:
            listing, entries = Listing(), [(Path(location), Path(location).name)]
        excluded = set(self.spec.excluded)
        seen: set[str] = set()
        for path, rel in entries:
            file = os.path.abspath(path)
            seen.add(file)
            old_stamp, old_ids = known.items.get(file, (None, []))

            def take(ids: Iterable[str]) -> list[str]:
                return [i for i in ids if ctx.claims.claim(i, file, path)]

            if in_folder and not old_ids and not os.path.islink(path) and not path.is_file():
                continue  # a FIFO or device in a folder that never gave an article: not an article file
            try:
                stamp = file_stamp(path.stat())  # taken before reading: a file edited meanwhile is read again next time
                if old_stamp == stamp:
                    out.unchanged.update(take(old_ids))
                    continue
                partial: list[str] = []

                def record_problem(msg: str) -> None:
                    partial.append(msg)
                    ctx.on_problem(msg)

                loaded = load_file(path, rel, record_problem, ctx.max_article_bytes, ctx.on_article)
            except (ArticleError, OSError) as e:
                keep = take(old_ids)
                out.kept.update(keep)
                ctx.on_problem(f"{path}: {_why_unreadable(path, e)}, skipped"
                               + (f" (its {len(keep)} indexed article(s) kept)" if keep else ""))
                continue
            except Exception as e:  # a parser crashing on a hostile file must not stop the build
                keep = take(old_ids)
                out.kept.update(keep)
                ctx.on_problem(f"{path}: unreadable ({type(e).__name__}: {str(e)[:200]}), skipped")
                continue
            for art in loaded:
                if art.id in excluded:
                    continue
                if ctx.claims.claim(art.id, file, path):
                    art.origin, art.stamp = file, stamp
                    out.articles.append(art)
            if partial:  # a broken record: the articles it may have held stay as indexed
                read = {a.id for a in loaded}
                out.kept.update(take(i for i in old_ids if i not in read))
        self._keep_unlisted(known, listing, seen, out, ctx)
        return out

    @staticmethod
    def _keep_unlisted(known: Known, listing: Listing, seen: set[str], out: Collected, ctx: Context) -> None:
        """Indexed files the walk did not see: gone, unless a folder above them could not be
        listed (then they keep their articles, one warning per folder)."""
        held: dict[str, list[str]] = {}
        for file, (_, ids) in known.items.items():
            if file in seen or not ids:
                continue
            folder = next((d for d in listing.unlisted if file.startswith(d.rstrip(os.sep) + os.sep)), None)
            if folder is not None:
                held.setdefault(folder, []).extend(i for i in ids if ctx.claims.claim(i, file, file))
        for folder, ids in sorted(held.items()):
            out.kept.update(ids)
            ctx.on_problem(f"{folder}: cannot list the folder ({listing.unlisted[folder]}), skipped "
                           f"(its {len(ids)} indexed article(s) kept)")

"""The qdrant store: the index as one collection on a Qdrant server or cluster (or, for tests and
small set-ups, a local-mode folder), behind an alias named by CITEBOT_QDRANT_COLLECTION.

One point per chunk: its dense vector (`dense`, cosine), a sparse vector of citebot's own BM25
terms (`bm25`: the stems of text/terms.py, each weighted by BM25's saturated term frequency, with
the engine's IDF modifier supplying the same idf as the local store), and a payload with what an
answer is composed from (article id, title, source, url, published and dated as datetimes, author,
position, offsets, text, sentence spans and their vectors). Beside them, points without vectors:
one per article (its clean text, gaps, source record and near-duplicate signature), one per term
(its document frequency, which the answer path weighs question words by) and the manifest.

Promises, as the local store's:
- `index build` fills a new collection and then switches the alias in one operation: readers see
  the old collection or the new one, never a mix; a killed build leaves the alias where it was,
  and the next build drops the half-written collection. The previous collection is kept until
  the next build (a reader may still be answering from it).
- `index update` writes into the served collection, a group of whole articles per request (the
  new version's points, the old version's deletion and the terms' counts together), so that a
  killed update leaves every article wholly old or wholly new, and running it again completes
  the work (ids come from the content, so writing a version twice changes nothing).
- Transient errors (connection refused or reset, timeouts, 429/502/503/504) are retried with
  backoff; what still fails is one line naming the setting to check, never the API key.

Searches run in the engine: dense and sparse, each with the date filter applied there; citebot
fuses the two lists itself (answer/fusion.py), since its abstention weighs each list's own ranks
and scores. `hybrid_search` (prefetch + RRF in the engine) is there for comparison
(bench/bench_qdrant.py).

Files: connection.py (the client, retries, one-line errors), points.py (kinds, ids, payloads,
filters), reader.py (reading a collection), writing.py (writing whole articles per request),
store.py (build, update, status, check).
"""
from __future__ import annotations

from .connection import CollectionMissing, close_connections  # noqa: F401
from .points import ARTICLE, CHUNK, DENSE, FORMAT_VERSION, SPARSE, TERM, chunks_of, kind_filter  # noqa: F401
from .periods import PeriodChunks  # noqa: F401
from .reader import QdrantReader  # noqa: F401
from .store import QdrantStore  # noqa: F401

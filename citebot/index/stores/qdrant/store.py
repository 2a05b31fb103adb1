"""The qdrant store: builds into a new collection behind the alias, updates in place, status and
check (the Store protocol of stores/base.py)."""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
import warnings

import numpy as np

from ...config import QdrantConfig
from ..bm25 import chunk_term_counts
from ..base import REBUILD, Closes, Edit, IndexDamaged, IndexProblem, NoIndex, check_compatible
from .connection import CollectionMissing, Connection, connection
from .points import ARTICLE, CHUNK, DENSE, FORMAT_VERSION, MANIFEST_ID, PAYLOAD_INDEXES, SPARSE, now_iso
from .reader import QdrantReader
from .writing import Writer


class QdrantStore(Closes):
    kind = "qdrant"
    format_version = FORMAT_VERSION

    @classmethod
    def from_config(cls, cfg) -> "QdrantStore":
        return cls(cfg.qdrant)

    def __init__(self, cfg: QdrantConfig):
        if bool(cfg.url) == bool(cfg.path):
            raise IndexProblem("CITEBOT_STORE=qdrant needs either CITEBOT_QDRANT_URL (a server or cluster) or "
                              "CITEBOT_QDRANT_PATH (a local-mode folder), not both")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", cfg.collection or ""):
            raise IndexProblem(f"CITEBOT_QDRANT_COLLECTION: '{cfg.collection}' is not a name of letters, digits, "
                              "'-' and '_'")
        self.cfg = cfg
        self.alias = cfg.collection
        self._conn: Connection | None = None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            self._conn = connection(self.cfg)
        return self._conn

    def call(self, what: str, fn_name: str, *args, write: bool = False, **kwargs):
        return self.conn.call(what, getattr(self.conn.client, fn_name), *args, write=write, **kwargs)

    def where(self) -> str:
        where = f"folder {self.cfg.path}" if self.cfg.path else self.cfg.url
        return f"Qdrant {where}, collection {self.alias}"

    def close(self) -> None:
        pass  # the connection is shared by the process (close_connections)

    # -- which collection is served ---------------------------------------------------------------
    def pointer(self) -> str | None:
        """The served collection and its revision (each write adds one): one request a question,
        and a reader reopens after a build or an update."""
        manifest = self._served_manifest()
        return None if manifest is None else f"{manifest.get('generation')}#{manifest.get('revision', 1)}"

    def exists(self) -> bool:
        return self._alias_target() is not None

    def _alias_target(self) -> str | None:
        aliases = self.call("reading the aliases", "get_aliases").aliases
        return next((a.collection_name for a in aliases if a.alias_name == self.alias), None)

    def _served(self) -> str:
        target = self._alias_target()
        if target is None:
            raise NoIndex(f"no index in {self.where()}: build one with `citebot index build PATH...`")
        return target

    def _served_manifest(self) -> dict | None:
        """The manifest of the collection the alias names, read through the alias (None: no alias)."""
        try:
            return self._manifest_of(self.alias)
        except CollectionMissing:
            return None

    def _manifest_of(self, collection: str) -> dict:
        found = self.call("reading the manifest", "retrieve", collection, [MANIFEST_ID], with_payload=True)
        if not found or "manifest" not in (found[0].payload or {}):
            raise IndexDamaged(f"the collection {collection} ({self.where()}) has no citebot manifest: {REBUILD}")
        return json.loads(found[0].payload["manifest"])

    def manifest(self, model: str | None = None) -> dict:
        manifest = self._manifest_of(self._served())
        check_compatible(manifest, model, FORMAT_VERSION)
        return manifest

    def open(self, model: str | None = None, writing: bool = False) -> "QdrantReader":
        """A reader of the collection the alias names now (by its own name: a later switch of the
        alias does not change what this reader reads)."""
        manifest = self._served_manifest()
        if manifest is None:
            raise NoIndex(f"no index in {self.where()}: build one with `citebot index build PATH...`")
        if not writing:
            check_compatible(manifest, model, FORMAT_VERSION)
        return QdrantReader(self, manifest["generation"], manifest)

    def check_settings(self, dimension: int) -> None:
        """Before anything is embedded: the server answers, and the alias's name is free for us."""
        names = {c.name for c in self.call("listing the collections", "get_collections").collections}
        if self.alias in names:
            raise IndexProblem(f"CITEBOT_QDRANT_COLLECTION: '{self.alias}' names a collection of its own on "
                              f"{self.conn.where()}, and citebot needs the name for an alias: choose another name")
        if self.cfg.shards < 1 or self.cfg.replicas < 1:
            raise IndexProblem("CITEBOT_QDRANT_SHARDS and CITEBOT_QDRANT_REPLICAS must be at least 1")

    # -- writing ----------------------------------------------------------------------------------
    def write(self, old: "QdrantReader | None", edit: Edit) -> dict | None:
        if old is None:
            return self._build(edit)
        return self._update(old, edit)

    def collections(self) -> list[str]:
        pattern = re.compile(rf"{re.escape(self.alias)}-\d{{8}}T\d{{6}}-[0-9a-f]{{6}}")
        names = [c.name for c in self.call("listing the collections", "get_collections").collections]
        return [n for n in names if pattern.fullmatch(n)]

    def _drop_unserved(self, keep: set[str]) -> None:
        """Drop our collections that neither the alias nor the one before it names: what a killed
        build left, and older builds."""
        for name in self.collections():
            if name not in keep:
                self.call(f"dropping the unserved collection {name}", "delete_collection", name, write=True)

    def _kept(self) -> set[str]:
        served = self._alias_target()
        if served is None:
            return set()
        try:
            previous = self._manifest_of(served).get("previous")
        except IndexDamaged:
            previous = None
        return {served, previous} - {None}

    def _build(self, edit: Edit) -> dict:
        from qdrant_client import models as m

        self._drop_unserved(self._kept())
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        name = f"{self.alias}-{stamp}-{uuid.uuid4().hex[:6]}"
        dimension = int(edit.shape["dimension"])
        self.call(f"creating the collection {name}", "create_collection", name, write=True,
                  vectors_config={DENSE: m.VectorParams(size=dimension, distance=m.Distance.COSINE)},
                  sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
                  shard_number=self.cfg.shards, replication_factor=self.cfg.replicas, on_disk_payload=True)
        schema = {"keyword": m.PayloadSchemaType.KEYWORD, "integer": m.PayloadSchemaType.INTEGER,
                  "datetime": m.PayloadSchemaType.DATETIME}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # local mode: "payload indexes have no effect" (it scans)
            for field, kind in PAYLOAD_INDEXES.items():
                self.call(f"indexing {field}", "create_payload_index", name, field, schema[kind], write=True)
        lengths = [sum(chunk_term_counts(a.title, c.text).values()) for a, cs in zip(edit.fresh, edit.chunks)
                   for c in cs]
        avg_length = float(np.mean(lengths)) if lengths else 1.0
        writer = Writer(self, name, dimension, avg_length)
        df: dict[int, int] = {}
        for group in writer.groups(edit):
            ops, terms = writer.article_ops(group)
            for index in terms:
                df[index] = df.get(index, 0) + 1
            writer.apply(ops)
        writer.put_terms(df)
        served = self._alias_target()
        manifest = {**edit.shape, "store": self.kind, "format": FORMAT_VERSION, "generation": name,
                    "built_at": now_iso(), "articles": len(edit.fresh), "chunks": sum(len(c) for c in edit.chunks),
                    "sources": edit.sources, "bm25_avg_length": avg_length, "previous": served, "revision": 1}
        writer.put_manifest(manifest)
        self._switch(name, served)
        self._drop_unserved({name, served} - {None})
        return manifest

    def _switch(self, name: str, served: str | None) -> None:
        """The alias moves to `name` in one operation: readers see the old collection or the new one."""
        from qdrant_client import models as m

        ops = []
        if served is not None:
            ops.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=self.alias)))
        ops.append(m.CreateAliasOperation(create_alias=m.CreateAlias(collection_name=name, alias_name=self.alias)))
        self.call("switching the alias", "update_collection_aliases", ops, write=True)

    def _update(self, old: "QdrantReader", edit: Edit) -> dict | None:
        stale = old.stale_rowids()  # what an interrupted earlier write left: settled now
        if not edit.fresh and not edit.gone and not stale and not edit.sources_changed:
            return None
        name = old.collection
        writer = Writer(self, name, int(old.manifest["dimension"]), float(old.manifest.get("bm25_avg_length") or 1))
        replaced = {edit.old_articles[a.id].rowid for a in edit.fresh if a.id in edit.old_articles}
        removed = sorted((set(edit.gone) - replaced) | stale)
        for group in writer.groups(edit):
            olds = [edit.old_articles[a.id].rowid for a, *_ in group if a.id in edit.old_articles]
            writer.replace(group, olds)
        for start in range(0, len(removed), max(1, self.cfg.batch_size // 8)):
            writer.replace([], removed[start:start + max(1, self.cfg.batch_size // 8)])
        articles = old.count(ARTICLE)
        chunks = old.count(CHUNK)
        manifest = {**old.manifest, **edit.shape, "store": self.kind, "format": FORMAT_VERSION,
                    "updated_at": now_iso(), "articles": articles, "chunks": chunks, "sources": edit.sources,
                    "revision": int(old.manifest.get("revision", 1)) + 1}
        writer.put_manifest(manifest)
        return manifest

    # -- inspecting -------------------------------------------------------------------------------
    def status(self) -> dict:
        name = self._served()
        manifest = self._manifest_of(name)
        info = self.call("reading the collection", "get_collection", name)
        params = info.config.params
        reader = QdrantReader(self, name, manifest)
        return {"store": "qdrant", "where": self.cfg.url or str(self.cfg.path), "collection": self.alias,
                "generation": name, "points": info.points_count, "articles": manifest.get("articles"),
                "chunks": manifest.get("chunks"), "shards": params.shard_number or 1,
                "replicas": params.replication_factor or 1, "state": getattr(info.status, "value", str(info.status)),
                "model": manifest.get("model"), "dimension": manifest.get("dimension"), "dtype": manifest.get("dtype"),
                "precision": manifest.get("precision") or manifest.get("dtype"),
                "precision_why": manifest.get("precision_why"),
                "chunk_tokens": manifest.get("chunk_tokens"), "chunk_overlap": manifest.get("chunk_overlap"),
                "built_at": manifest.get("built_at"), "updated_at": manifest.get("updated_at"),
                "latest_published": reader.latest_published(), "format": manifest.get("format")}

    def check(self) -> list[str]:
        """The served collection against its manifest: counts, the vectors' size, the engine's state."""
        name = self._served()
        manifest = self._manifest_of(name)
        reader = QdrantReader(self, name, manifest)
        problems = []
        for kind, key in ((ARTICLE, "articles"), (CHUNK, "chunks")):
            found = reader.count(kind)
            if found != manifest.get(key):
                problems.append(f"{name}: {found} {key}, the manifest says {manifest.get(key)} (an update was "
                                "interrupted: run `citebot index update` again)")
        info = self.call("reading the collection", "get_collection", name)
        vectors = info.config.params.vectors
        size = vectors[DENSE].size if isinstance(vectors, dict) and DENSE in vectors else None
        if size != manifest.get("dimension"):
            problems.append(f"{name}: dense vectors of size {size}, the manifest says {manifest.get('dimension')}")
        state = getattr(info.status, "value", str(info.status))
        if state == "red":
            problems.append(f"{name}: the engine reports the collection red (failed operations): see the server log")
        return problems



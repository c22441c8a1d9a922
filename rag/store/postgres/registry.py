"""The registry on PostgreSQL: documents, chunks, the keyword index (postings ranked by BM25), ingested
files, the intent log, relations and store settings (the Registry of rag/store/protocol.py).

Keyword ranking is SQLite FTS5's BM25, computed in one query from the postings: for each query keyword
(a phrase when it holds several terms, as FTS5 reads a quoted keyword: the chunks where its terms stand
next to each other in order; rag/store/postgres/terms.py), its document frequency n over the N chunks
(term_df), idf = ln((N - n + 0.5) / (n + 0.5)) (1e-6 when not positive), and per chunk
sum(idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len / avglen))), k1 = 1.2, b = 0.75, where f is the
keyword's count in the chunk and len the chunk's length in terms. A keyword listed twice after stemming
counts twice, as it does in FTS5.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg

from rag.core.models import Chunk, Document, Filters
from rag.store.postgres.db import PgDB, key32
from rag.store.postgres.schema import MIGRATIONS, write_postings
from rag.store.postgres.terms import index_terms, indexed_text, pair, phrase_counts, phrase_terms
from rag.store.registry import RELATION_FIELDS, date_ord, weighted_keywords
from rag.store.rows import (CHUNK_ROW, DOCUMENT_COLUMNS, DOCUMENT_LISTING, LIST_ENTRY, RELATION_DOCUMENT, RELATION_SOURCE, decoded,
                            document_row, document_values, relation_source)
from rag.store.vectors import StoreUnavailable
from rag.core.text import keywords

NS_DOC = 0x52420004
K1, B = 1.2, 0.75

# One statement: collection statistics (the one row of kw_stats, read by its key so that the planner knows it is
# one row even before kw_stats is analyzed: guessing 1,700 made it merge-join every posting), a weight per keyword from its document frequency
# (term_df), then BM25 summed per chunk over the keywords' postings (an index-only scan each). A keyword is
# a term or a pair of adjacent terms; one of three or more terms comes counted already (keyword_search).
# All float8 (numeric arithmetic on ~100,000 postings costs more than the rest of the query). Each keyword's
# part is rounded to a whole number of 2^-40 before the sum: whole numbers below 2^53 add exactly in float8
# (any score below 8192; a keyword adds at most idf * 2.2, about 25 at 50,000 chunks), so a chunk's score is
# the same whatever order the plan feeds its parts in, and chunks with the same postings (a name on several
# editions of a list) tie exactly, as in FTS5, and keep FTS5's order (rowid).
FIXED = "1099511627776::float8"  # 2^40
STATS = (f"s AS (SELECT n_rows::float8 AS n, {K1 * (1 - B)}::float8 AS a, "
         f"{K1 * B}::float8 * greatest(n_rows, 1) / greatest(total_len, 1)::float8 AS c FROM kw_stats WHERE id = 1)")
IDF = "greatest(ln((s.n - {df} + 0.5) / ({df} + 0.5)), 1e-6)"
# a term's document frequency from term_df; a pair's counted from its postings
DF = "CASE WHEN strpos(t.term, ' ') = 0 THEN coalesce(d.df, 0) ELSE (SELECT count(*) FROM postings q WHERE q.term = t.term) END"
TERMS = (f"t AS MATERIALIZED (SELECT t.term, t.w * {K1 + 1}::float8 * {IDF.format(df='f.df')} AS wi FROM "
         "unnest(%(terms)s::text[], %(w)s::float8[]) AS t(term, w) LEFT JOIN term_df d ON d.term = t.term, "
         f"LATERAL (SELECT ({DF})::float8 AS df) f, s)")
TERM_SCORES = "SELECT p.chunk, t.wi * p.tf / (p.tf + s.a + s.c * p.len) AS v FROM t JOIN postings p ON p.term = t.term, s"
LONG_PHRASE_SCORES = (f"SELECT h.chunk, %(ph{{i}}_w)s * {K1 + 1}::float8 * {IDF.format(df='%(ph{i}_df)s')} * h.tf "
                      "/ (h.tf + s.a + s.c * h.len) AS v FROM unnest(%(ph{i}_chunk)s::bigint[], %(ph{i}_tf)s::float8[], "
                      "%(ph{i}_len)s::float8[]) AS h(chunk, tf, len), s")
RANKED = f"""
WITH {{ctes}}
SELECT c.chunk_id, r.score FROM (
    SELECT g.chunk, g.score FROM (SELECT x.chunk, sum(round(x.v * {FIXED})) / {FIXED} AS score
                                  FROM ({{scores}}) x GROUP BY x.chunk) g {{join}}
    ORDER BY g.score DESC, g.chunk LIMIT %(limit)s) r
JOIN chunks c ON c.rowid = r.chunk ORDER BY r.score DESC, r.chunk
"""
# the chunks holding every pair of a phrase of three or more terms, with what the index read of them
PHRASE_CANDIDATES = (
    "SELECT c.rowid, c.idx, c.text, c.kw_len, d.title FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
    "WHERE c.rowid IN (SELECT chunk FROM postings WHERE term = ANY(%s) GROUP BY chunk HAVING count(*) = %s)")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class PgRegistry(PgDB):
    """PostgreSQL: the document registry, chunks and their BM25 keyword index, relations, settings."""

    def __init__(self, url: str, schema: str):
        super().__init__(url, schema, MIGRATIONS)
        self._recovering: set[str] = set()

    # --- keyword search ----------------------------------------------------------------------
    def keyword_search(self, query: str, filters: Filters, limit: int) -> list[tuple[str, float]]:
        """(chunk_id, bm25 score: higher is better) for chunks matching any query keyword."""
        words = keywords(query)
        if not words:
            return []
        groups: dict[tuple[str, ...], int] = {}
        for terms in phrase_terms(words):
            if terms:
                groups[tuple(terms)] = groups.get(tuple(terms), 0) + 1
        long_hits = {p: self._long_phrase(p) for p in groups if len(p) > 2}
        groups = {p: groups[p] for p in weighted_keywords(list(groups), self._document_frequencies(groups, long_hits),
                                                          self.all("SELECT n_rows FROM kw_stats WHERE id = 1")[0]["n_rows"])}
        # a term, or a phrase of two (one posting list of adjacent pairs), weighted by how often it is asked
        short = {(p[0] if len(p) == 1 else pair(*p)): w for p, w in groups.items() if len(p) <= 2}
        ctes, scores = [STATS], []
        params: dict[str, Any] = {"limit": limit}
        if short:
            ctes.append(TERMS)
            scores.append(TERM_SCORES)
            params.update(terms=list(short), w=[float(w) for w in short.values()])
        for i, (phrase, w) in enumerate((p, w) for p, w in groups.items() if len(p) > 2):
            hits = long_hits[phrase]
            if hits:
                scores.append(LONG_PHRASE_SCORES.format(i=i))
                params.update({f"ph{i}_w": float(w), f"ph{i}_df": float(len(hits)), f"ph{i}_chunk": list(hits),
                               f"ph{i}_tf": [float(tf) for tf, _ in hits.values()],
                               f"ph{i}_len": [float(n) for _, n in hits.values()]})
        if not scores:
            return []
        where, fparams = _filter_sql(filters, "fc")
        join = f"JOIN chunks fc ON fc.rowid = g.chunk {where.replace(' AND ', ' WHERE ', 1)}" if where else ""
        rows = self.all(RANKED.format(ctes=",\n".join(ctes), scores=" UNION ALL ".join(scores), join=join),
                        {**params, **fparams})
        return [(r["chunk_id"], float(r["score"])) for r in rows]

    def _document_frequencies(self, groups, long_hits):
        """df(keyword) for `weighted_keywords`: a term's from term_df, a pair's from its postings, a longer
        phrase's from its hits, as the scores count them."""
        singles = [p[0] for p in groups if len(p) == 1]
        pairs = [pair(*p) for p in groups if len(p) == 2]
        df = {r["term"]: r["df"] for r in self.all("SELECT term, df FROM term_df WHERE term = ANY(%s)", [singles])}
        if pairs:
            df.update({r["term"]: r["n"] for r in self.all(
                "SELECT term, count(*) AS n FROM postings WHERE term = ANY(%s) GROUP BY term", [pairs])})
        return lambda p: len(long_hits[p]) if len(p) > 2 else df.get(p[0] if len(p) == 1 else pair(*p), 0)

    def _long_phrase(self, phrase: Sequence[str]) -> dict[int, tuple[int, int]]:
        """chunk -> (occurrences, length in terms) for a phrase of three or more terms: the chunks holding
        all its pairs, counted exactly on the text the index read (rare: names like 'abd-al-salam')."""
        pairs = list(dict.fromkeys(pair(a, b) for a, b in zip(phrase, phrase[1:])))
        rows = self.all(PHRASE_CANDIDATES, [pairs, len(pairs)])
        counts = phrase_counts([indexed_text(r["idx"], r["title"], r["text"]) for r in rows], phrase)
        return {r["rowid"]: (n, r["kw_len"]) for r, n in zip(rows, counts) if n}

    # --- chunks and documents ----------------------------------------------------------------
    def chunk_rows(self, chunk_ids: Sequence[str], filters: Filters | None = None) -> dict[str, dict]:
        if not chunk_ids:
            return {}
        where, params = _filter_sql(filters or Filters(), "c")
        out: dict[str, dict] = {}
        for r in self.all(f"SELECT {CHUNK_ROW} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                          f"WHERE c.chunk_id = ANY(%(ids)s) {where}", {"ids": list(chunk_ids), **params}):
            out[r["chunk_id"]] = decoded(r)
        return out

    def first_chunks(self, doc_ids: Sequence[str]) -> dict[str, str]:
        return {r["doc_id"]: r["chunk_id"] for r in self.all(
            "SELECT doc_id, chunk_id FROM chunks WHERE idx = 0 AND doc_id = ANY(%s)", [list(doc_ids)])}

    def document_chunks(self, doc_id: str) -> list[dict]:
        return [{"chunk_id": r["chunk_id"], "index": r["idx"], "text": r["text"], "start": r["start"],
                 "end": r["end"], "page": r["page"]} for r in self.all(
            'SELECT chunk_id, idx, text, start, "end", page FROM chunks WHERE doc_id = %s ORDER BY idx', [doc_id])]

    def document(self, doc_id: str) -> dict | None:
        rows = self.all("SELECT * FROM documents WHERE doc_id = %s", [doc_id])
        if not rows:
            return None
        return document_row(rows[0], [r["chunk_id"] for r in self.all(
            "SELECT chunk_id FROM chunks WHERE doc_id = %s ORDER BY idx", [doc_id])])

    def documents(self, source: str | None = None, limit: int | None = None, offset: int = 0) -> list[dict]:
        q = f"SELECT {DOCUMENT_LISTING} FROM documents d"
        params: list[Any] = []
        if source is not None:
            q += " WHERE d.source = %s"
            params.append(source)
        q += " ORDER BY d.source COLLATE \"C\", d.doc_id COLLATE \"C\""
        if limit is not None:
            q += " LIMIT %s OFFSET %s"
            params += [limit, offset]
        return [decoded(r) for r in self.all(q, params)]

    def count_documents(self, source: str | None = None) -> int:
        if source is None:
            return self.one("SELECT COUNT(*) FROM documents")
        return self.one("SELECT COUNT(*) FROM documents WHERE source = %s", [source])

    def document_texts(self, doc_ids: Sequence[str]) -> list[tuple[str, str, str]]:
        return [(r["doc_id"], r["title"], r["text"]) for r in self.all(
            "SELECT doc_id, title, text FROM documents WHERE doc_id = ANY(%s)", [list(dict.fromkeys(doc_ids))])]

    def flagged_documents(self) -> list[tuple[str, str]]:
        return [(r["source"], r["doc_id"]) for r in self.all(
            "SELECT source, doc_id FROM documents WHERE metadata LIKE '%%injected_instructions%%'")]

    def all_chunks(self) -> list[tuple[str, str]]:
        return [(r["chunk_id"], r["text"]) for r in self.all("SELECT chunk_id, text FROM chunks ORDER BY rowid")]

    def chunk_listing(self) -> list[dict]:
        return self.all("SELECT c.chunk_id, c.text, c.doc_id, c.doc_type, d.title, c.source FROM chunks c "
                        "JOIN documents d ON d.doc_id = c.doc_id ORDER BY c.rowid")

    def vector_metadata(self, chunk_ids: Sequence[str]) -> dict[str, dict]:
        return {r["chunk_id"]: {"doc_id": r["doc_id"], "doc_type": r["doc_type"],
                                "jurisdiction": r["jurisdiction"] or "", "date": date_ord(r["date"])}
                for r in self.all("SELECT chunk_id, doc_id, doc_type, jurisdiction, date FROM chunks "
                                  "WHERE chunk_id = ANY(%s)", [list(chunk_ids)])}

    def doc_hashes(self, source: str) -> dict[str, str]:
        return {r["doc_id"]: r["content_hash"] for r in self.all(
            "SELECT doc_id, content_hash FROM documents WHERE source = %s", [source])}

    def file_hash(self, source: str) -> tuple[str, str] | None:
        rows = self.all("SELECT file_hash, format FROM files WHERE source = %s", [source])
        return (rows[0]["file_hash"], rows[0]["format"]) if rows else None

    def sources(self) -> list[str]:
        return [r["source"] for r in self.all(
            "SELECT DISTINCT source COLLATE \"C\" AS source FROM documents ORDER BY 1")]

    def stats(self) -> dict:
        by_format = self.all(
            "SELECT d.format, d.doc_type, COUNT(DISTINCT d.doc_id) AS documents, COUNT(c.chunk_id) AS chunks, "
            "MIN(d.date) AS first_date, MAX(d.date) AS last_date FROM documents d "
            "LEFT JOIN chunks c ON c.doc_id = d.doc_id GROUP BY d.format, d.doc_type ORDER BY d.format COLLATE \"C\"")
        files = self.all("SELECT source, format, documents, ingested_at FROM files ORDER BY source COLLATE \"C\"")
        t = self.all("SELECT (SELECT COUNT(*) FROM documents) AS d, (SELECT COUNT(*) FROM chunks) AS c")[0]
        return {"documents": t["d"], "chunks": t["c"], "formats": by_format, "files": files}

    def all_chunk_ids(self) -> set[str]:
        return {r["chunk_id"] for r in self.all("SELECT chunk_id FROM chunks")}

    def integrity(self) -> dict[str, int]:
        r = self.all(
            "SELECT (SELECT n_rows FROM kw_stats) AS fts_rows, "
            "(SELECT COUNT(*) FROM (SELECT doc_id, idx FROM chunks GROUP BY doc_id, idx HAVING COUNT(*) > 1) x) "
            "AS duplicate_chunks, (SELECT COUNT(*) FROM documents d WHERE NOT EXISTS "
            "(SELECT 1 FROM chunks c WHERE c.doc_id = d.doc_id)) AS documents_without_chunks, "
            "(SELECT COUNT(*) FROM relations_docs r WHERE NOT EXISTS "
            "(SELECT 1 FROM documents d WHERE d.doc_id = r.doc_id)) AS relations_of_missing_documents")[0]
        return {k: int(v) for k, v in r.items()}

    # --- list entries --------------------------------------------------------------------------
    def list_entries_version(self) -> int:
        return int(self.one("SELECT value FROM counters WHERE name = 'list_entries'"))

    def list_entry_rows(self) -> Iterator[dict]:
        for r in self.all(f"SELECT {LIST_ENTRY} FROM documents WHERE doc_type = 'list_entry'"):
            yield decoded(r)

    # --- intent log (see rag/store/postgres/db.py for who owns a row) --------------------------
    def pending(self, abandoned_only: bool = False) -> dict[str, list[str]]:
        """Pending chunk ids by operation; with `abandoned_only`, only those whose writer is gone, and
        only when no live writer is mid-batch (this process then holds the schema's write key until the
        rows it returned are cleared)."""
        out: dict[str, list[str]] = {"add": [], "delete": []}
        if abandoned_only:
            if not self.locks.begin_recovery(self.schema):
                return out
            rows = self.all("SELECT chunk_id, op, owner FROM pending")
            me = self.locks.current_owner()
            alive = self.locks.alive(list({r["owner"] for r in rows} - {me}))
            for r in rows:
                if r["owner"] not in alive:
                    out[r["op"]].append(r["chunk_id"])
            self._recovering = {op for op, ids in out.items() if ids}
            if not self._recovering:
                self.locks.end_recovery(self.schema)
            return out
        for r in self.all("SELECT chunk_id, op FROM pending"):
            out[r["op"]].append(r["chunk_id"])
        return out

    def mark_pending(self, chunk_ids: Iterable[str], op: str) -> None:
        owner = self.locks.begin_batch(self.schema)
        with self.tx() as c, c.cursor() as cur:
            cur.executemany("INSERT INTO pending VALUES (%s, %s, %s) ON CONFLICT (chunk_id, op) DO UPDATE "
                            "SET owner = EXCLUDED.owner", [(cid, op, owner) for cid in chunk_ids])

    def clear_pending(self, chunk_ids: Iterable[str] | None, op: str | None = None) -> None:
        with self.tx() as c:
            if chunk_ids is None:
                c.execute("DELETE FROM pending")
            else:
                c.execute("DELETE FROM pending WHERE chunk_id = ANY(%s) AND op = %s", [list(chunk_ids), op])
        recovering = getattr(self, "_recovering", set())
        if op in recovering:
            recovering.discard(op)
            if not recovering:
                self.locks.end_recovery(self.schema)

    # --- writes --------------------------------------------------------------------------------
    def replace_documents(self, docs: Sequence[Document], chunks: Sequence[Chunk],
                          relations: dict[str, list] | None = None) -> list[str]:
        now = _now()
        by_doc = {d.doc_id: d for d in docs}
        counts = index_terms([indexed_text(c.index, by_doc[c.doc_id].title, c.text) for c in chunks])
        try:
            with self.tx() as c, c.cursor() as cur:
                held = cur.execute(*self.locks.holds_batch_sql(self.schema)).fetchone()["held"]
                if not held:
                    raise StoreUnavailable(
                        f"database connection lost during a write ({self.where}): the batch was not stored "
                        f"and another worker may have recovered it; retry")
                self._lock_docs(cur, list(by_doc))
                old = self._delete_rows(cur, list(by_doc))
                with cur.copy(f"COPY documents ({DOCUMENT_COLUMNS}) FROM STDIN") as cp:
                    for d in docs:
                        cp.write_row(document_values(d, now))
                rowids = [r["id"] for r in cur.execute(
                    "SELECT nextval('chunks_rowid_seq') AS id FROM generate_series(1, %s)", [len(chunks)])]
                with cur.copy('COPY chunks (rowid, chunk_id, doc_id, idx, text, start, "end", page, doc_type, '
                              'date, jurisdiction, source, kw_len) FROM STDIN') as cp:
                    for rid, ch, (_, n) in zip(rowids, chunks, counts):
                        d = by_doc[ch.doc_id]
                        cp.write_row((rid, ch.chunk_id, ch.doc_id, ch.index, ch.text, ch.start, ch.end, ch.page,
                                      d.doc_type, d.date.isoformat() if d.date else None, d.jurisdiction, d.source, n))
                write_postings(cur, ((rid, terms, n) for rid, (terms, n) in zip(rowids, counts)))
                # kw_stats first: its row lock orders concurrent writers, so their term_df updates never deadlock
                cur.execute("UPDATE kw_stats SET n_rows = n_rows + %s, total_len = total_len + %s",
                            [len(chunks), sum(n for _, n in counts)])
                df: dict[str, int] = defaultdict(int)
                for terms, _ in counts:
                    for term in terms:
                        if " " not in term:  # a term, not a pair (see rag/store/postgres/schema.py, V3)
                            df[term] += 1
                cur.execute("INSERT INTO term_df SELECT * FROM unnest(%s::text[], %s::int[]) ORDER BY 1 "
                            "ON CONFLICT (term) DO UPDATE SET df = term_df.df + EXCLUDED.df",
                            [list(df), list(df.values())])
                if relations is not None:
                    self._write_relations(cur, {d.doc_id: (d.hash(), relations.get(d.doc_id, [])) for d in docs})
                new_ids = {ch.chunk_id for ch in chunks}
                gone = [cid for cid in old if cid not in new_ids]
                cur.executemany("INSERT INTO pending VALUES (%s, 'delete', %s) ON CONFLICT DO NOTHING",
                                [(cid, self.locks.owner) for cid in gone])
                cur.execute("DELETE FROM pending WHERE op = 'add' AND chunk_id = ANY(%s)", [list(new_ids)])
        finally:
            self.locks.end_batch(self.schema)
        return gone

    def delete_documents(self, doc_ids: Sequence[str]) -> list[str]:
        owner = self.locks.current_owner()
        with self.tx() as c, c.cursor() as cur:
            self._lock_docs(cur, list(doc_ids))
            old = self._delete_rows(cur, doc_ids)
            cur.executemany("INSERT INTO pending VALUES (%s, 'delete', %s) ON CONFLICT DO NOTHING",
                            [(cid, owner) for cid in old])
        return old

    @staticmethod
    def _lock_docs(cur: psycopg.Cursor, doc_ids: Sequence[str]) -> None:
        """Writers of the same documents on other workers take turns (in one order: no deadlock)."""
        keys = sorted({key32(d) for d in doc_ids})
        cur.execute("SELECT count(pg_advisory_xact_lock(%s, k)) FROM (SELECT unnest(%s::int[]) AS k ORDER BY k) x",
                    [NS_DOC, keys])

    @staticmethod
    def _delete_rows(cur: psycopg.Cursor, doc_ids: Sequence[str]) -> list[str]:
        ids = list(doc_ids)
        rows = cur.execute("DELETE FROM chunks WHERE doc_id = ANY(%s) RETURNING rowid, chunk_id, kw_len",
                           [ids]).fetchall()
        if rows:
            # kw_stats first: its row lock orders concurrent writers, so their term_df updates never deadlock
            cur.execute("UPDATE kw_stats SET n_rows = n_rows - %s, total_len = total_len - %s",
                        [len(rows), sum(r["kw_len"] for r in rows)])
            cur.execute("WITH gone AS (DELETE FROM postings WHERE chunk = ANY(%s) RETURNING term) "
                        "UPDATE term_df d SET df = d.df - g.n FROM (SELECT term, COUNT(*) AS n FROM gone "
                        "WHERE strpos(term, ' ') = 0 GROUP BY term) g "
                        "WHERE d.term = g.term", [[r["rowid"] for r in rows]])
        cur.execute("DELETE FROM documents WHERE doc_id = ANY(%s)", [ids])
        cur.execute("DELETE FROM relations WHERE doc_id = ANY(%s)", [ids])
        cur.execute("DELETE FROM relations_docs WHERE doc_id = ANY(%s)", [ids])
        return [r["chunk_id"] for r in rows]

    def record_file(self, source: str, file_hash: str, fmt: str, documents: int) -> None:
        with self.tx() as c:
            c.execute("INSERT INTO files VALUES (%s, %s, %s, %s, %s) ON CONFLICT (source) DO UPDATE SET "
                      "file_hash = EXCLUDED.file_hash, format = EXCLUDED.format, documents = EXCLUDED.documents, "
                      "ingested_at = EXCLUDED.ingested_at", [source, file_hash, fmt, documents, _now()])

    def forget_file(self, source: str) -> None:
        with self.tx() as c:
            c.execute("DELETE FROM files WHERE source = %s", [source])

    # --- relations -----------------------------------------------------------------------------
    @staticmethod
    def _write_relations(cur: psycopg.Cursor, by_doc: dict[str, tuple[str, list]]) -> None:
        cur.execute("DELETE FROM relations WHERE doc_id = ANY(%s)", [list(by_doc)])
        cols = ", ".join(f'"{f}"' for f in RELATION_FIELDS)
        cur.executemany("INSERT INTO relations_docs VALUES (%s, %s) ON CONFLICT (doc_id) DO UPDATE SET "
                        "content_hash = EXCLUDED.content_hash", [(d, h) for d, (h, _) in by_doc.items()])
        rows = [(doc_id, *(getattr(r, f) for f in RELATION_FIELDS)) for doc_id, (_, rels) in by_doc.items()
                for r in rels]
        if rows:
            cur.executemany(f"INSERT INTO relations (doc_id, {cols}) VALUES (%s{', %s' * len(RELATION_FIELDS)})",
                            rows)

    def replace_relations(self, by_doc: dict[str, tuple[str, list]]) -> None:
        with self.tx() as c, c.cursor() as cur:
            self._write_relations(cur, dict(by_doc))

    def relations_stale(self) -> tuple[list[str], list[str]]:
        current = {r["doc_id"]: r["content_hash"] for r in self.all("SELECT doc_id, content_hash FROM documents")}
        done = {r["doc_id"]: r["content_hash"] for r in self.all("SELECT doc_id, content_hash FROM relations_docs")}
        return [d for d, h in current.items() if done.get(d) != h], [d for d in done if d not in current]

    def forget_relations(self, doc_ids: Sequence[str] | None = None) -> None:
        with self.tx() as c:
            if doc_ids is None:
                c.execute("DELETE FROM relations")
                c.execute("DELETE FROM relations_docs")
                return
            c.execute("DELETE FROM relations WHERE doc_id = ANY(%s)", [list(doc_ids)])
            c.execute("DELETE FROM relations_docs WHERE doc_id = ANY(%s)", [list(doc_ids)])

    def relation_sources(self, doc_ids: Sequence[str]) -> list[dict]:
        ids = list(doc_ids)
        chunks: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for r in self.all("SELECT doc_id, chunk_id, text FROM chunks WHERE doc_id = ANY(%s) ORDER BY doc_id, idx",
                          [ids]):
            chunks[r["doc_id"]].append((r["chunk_id"], r["text"]))
        return [relation_source(r, chunks.get(r["doc_id"], []))
                for r in self.all(f"SELECT {RELATION_SOURCE} FROM documents WHERE doc_id = ANY(%s)", [ids])]

    def relations(self) -> list[dict]:
        return self.all(f"SELECT r.*, {RELATION_DOCUMENT} FROM relations r JOIN documents d ON d.doc_id = r.doc_id "
                        "ORDER BY r.id")

    def relations_version(self) -> tuple:
        r = self.all("SELECT COUNT(*) AS n, MAX(id) AS m FROM relations")[0]
        return (r["n"], r["m"])

    # --- store settings ------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self.one("SELECT value FROM meta WHERE key = %s", [key])

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as c:
            c.execute("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                      [key, value])


def _filter_sql(f: Filters, alias: str) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if f.doc_type:
        clauses.append(f"{alias}.doc_type = ANY(%(f_doc_type)s)")
        params["f_doc_type"] = list(f.doc_type)
    if f.jurisdiction:
        clauses.append(f"{alias}.jurisdiction = ANY(%(f_jurisdiction)s)")
        params["f_jurisdiction"] = list(f.jurisdiction)
    if f.source:
        clauses.append(f"strpos({alias}.source, %(f_source)s) > 0")
        params["f_source"] = f.source
    if f.since:
        clauses.append(f"{alias}.date >= %(f_since)s")
        params["f_since"] = f.since.isoformat()
    if f.until:
        clauses.append(f"{alias}.date <= %(f_until)s")
        params["f_until"] = f.until.isoformat()
    return ("".join(" AND " + c for c in clauses), params)

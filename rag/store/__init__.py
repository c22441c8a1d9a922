"""The store: the only code that knows regbrief's tables.

Everything else reads and writes through the named operations of `Store` (rag/store/facade.py):
documents and their chunks, the keyword and vector sides of search, registry look-ups, list entries,
relations, the audit trail and the watchlist. rag/store/protocol.py names the interface a second
registry backend implements; rag/store/rows.py the row shapes both backends return; rag/store/sqlite.py
holds schema versions and migrations.

May import rag.core and rag.embeddings; never the domain: the service hands the store the entity index and
the relation extraction it keeps current (`Store.attach`).
"""
from rag.store.facade import Store, get_store, wait_for
from rag.store.sqlite import SchemaTooNew
from rag.store.vectors import StoreUnavailable, VectorIndex

__all__ = ["SchemaTooNew", "Store", "StoreUnavailable", "VectorIndex", "get_store", "wait_for"]

"""What the service offers on relations: the parties a query names with their cited relations
(`links`), and the paths of cited relations from them to listed entities (`exposure`).

Relations are extracted by rag/relations/extract.py and stored by the store; rag/relations/graph.py holds the graph and its
search. This module resolves the graph's parties to list entries (rag.entities.names.resolve_name over the
screening index) and keeps one graph per store, rebuilt when its relations or list entries change.

Exposure: the relations form a graph whose nodes are list entries (names resolved with the screening
matcher, FollowTheMoney ids through their entity documents) or, for unlisted parties, normalised names.
`exposure(rb, "SoftBank", depth=3)` walks from every node the query names to listed entities, each edge
with its relation, date where known and citation, each listed end with its list, program and dates.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence

from rag.relations.graph import Graph, bare_name, group_names, relation_model
from rag.core.models import EntityLinks, EntityNode, ExposurePath, ExposureResponse, ScreenMatch
from rag.entities.names import display_name, fold_name, name_key, resolve_name


class Links:
    """Relations and exposure paths over one store (cached until its relations or list entries change)."""

    def __init__(self, rb):
        self.rb = rb
        self._lock = threading.Lock()
        self._graph: tuple[tuple, Graph] | None = None

    def _entity_index(self):
        from rag.entities.screen import entity_index

        return entity_index(self.rb)

    def graph(self) -> Graph:
        store = self.rb.store
        store.sync_relations()
        ei = self._entity_index()
        ei.refresh()
        version = (store.relations_version(), ei.version)
        if self._graph and self._graph[0] == version:
            return self._graph[1]
        with self._lock:
            if self._graph and self._graph[0] == version:
                return self._graph[1]
            rows = store.relations()
            graph = Graph(rows, self._resolver(ei, group_names(rows)))
            self._graph = (version, graph)
            return graph

    def _resolver(self, ei, groups: dict[str, str | None] | None = None):
        """`resolve(name, ref)` for Graph; `groups` (see `group_names`) maps a bare name shared by several
        legal entities to the one it stands for (None: to none of them, a node of its own)."""
        from rag.entities.screen import DEFAULT_THRESHOLD, name_index

        idx = name_index(ei)
        ftm_ids: dict[str, str] = {}
        for e in idx.entries:  # FtM ids ("NK-...") never look like another list's uid ("33114", "4 (a)")
            if e.uid:
                ftm_ids.setdefault(e.uid, e.doc_id)
        by_doc = {e.doc_id: e for e in idx.entries}
        # Entries written with the same name (the same party in another list or version): a dictionary, not
        # a screening per relation (a list's thousands of "Linked To" relations took half a minute).
        same_name: dict[str, list] = {}
        spelled = {e.doc_id: fold_name(e.name)[0] for e in idx.entries}  # other scripts transliterated
        for e in idx.entries:
            same_name.setdefault(spelled[e.doc_id], []).append(e)
        cache: dict[str, tuple] = {}

        def entry_match(e) -> ScreenMatch:
            return idx.named(e.doc_id, f"{e.name} is named by its entity id in the source data.")

        def resolve(name: str, ref: str | None):
            doc_id = None
            if ref and ref.startswith("ftm:"):
                doc_id = ftm_ids.get(ref[4:])
            elif ref and ref.startswith("doc:"):
                doc_id = ref[4:] if ref[4:] in by_doc else None
            if doc_id:
                e = by_doc[doc_id]
                same = [idx.named(x.doc_id, f"{x.name} is written with the same name as {e.name}.")
                        for x in same_name[spelled[doc_id]] if x.doc_id != doc_id]
                return f"entry:{doc_id}", e.name, e, [entry_match(e)] + same
            key = name_key(name)
            if groups and key in groups and bare_name(name):
                if groups[key] is None:  # "SoftBank" when the sources name several SoftBank companies
                    return f"name:{key} (unspecified)", display_name(name), None, []
                return resolve(groups[key], None)
            if key not in cache:
                top = resolve_name(idx, name, DEFAULT_THRESHOLD)
                if top:
                    first = top[0]
                    cache[key] = (f"entry:{first.entity_id}", by_doc[first.entity_id].name, by_doc[first.entity_id], top)
                else:
                    cache[key] = (f"name:{key}", display_name(name), None, [])
            return cache[key]

        return resolve

    def _query_nodes(self, graph: Graph, query: str) -> tuple[list[str], list[ScreenMatch]]:
        from rag.entities.screen import DEFAULT_THRESHOLD, name_index

        if query.startswith(("entry:", "name:")):
            return ([query] if query in graph.nodes else []), []
        res = name_index(self._entity_index()).screen_one(query, None, DEFAULT_THRESHOLD)
        own = [m for m in res.matches if m.match]
        resolved = [f"entry:{m.entity_id}" for m in own]
        return graph.find(query, resolved), own

    # --- the operations ---------------------------------------------------------------------------
    def links(self, query: str) -> EntityLinks:
        graph = self.graph()
        nodes, own = self._query_nodes(graph, query)
        entities = [graph.nodes[n].model() for n in nodes]
        if not entities and own:
            entities = [EntityNode(node_id=f"entry:{m.entity_id}", name=m.name, listed=m.listed, listings=[m])
                        for m in own]
        seen: set[int] = set()
        relations = []
        for n in nodes:
            for e in graph.adj.get(n, []):
                if e.rel["id"] not in seen:
                    seen.add(e.rel["id"])
                    relations.append(relation_model(e.rel))
        return EntityLinks(query=query, entities=entities, relations=relations)

    def exposure(self, query: str, depth: int = 3, max_paths: int = 50,
                 relations: Sequence[str] | None = None) -> ExposureResponse:
        graph = self.graph()
        start, own = self._query_nodes(graph, query)
        resp = ExposureResponse(query=query, depth=depth, start=[graph.nodes[n].model() for n in start],
                                listed_start=[m for m in own if m.listed])
        if not start:
            resp.notes.append(f"No party named {query!r} appears in the relations extracted from the store.")
            return resp
        paths, stopped = graph.paths_to_listed(start, depth, max_paths, relations)
        for p_nodes, p_hops in paths:
            edges = [graph.path_edge(p_nodes[i], p_nodes[i + 1], hop) for i, hop in enumerate(p_hops)]
            end = graph.nodes[p_nodes[-1]]
            resp.paths.append(ExposurePath(nodes=[graph.nodes[n].model() for n in p_nodes], edges=edges,
                                           end=[m for m in end.listings if m.listed][0]))
        if stopped:
            resp.notes.append("The search stopped early: the graph around this entity is large.")
        if not resp.paths:
            resp.notes.append(f"No path of at most {depth} cited relations links {query!r} to a listed entity "
                              "in the store.")
        return resp


_links: dict[int, Links] = {}
_links_lock = threading.Lock()


def links_for(rb) -> Links:
    with _links_lock:
        key = id(rb.store)
        if key not in _links or _links[key].rb.store is not rb.store:
            _links[key] = Links(rb)
        return _links[key]


def links(rb, query: str) -> EntityLinks:
    """The entity a query names: its names, listings and cited relations."""
    return links_for(rb).links(query)


def exposure(rb, query: str, depth: int = 3, max_paths: int = 50, relations: Sequence[str] | None = None) -> ExposureResponse:
    """Paths of cited relations from the entity a query names to listed entities."""
    return links_for(rb).exposure(query, depth=depth, max_paths=max_paths, relations=relations)

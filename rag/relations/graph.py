"""The stored relations as a graph, and the search for exposure paths.

Nodes are list entries (a relation's party resolved to the entries it names, FollowTheMoney ids through
their entity documents) or, for unlisted parties, normalised names; edges are cited relations. From the
nodes a query names, `paths_to_listed` walks breadth first to listed entities; `path_edge` picks, for
each step, the best-attested relation (structured data first, then the most stated).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.core.dates import parse_date
from rag.core.models import EntityNode, ListEntry, PathEdge, Relation, RelationCitation, ScreenMatch
from rag.entities.names import name_key, normalise


@dataclass
class Node:
    node_id: str
    name: str
    names: set[str] = field(default_factory=set)
    entry: ListEntry | None = None
    listings: list[ScreenMatch] = field(default_factory=list)

    @property
    def listed(self) -> bool:
        return any(m.listed for m in self.listings)

    def model(self) -> EntityNode:
        aliases = sorted(self.names - {self.name})
        if self.entry is not None:
            aliases = list(dict.fromkeys([n for n in self.entry.all_names() if n != self.name] + aliases))
        return EntityNode(node_id=self.node_id, name=self.name, aliases=aliases, listed=self.listed,
                          listings=[m for m in self.listings if m.listed])


@dataclass
class Edge:
    rel: dict
    source: str
    target: str


class Graph:
    def __init__(self, rows: list[dict], resolve):
        """`resolve(name, ref)` -> (node_id, display name, entry or None, listings)."""
        self.nodes: dict[str, Node] = {}
        self.adj: dict[str, list[Edge]] = defaultdict(list)
        self._words: dict[str, list[set[str]]] | None = None
        self.rows = rows
        for r in rows:
            s = self._node(r["subject"], r["subject_ref"], resolve)
            o = self._node(r["object"], r["object_ref"], resolve)
            if s == o:
                continue
            r["subject_id"], r["object_id"] = s, o
            self.adj[s].append(Edge(r, s, o))
            self.adj[o].append(Edge(r, o, s))

    def _node(self, name: str, ref: str | None, resolve) -> str:
        node_id, display, entry, listings = resolve(name, ref)
        node = self.nodes.get(node_id)
        if node is None:
            node = self.nodes[node_id] = Node(node_id, display, set(), entry, listings)
        node.names.add(name)
        return node_id

    def find(self, query: str, resolved: list[str]) -> list[str]:
        """Nodes the query names: those it resolves to, and those whose names hold all its words."""
        q = normalise(query, False)
        words = set(q.core or q.tokens)
        out = [n for n in resolved if n in self.nodes]
        if not words:
            return out
        if self._words is None:
            self._words = {}
            for nid, node in self.nodes.items():
                names = set(node.names) | ({node.name} | set(node.entry.all_names()) if node.entry is not None else set())
                self._words[nid] = [set(normalise(n, False).tokens) for n in names]
        for nid, sets in self._words.items():
            if nid not in out and any(words <= ws for ws in sets):
                out.append(nid)
        return out

    def paths_to_listed(self, start: list[str], depth: int, max_paths: int,
                        relations: Sequence[str] | None = None) -> tuple[list[tuple[list[str], list[list[Edge]]]], bool]:
        """Paths of at most `depth` relations from the start nodes to listed nodes, breadth first (a
        path ends at its first listed node); (paths, whether the search stopped early on a large graph)."""
        start_set = set(start)
        allowed = set(relations) if relations else None
        paths: list[list[tuple[str, list[Edge]]]] = []
        frontier: list[tuple[list[str], list[list[Edge]]]] = [([s], []) for s in start]
        budget = 20000
        for _ in range(max(1, depth)):
            nxt = []
            for nodes, hops in frontier:
                here = nodes[-1]
                by_next: dict[str, list[Edge]] = defaultdict(list)
                for e in self.adj.get(here, []):
                    if e.target in nodes or e.target in start_set:
                        continue
                    if allowed and e.rel["relation"] not in allowed:
                        continue
                    by_next[e.target].append(e)
                for target, edges in by_next.items():
                    budget -= 1
                    if budget < 0:
                        break
                    p_nodes, p_hops = nodes + [target], hops + [edges]
                    if self.nodes[target].listed:
                        paths.append((p_nodes, p_hops))
                    else:
                        nxt.append((p_nodes, p_hops))
            frontier = nxt
            if not frontier or len(paths) >= max_paths or budget < 0:
                break
        return paths[:max_paths], budget < 0

    def path_edge(self, a: str, b: str, hop: list[Edge]) -> PathEdge:
        """One step of a path: the best-attested relation between the two nodes."""
        by_rel: dict[tuple[str, str], list[Edge]] = defaultdict(list)
        for e in hop:
            direction = "forward" if e.rel["subject_id"] == a else "backward"
            by_rel[(e.rel["relation"], direction)].append(e)
        (relation, direction), edges = max(by_rel.items(), key=lambda kv: (
            any(e.rel["method"] != "pattern" for e in kv[1]), len(kv[1]), kv[0][0] == "ownership"))
        edges.sort(key=lambda e: (e.rel["method"] == "pattern", e.rel.get("doc_date") or "", e.rel["id"]))
        first = edges[0].rel
        dates = sorted(e.rel["date"] for e in edges if e.rel.get("date"))
        ends = [e.rel.get("end_date") for e in edges]
        end_date = max(ends) if ends and all(ends) else None  # ended only when every statement of it ended
        return PathEdge(source=a, target=b, relation=relation, direction=direction, phrase=first["phrase"],
                        date=dates[0] if dates else None, end_date=end_date, citation=citation(first),
                        more_citations=[citation(e.rel) for e in edges[1:6]])


def bare_name(name: str) -> bool:
    """A name written without a legal form or generic word ("SoftBank", not "SoftBank Corp.")."""
    n = normalise(name, False)
    return bool(n.tokens) and not n.legal and not n.generic


def group_names(rows: list[dict]) -> dict[str, str | None]:
    """Bare names that several legal entities named in the relations share: "SoftBank" when the sources
    name "SoftBank Corp." and "SoftBank Group Corp.". Such a name would otherwise take the node of the
    entity whose name key it equals (SoftBank Corp., the wireless unit) and pin what the sources say of
    the group on it. It stands for the group's parent when the relations say which one owns the others
    (SoftBank Group Corp. owns SoftBank Corp.), else for none of them (None: a node of its own)."""
    full: dict[str, dict[str, str]] = defaultdict(dict)  # bare key -> {name key: a full name}
    bare: set[str] = set()
    for r in rows:
        for name in (r["subject"], r["object"]):
            n = normalise(name, False)
            if not n.tokens:
                continue
            if bare_name(name):
                bare.add(" ".join(n.tokens))
            else:
                full[" ".join(n.core)].setdefault(" ".join(n.tokens), name)
    out: dict[str, str | None] = {}
    for key in bare:
        members = full.get(key, {})
        if len(members) < 2:
            continue  # one legal entity of that name: the bare name is that one
        owned = {(name_key(r["subject"]), name_key(r["object"])) for r in rows if r["relation"] == "ownership"}
        parents = [k for k in members if any((k, o) in owned for o in members if o != k)
                   and not any((o, k) in owned for o in members if o != k)]
        out[key] = members[parents[0]] if len(parents) == 1 else None
    return out


def citation(r: dict) -> RelationCitation:
    """A stored relation's citation: the sentence that states it, in its chunk."""
    date = parse_date(r.get("doc_date"))
    return RelationCitation(chunk_id=r["chunk_id"], doc_id=r["doc_id"], title=r.get("doc_title") or "",
                            source=r.get("doc_source") or "", date=date, quote=r["quote"], start=r["start"],
                            end=r["end"], url=r.get("doc_url"))


def relation_model(r: dict) -> Relation:
    return Relation(id=r["id"], relation=r["relation"], subject=r["subject"], object=r["object"],
                    subject_id=r.get("subject_id"), object_id=r.get("object_id"), role=r.get("role"),
                    percentage=r.get("percentage"), date=r.get("date"), end_date=r.get("end_date"),
                    status=r.get("status"),
                    method=r["method"], phrase=r["phrase"], citation=citation(r))

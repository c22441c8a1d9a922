"""Feeds: named URLs of official lists and news, synced on a schedule, with what changed recorded as
citable notices.

fetch.py     safe HTTP: http(s) only, conditional requests, size/time limits, retries, redirects counted
diff.py      old entries vs new by their typed fields (rag.core.models.ListEntry)
notice.py    a sync's changes as a dated notice document
sync.py      one sync of a list feed: fetch -> parse whole -> diff -> store -> notice -> watchlist
news.py      RSS/Atom feeds (feedparser): new items' pages fetched and ingested as articles
schedule.py  which feeds are due, and the thread `regbrief serve` runs them in
models.py    the JSON shapes of feeds, sync results and changes
Feed definitions and state live in the store (rag/store/feeds.py, behind rag.store.protocol.FeedTables).
"""

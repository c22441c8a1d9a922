"""Fetching a feed's file safely: http(s) only, conditional requests, streamed to disk under a size and a
time limit, redirects followed by hand (counted, and each hop's address checked when the feed is
guarded), retries with backoff for what may pass (connection errors, timeouts, 429, 5xx)."""
from __future__ import annotations

import hashlib
import ipaddress
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from rag.core.settings import Settings

USER_AGENT = "regbrief-feeds/0.1"
REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(Exception):
    """The file could not be fetched; the message says why (and is what a failed sync reports)."""


class _Transient(FetchError):
    """Worth another attempt."""


@dataclass
class Fetched:
    not_modified: bool
    path: Path | None = None
    sha256: str | None = None
    size: int = 0
    etag: str | None = None
    last_modified: str | None = None
    url: str = ""  # after redirects
    requests: int = 1


def check_url(url: str, guarded: bool) -> None:
    """http or https only; when `guarded`, the host must resolve only to public addresses (not loopback,
    link-local, private, reserved or multicast), so a feed added over the API cannot reach inside."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"{url}: only http and https URLs can be fed")
    if not parts.hostname:
        raise FetchError(f"{url}: no host in the URL")
    if not guarded:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise FetchError(f"{parts.hostname}: cannot resolve the host ({e.strerror})")
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise FetchError(f"{parts.hostname} resolves to {ip}, a loopback, link-local or private address: "
                             f"refused (set REGBRIEF_FEEDS_ALLOW_PRIVATE=true to allow it)")


def fetch(url: str, dest: Path, settings: Settings, *, etag: str | None = None, last_modified: str | None = None,
          guarded: bool = False) -> Fetched:
    """GET `url` into `dest` (written whole or not at all). With `etag`/`last_modified` the request is
    conditional and a 304 comes back as `not_modified`. Raises FetchError with the reason."""
    delay, attempts = settings.feed_backoff_s, settings.feed_retries + 1
    for attempt in range(1, attempts + 1):
        try:
            got = _fetch_once(url, dest, settings, etag, last_modified, guarded)
            got.requests = attempt
            return got
        except _Transient as e:
            if attempt == attempts:
                raise FetchError(f"{e} (gave up after {attempts} attempts)") from None
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def _fetch_once(url: str, dest: Path, settings: Settings, etag: str | None, last_modified: str | None,
                guarded: bool) -> Fetched:
    headers = {"User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    limit = settings.feed_timeout_s
    deadline = time.monotonic() + limit
    try:
        with httpx.Client(timeout=httpx.Timeout(limit), follow_redirects=False, headers=headers) as client:
            for _ in range(settings.feed_max_redirects + 1):
                check_url(url, guarded)
                with client.stream("GET", url) as r:
                    if r.status_code in REDIRECTS and r.headers.get("location"):
                        url = str(r.url.join(r.headers["location"]))
                        continue
                    return _receive(r, url, dest, settings.feed_max_bytes, deadline, limit)
            raise FetchError(f"{url}: more than {settings.feed_max_redirects} redirects (a redirect loop?)")
    except httpx.TimeoutException:
        raise _Transient(f"{url}: no response within {limit:g} s") from None
    except httpx.TransportError as e:  # refused, reset, or the body ended before its Content-Length
        raise _Transient(f"{url}: {type(e).__name__}: {e or 'connection failed'}") from None


def _receive(r: httpx.Response, url: str, dest: Path, max_bytes: int, deadline: float, limit: float) -> Fetched:
    if r.status_code == 304:
        return Fetched(True, etag=r.headers.get("etag"), last_modified=r.headers.get("last-modified"), url=url)
    if r.status_code == 429 or r.status_code >= 500:
        raise _Transient(f"{url}: HTTP {r.status_code}")
    if r.status_code != 200:
        raise FetchError(f"{url}: HTTP {r.status_code}")
    declared = r.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{url}: the response is {int(declared)} bytes, over the {max_bytes}-byte limit")
    part = dest.with_name(dest.name + ".part")
    h, size = hashlib.sha256(), 0
    try:
        with open(part, "wb") as f:
            for block in r.iter_bytes(1 << 16):  # decoded: the limit holds for compressed responses too
                size += len(block)
                if size > max_bytes:
                    raise FetchError(f"{url}: the response passed the {max_bytes}-byte limit; refused")
                if time.monotonic() > deadline:
                    raise _Transient(f"{url}: the response took longer than {limit:g} s")
                h.update(block)
                f.write(block)
        if size == 0:
            raise FetchError(f"{url}: the response is empty")
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)
    return Fetched(False, dest, h.hexdigest(), size, r.headers.get("etag"), r.headers.get("last-modified"), url)

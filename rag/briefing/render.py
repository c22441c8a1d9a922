"""A briefing as Markdown, standalone HTML (with a print stylesheet), JSON or PDF."""
from __future__ import annotations

import html

from rag.core.dates import human_date
from rag.core.models import Briefing

# --- rendering --------------------------------------------------------------------------------------

def _when(s) -> str:
    """A timeline entry's date, as a reader sees it first ("16 December 2021 (reported): ...")."""
    if not s.date:
        return ""
    return f"{human_date(s.date)}{' (reported)' if s.dated_by == 'reported' else ''}: "


def _label(b: Briefing, s) -> str:
    """What an exposure fact says, from the briefing subject's side, with its currency: "SoftBank Vision
    Fund: shareholder (14.9%) of SENSETIME GROUP LIMITED (listed: NS-CMIC) · current, stated 16 December
    2021"; "SENSETIME GROUP LIMITED: investee of SoftBank Vision Fund, which holds 14.9%"."""
    labels = []
    for x in b.exposure:
        if x.sentence == s.text:
            listed = f" (listed: {', '.join(x.lists)})" if x.listed and x.lists else (" (listed)" if x.listed else "")
            prep = {"supplier": " to", "directed by": ""}.get(x.strength, " of")
            if x.percentage and x.strength in ("subsidiary", "investee"):
                what = f"{x.strength}{prep} {x.party}{listed}, which holds {x.percentage}%"
            else:
                pct = f" ({x.percentage}%)" if x.percentage else ""
                what = f"{x.strength}{pct}{prep} {x.party}{listed}"
            labels.append(f"{x.entity}: {what} · {_currency(x)}")
        elif x.ended_sentence and x.ended_sentence == s.text and not labels:
            return f"{x.entity} - {x.party}: ended{' ' + human_date(x.ended_on) if x.ended_on else ''}"
    if labels:  # one sentence may state several relations ("JCV is owned by SoftBank Corp., the unit of ...")
        return "; ".join(dict.fromkeys(labels))
    return ""


def _currency(x) -> str:
    if x.status == "ended":
        return (f"ended (a source of {human_date(x.ended_on)} says so)" if x.ended_on else "ended") + \
            (f"; stated {human_date(x.stated_on)}" if x.stated_on else "")
    if x.status == "unknown":
        return "currency unknown (no dated source)"
    return f"current (stated {human_date(x.stated_on)}, no later source says it ended)" if x.stated_on else "current"


def _sentence_md(s, b: Briefing | None = None) -> str:
    marks = "".join(f"[{n}]" for n in s.citations)
    label = f"*{_label(b, s)}* — " if b is not None and not s.date and _label(b, s) else ""
    return f"{_when(s)}{label}{s.text}{' ' + marks if marks else ''}"


def render_pdf(b: Briefing) -> bytes:
    """The HTML briefing printed to PDF by WeasyPrint (its print stylesheet: A4-sized margins, no split
    quotes, links spelled out); the optional dependency `pip install 'regbrief[pdf]'`."""
    try:
        from weasyprint import HTML
    except ImportError as e:  # also OSError-like failures of its system libraries (Pango) surface here
        raise RuntimeError("PDF export needs WeasyPrint: pip install 'regbrief[pdf]' (it uses the system's "
                           f"Pango library) ({e})") from None
    return HTML(string=render(b, "html")).write_pdf()


def render(b: Briefing, fmt: str = "md") -> str:
    if fmt == "json":
        return b.model_dump_json(indent=2)
    if fmt == "md":
        lines = [f"# Risk briefing: {b.entity}", "",
                 f"As of {b.as_of or 'all documents in the store'} · rating **{b.rating}** · "
                 f"generated {b.created_at:%Y-%m-%d %H:%M} UTC · id {b.id}", ""]
        if b.resolved:
            lines += [f"Resolved to list entries: {', '.join(b.resolved)}", ""]
        for sec in b.sections:
            lines += [f"## {sec.title}", ""]
            lines += [f"- {_sentence_md(s, b)}" for s in sec.sentences] or ["- (nothing in the sources)"]
            lines.append("")
        if b.notes:  # how it was made: model fallbacks, documents set aside
            lines += ["## Notes", ""] + [f"- {n}" for n in b.notes] + [""]
        lines += ["## Sources", ""]
        for c in b.citations:
            where = f"[{c.source}]({c.url})" if c.url and c.url.startswith(("https://", "http://")) else c.source
            lines.append(f"[{c.n}] {c.title}, {c.publisher or ''} {c.date or ''} — \"{c.quote}\" ({where}"
                         f"{', p. ' + str(c.page) if c.page else ''})")
        return "\n".join(lines) + "\n"
    if fmt == "html":
        e = html.escape
        body = [f"<h1>Risk briefing: {e(b.entity)}</h1>",
                f"<p class='meta'>As of {e(str(b.as_of or 'all documents in the store'))} · rating "
                f"<strong class='rating {e(b.rating)}'>{e(b.rating)}</strong> · id {e(b.id)}</p>"]
        for sec in b.sections:
            body.append(f"<h2>{e(sec.title)}</h2><ul>")
            for s in sec.sentences:
                marks = "".join(f"<a href='#cite-{n}' class='cite'>[{n}]</a>" for n in s.citations)
                when = f"<time datetime='{s.date.isoformat()}'>{e(_when(s))}</time>" if s.date else ""
                label = "" if s.date else _label(b, s)
                label = f"<span class='strength'>{e(label)}</span> " if label else ""
                body.append(f"<li class='{s.kind}'>{when}{label}{e(s.text)} {marks}</li>")
            body.append("</ul>")
        if b.notes:
            body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in b.notes) + "</ul>")
        body.append("<h2>Sources</h2><ol class='sources'>")
        for c in b.citations:
            where = e(c.source)
            if c.url and c.url.startswith(("https://", "http://")):  # the source as a link to its public page
                where = f"<a href='{e(c.url)}' target='_blank' rel='noopener noreferrer'>{where}</a>"
            body.append(
                f"<li id='cite-{c.n}' value='{c.n}'><strong>{e(c.title)}</strong> {e(c.publisher or '')} "
                f"{e(str(c.date or ''))}<blockquote>{e(c.quote)}</blockquote><small>{where}"
                f"{', p. ' + str(c.page) if c.page else ''}</small></li>")
        body.append("</ol>")
        style = ("body{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#222}"
                 "blockquote{margin:.3rem 0;padding:.3rem .8rem;border-left:3px solid #888;background:#f6f6f6}"
                 ".cite{text-decoration:none;font-size:.85em}.rating.high{color:#b00}.rating.medium{color:#b60}"
                 ".rating.low{color:#070}.rating.unrated{color:#555}:target{background:#fff3c4}"
                 "time{font-weight:600}.strength{font-size:.8em;text-transform:uppercase;letter-spacing:.03em;"
                 "background:#eef;border-radius:3px;padding:0 .3em}li.note{color:#555}"
                 # Print: black on white, no page-wide margins, links spelled out, no split quotes.
                 "@media print{@page{margin:18mm 16mm}body{font:10.5pt/1.4 Georgia,serif;max-width:none;margin:0;"
                 "padding:0;color:#000}h1{font-size:16pt}h2{font-size:12pt;break-after:avoid;margin-top:1.2em}"
                 "li,blockquote{break-inside:avoid}blockquote{background:none;border-left:2px solid #000}"
                 ".cite{color:#000}.strength{background:none;border:1px solid #000}"
                 ".sources small{word-break:break-all}:target{background:none}"
                 ".sources a[href^='http']::after{content:' (' attr(href) ')'}}")
        return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
                f"content='width=device-width,initial-scale=1'><title>Risk briefing: {e(b.entity)}</title>"
                f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")
    raise ValueError(f"unknown briefing format {fmt!r} (md, html or json)")

// Briefings, uploads and passages on the page: one sidebar entry per subject with its rating and its
// versions; a briefing opened with HTML, Markdown and PDF export and Print; an upload's result file by file;
// a cited passage shown with its Markdown structure (headings, lists, paragraphs) instead of its symbols.
// Uses app.js's and screen.js's helpers. Text from documents goes in with textContent only, never as HTML.
"use strict";

// --- the sidebar: one entry per subject ------------------------------------------------------------
function renderBriefingList(list, rows) {
  const groups = new Map();
  for (const b of rows) {  // newest first, as the server lists them
    const key = b.entity.trim().toLowerCase();
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(b);
  }
  if (!groups.size) {
    list.replaceChildren(el("li", { class: "empty" }, "None yet"));
    return;
  }
  const items = [];
  for (const versions of groups.values()) {
    const latest = versions[0];
    const li = historyItem(latest.entity, latest.created_at,
      `Briefing on ${latest.entity}: ${versions.length} version${versions.length === 1 ? "" : "s"}`,
      () => openBriefing(latest.id, latest.entity), { "data-id": latest.id, class: "briefing-item" });
    li.dataset.entity = latest.entity;
    li.dataset.versions = String(versions.length);
    const label = li.querySelector(".label");
    if (latest.rating) label.append(el("span", { class: `rating rating-${latest.rating}` }, latest.rating));
    if (versions.length > 1) {
      const older = el("ul", { class: "briefing-versions" });
      for (const v of versions) {
        const b = el("button", { type: "button", title: `Briefing on ${v.entity}, ${v.created_at}` },
          `${when(v.created_at)}${v.as_of ? ` (as of ${v.as_of})` : ""}${v.rating ? ` · ${v.rating}` : ""}`);
        b.addEventListener("click", () => openBriefing(v.id, v.entity));
        const item = el("li", { "data-version-id": v.id });
        item.append(b);
        older.append(item);
      }
      li.append(older);
    }
    items.push(li);
  }
  list.replaceChildren(...items);
}

// --- a briefing: shown in a script-less frame, exported and printed --------------------------------
async function openBriefingView(id, entity) {
  closeSidebarOnNarrow();
  let html, md;
  const path = `/v1/briefings/${encodeURIComponent(id)}`;
  try {
    html = await (await api(`${path}?format=html`)).text();
    md = await (await api(`${path}?format=md`)).text();
  } catch (e) {
    $("briefing-status").textContent = `The briefing could not be opened: ${e.message}`;
    $("briefing-panel").hidden = false;
    return;
  }
  const dialog = $("briefing-dialog");
  if (dialog.open) dialog.close();
  $("briefing-dialog-title").textContent = `Briefing: ${entity}`;
  // A new frame each time (reusing one left the second briefing blank). It runs no scripts; same-origin so
  // this page can print it; its source links open in a new tab.
  const frame = el("iframe", { id: "briefing-frame", title: `Briefing on ${entity}` });
  frame.setAttribute("sandbox", "allow-same-origin allow-modals allow-popups allow-popups-to-escape-sandbox");
  frame.dataset.briefingId = id;
  frame.srcdoc = html;
  $("briefing-frame").replaceWith(frame);
  const link = (a, blob, name) => {
    if (a.href.startsWith("blob:")) URL.revokeObjectURL(a.href);
    a.href = URL.createObjectURL(blob);
    a.download = name;
  };
  link($("briefing-md"), new Blob([md], { type: "text/markdown" }), `briefing-${id}.md`);
  const actions = $("briefing-close").parentElement;
  if (!$("briefing-html")) {  // added once: HTML, PDF and Print beside Markdown
    const htmlA = el("a", { id: "briefing-html", href: "#" }, "HTML");
    const pdf = el("button", { type: "button", class: "secondary", id: "briefing-pdf" }, "PDF");
    const print = el("button", { type: "button", class: "secondary", id: "briefing-print" }, "Print");
    pdf.addEventListener("click", () => downloadBriefingPdf(pdf));
    print.addEventListener("click", () => $("briefing-frame").contentWindow.print());
    actions.insertBefore(htmlA, $("briefing-md"));
    actions.insertBefore(pdf, $("briefing-close"));
    actions.insertBefore(print, $("briefing-close"));
  }
  link($("briefing-html"), new Blob([html], { type: "text/html" }), `briefing-${id}.html`);
  dialog.showModal();
}

async function downloadBriefingPdf(button) {
  const id = $("briefing-frame").dataset.briefingId;
  button.disabled = true;
  button.textContent = "PDF…";
  try {
    const blob = await (await api(`/v1/briefings/${encodeURIComponent(id)}?format=pdf`)).blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: `briefing-${id}.pdf` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } catch (e) {
    alert(`The PDF could not be made: ${e.message}`);
  } finally {
    button.disabled = false;
    button.textContent = "PDF";
  }
}

// --- uploads: the result file by file ----------------------------------------------------------------
function uploadSummary(job) {
  const files = (job.result && job.result.files) || [];
  if (!files.length) return null;
  const name = (f) => String(f.source || "").replace(/^upload:/, "").replace(/^file:/, "").replace(/#[0-9a-f]+$/, "");
  const clean = (s) => String(s || "unknown reason").replace(/\s*\(?\bREGBRIEF_[A-Z0-9_]+\)?/g, "");
  const ok = files.filter((f) => f.status !== "failed");
  const failed = files.filter((f) => f.status === "failed");
  const added = ok.filter((f) => f.status === "ingested").length;
  const same = ok.length - added;
  const head = [added ? `${added} added` : "", same ? `${same} unchanged` : "", failed.length ? `${failed.length} failed` : ""]
    .filter(Boolean).join(", ");
  const reason = (f) => clean(f.error).replace(new RegExp(`^${name(f).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\s*`), "");
  const each = files.map((f) => f.status === "failed" ? `${name(f)}: failed: ${reason(f)}`
    : `${name(f)}: ${f.added} document${f.added === 1 ? "" : "s"} added, ${f.updated} updated, ${f.unchanged} unchanged`);
  const tail = ok.length ? " You can ask about the files that went in now." : "";
  return `${failed.length ? "" : "Done: "}${head}. ${each.join("; ")}.${tail}`;
}

// A sentence or quote taken from Markdown, shown without the symbols that start its line ("## ", "- ", "1. ").
function plainLine(text) {
  return String(text || "").trim().replace(/^#{1,6}\s+/, "").replace(/^(?:[-*+]|\d+[.)])\s+/, "");
}

// --- a passage: Markdown structure as text structure, the quote highlighted ---------------------------
// Block-level only (headings, bullet and numbered lists, paragraphs); the symbols are dropped, the words
// kept exactly, so the highlighted quote still sits at its offsets in the passage.
function renderPassage(box, text, start, end) {
  box.replaceChildren();
  box.classList.add("rendered");
  let first = null;
  let block = null;
  let list = null;
  const put = (parent, from, to) => {  // text[from:to] with the part inside [start, end) marked
    const cuts = [from, Math.max(from, Math.min(start, to)), Math.max(from, Math.min(end, to)), to];
    for (let k = 0; k < 3; k++) {
      if (cuts[k + 1] <= cuts[k]) continue;
      const piece = text.slice(cuts[k], cuts[k + 1]);
      if (k === 1) {
        const mark = el("mark", {}, piece);
        parent.append(mark);
        first = first || mark;
      } else parent.append(document.createTextNode(piece));
    }
  };
  let pos = 0;
  for (const line of text.split("\n")) {
    const lineStart = pos;
    pos += line.length + 1;
    const h = line.match(/^(\s{0,3})(#{1,6})\s+/);
    const li = line.match(/^(\s*)([-*+]|\d+[.)])\s+/);
    if (!line.trim()) { block = null; list = null; continue; }
    if (h) {
      list = null;
      block = el(`h${Math.min(6, h[2].length + 2)}`);
      box.append(block);
      put(block, lineStart + h[0].length, lineStart + line.length);
      block = null;
    } else if (li) {
      const ordered = /\d/.test(li[2]);
      if (!list || list.tagName !== (ordered ? "OL" : "UL")) {
        list = el(ordered ? "ol" : "ul");
        box.append(list);
      }
      const item = el("li");
      list.append(item);
      put(item, lineStart + li[0].length, lineStart + line.length);
      block = item;
    } else {
      if (!block || list) {
        list = null;
        block = el("p");
        box.append(block);
      } else block.append(document.createTextNode(" "));
      put(block, lineStart, lineStart + line.length);
    }
  }
  return first || box.appendChild(el("mark"));
}

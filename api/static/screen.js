// Screening on the page: paste names or upload a file (CSV with a name column and optional type, birth_date,
// country, identifiers; or text, one name per line), see every hit with why it matched, record a decision
// on each (kept with your API key in the audit trail), export CSV/JSON, open and print the screening record.
// Uses app.js's helpers ($, el, api, headers, plainWords). List and file text go in with textContent only.
"use strict";

const screening = { record: null };
const DECISION_LABELS = { true_match: "True match", false_positive: "False positive", needs_review: "Needs review" };

function buildScreeningPanel() {
  const panel = $("screening-panel");
  const form = el("form", { id: "screening-form", class: "screening-form" });
  const names = el("textarea", { id: "screening-names", rows: 3, placeholder: "One name per line, or CSV with a header: name,type,birth_date,country,identifiers" });
  const file = el("input", { type: "file", id: "screening-file", accept: ".csv,.tsv,.txt,text/csv,text/plain" });
  const type = el("select", { id: "screening-type" });
  for (const [v, t] of [["", "any type"], ["company", "companies"], ["person", "persons"], ["vessel", "vessels"], ["aircraft", "aircraft"]]) {
    type.append(el("option", { value: v }, t));
  }
  const go = el("button", { type: "submit", id: "screening-run" }, "Screen");
  form.append(
    el("label", { htmlFor: "screening-names" }, "Names to screen"), names,
    el("div", { class: "row" },),
  );
  const row = form.lastChild;
  row.append(el("label", { htmlFor: "screening-file" }, "or a file"), file, type, go);
  const status = el("p", { id: "screening-status", class: "status" });
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const results = el("div", { id: "screening-results", class: "screening-results" });
  panel.append(form, status, results);
  form.addEventListener("submit", (e) => { e.preventDefault(); runScreening(); });
}

// The server's own words for a refused file (they name the file, row and column); plain words otherwise.
async function screeningFetch(path, options = {}) {
  let resp;
  try {
    resp = await fetch(path, { ...options, headers: headers(options.headers || {}) });
  } catch (e) {
    throw new Error("The server could not be reached. Check your connection and try again.");
  }
  if (resp.ok) return resp;
  let code = "", message = "";
  try { ({ code, message } = (await resp.json()).error || {}); } catch (e) { /* not JSON */ }
  if (resp.status === 401) { $("key-box").open = true; }
  if (code === "invalid_names_file" || (resp.status === 422 && message)) throw new Error(message);
  throw new Error(plainWords(code, message, resp.status));
}

async function runScreening() {
  const status = $("screening-status");
  const picked = $("screening-file").files[0];
  const text = $("screening-names").value.trim();
  if (!picked && !text) { status.textContent = "Paste names or choose a file first."; return; }
  const form = new FormData();
  form.append("file", picked || new Blob([text + "\n"], { type: "text/plain" }), picked ? picked.name : "pasted names.txt");
  if ($("screening-type").value) form.append("type", $("screening-type").value);
  status.textContent = `Screening ${picked ? picked.name : "the pasted names"}…`;
  $("screening-run").disabled = true;
  try {
    const rec = await (await screeningFetch("/v1/screenings", { method: "POST", body: form })).json();
    showScreening(rec);
  } catch (e) {
    status.textContent = `Not screened: ${e.message}`;
  } finally {
    $("screening-run").disabled = false;
  }
}

function latestDecisions(rec) {
  const out = {};
  for (const d of rec.decisions || []) out[`${d.query_index}|${d.entity_id}`] = d;
  return out;
}

function decidedText(d) {
  const when = new Date(d.created_at);
  return `${DECISION_LABELS[d.decision]} · ${d.analyst} · ${isNaN(when) ? d.created_at : when.toLocaleString()}` +
    (d.note ? ` · “${d.note}”` : "");
}

function showScreening(rec) {
  screening.record = rec;
  const matches = rec.results.reduce((n, r) => n + r.matches.filter((m) => m.match).length, 0);
  const lists = (rec.list_versions || []).map((v) => v.published ? `${v.list} (published ${v.published})` : v.list).join(", ");
  $("screening-status").textContent =
    `${rec.results.length} name${rec.results.length === 1 ? "" : "s"} screened, ${matches} match${matches === 1 ? "" : "es"} ` +
    `against ${rec.entries} list entries${lists ? ` on ${lists}` : ""}. Record ${rec.id}.`;
  const box = $("screening-results");
  box.replaceChildren();
  const tools = el("div", { class: "row screening-tools" });
  const csvB = el("button", { type: "button", class: "secondary", id: "screening-csv" }, "Export CSV");
  const jsonB = el("button", { type: "button", class: "secondary", id: "screening-json" }, "Export JSON");
  const recB = el("button", { type: "button", class: "secondary", id: "screening-record" }, "Open and print record");
  csvB.addEventListener("click", () => exportScreening("csv"));
  jsonB.addEventListener("click", () => exportScreening("json"));
  recB.addEventListener("click", () => openScreeningRecord());
  tools.append(csvB, jsonB, recB);
  box.append(tools);
  const decided = latestDecisions(rec);
  const table = el("table", { class: "screening-table" });
  const head = el("tr");
  for (const h of ["#", "Name screened", "Hit", "Why", "Decision"]) head.append(el("th", {}, h));
  table.append(head);
  rec.results.forEach((res, i) => {
    const shown = res.matches.filter((m) => m.match);
    const rows = shown.length ? shown : res.matches.slice(0, 1);
    if (!rows.length) {
      const tr = el("tr", { class: "clear" });
      tr.append(el("td", {}, i + 1), el("td", {}, res.query), el("td", { colSpan: 3 }, "No candidates on the lists screened."));
      table.append(tr);
      return;
    }
    for (const m of rows) {
      const tr = el("tr", { class: m.match ? "hit" : "below", "data-query": String(i), "data-entity": m.entity_id });
      const hit = el("td");
      hit.append(el("strong", {}, `${m.match ? "Match" : "Below threshold"} ${m.score.toFixed(2)}`), el("br"),
        document.createTextNode(m.name), el("br"),
        el("span", { class: "meta" }, [m.list, (m.programs || []).join(", "), m.listed_on ? `listed ${m.listed_on}` : ""].filter(Boolean).join(" · ")));
      tr.append(el("td", {}, i + 1), el("td", {}, res.query), hit, el("td", { class: "why" }, m.explanation), decisionCell(rec, i, m, decided));
      table.append(tr);
    }
  });
  box.append(table);
}

function decisionCell(rec, i, m, decided) {
  const td = el("td", { class: "decision" });
  const select = el("select", { class: "decision-choice" });
  select.setAttribute("aria-label", `Decision on ${m.name}`);
  for (const [v, t] of Object.entries(DECISION_LABELS)) select.append(el("option", { value: v }, t));
  const note = el("input", { class: "decision-note", placeholder: "note", maxLength: 4000 });
  note.setAttribute("aria-label", "Note on the decision");
  const save = el("button", { type: "button", class: "secondary decision-save" }, "Record");
  const said = el("p", { class: "meta decision-said" });
  const prev = decided[`${i}|${m.entity_id}`];
  if (prev) { select.value = prev.decision; said.textContent = decidedText(prev); }
  save.addEventListener("click", async () => {
    save.disabled = true;
    try {
      const d = await (await screeningFetch(`/v1/screenings/${encodeURIComponent(rec.id)}/decisions`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ query_index: i, entity_id: m.entity_id, decision: select.value, note: note.value }),
      })).json();
      rec.decisions = [...(rec.decisions || []), d];
      said.textContent = `Recorded: ${decidedText(d)}`;
      note.value = "";
    } catch (e) {
      said.textContent = `Not recorded: ${e.message}`;
    } finally {
      save.disabled = false;
    }
  });
  td.append(select, note, save, said);
  return td;
}

async function exportScreening(format) {
  const rec = screening.record;
  if (!rec) return;
  try {
    const resp = await screeningFetch(`/v1/screenings/${encodeURIComponent(rec.id)}?format=${format}`);
    const blob = new Blob([await resp.text()], { type: format === "csv" ? "text/csv" : "application/json" });
    const a = el("a", { href: URL.createObjectURL(blob), download: `screening-${rec.id}.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } catch (e) {
    $("screening-status").textContent = `Export failed: ${e.message}`;
  }
}

// The record is the server's printable HTML, in a frame that runs no scripts; same-origin so this page can
// call print() on it (the frame itself can run nothing).
async function openScreeningRecord() {
  const rec = screening.record;
  if (!rec) return;
  let html;
  try {
    html = await (await screeningFetch(`/v1/screenings/${encodeURIComponent(rec.id)}?format=html`)).text();
  } catch (e) {
    $("screening-status").textContent = `The record could not be opened: ${e.message}`;
    return;
  }
  printableDialog(`Screening record ${rec.id}`, html, `screening-${rec.id}.html`);
}

// A dialog holding a printable document (screening records, briefings) with Print and Save HTML.
function printableDialog(title, html, filename, extra = []) {
  let dialog = $("printable-dialog");
  if (!dialog) {
    dialog = el("dialog", { id: "printable-dialog", class: "printable" });
    document.body.append(dialog);
  }
  if (dialog.open) dialog.close();
  const frame = el("iframe", { id: "printable-frame", title });
  frame.setAttribute("sandbox", "allow-same-origin allow-modals allow-popups allow-popups-to-escape-sandbox");
  frame.srcdoc = html;
  const print = el("button", { type: "button", id: "printable-print" }, "Print");
  print.addEventListener("click", () => frame.contentWindow.print());
  const save = el("a", { href: URL.createObjectURL(new Blob([html], { type: "text/html" })), download: filename, id: "printable-html" }, "HTML");
  const close = el("button", { type: "button", class: "icon", id: "printable-close" }, "×");
  close.setAttribute("aria-label", "Close");
  close.addEventListener("click", () => dialog.close());
  const head = el("div", { class: "dialog-head" });
  const actions = el("span", { class: "row" });
  actions.append(save, ...extra, print, close);
  head.append(el("strong", {}, title), actions);
  dialog.replaceChildren(head, frame);
  dialog.showModal();
  return dialog;
}

document.addEventListener("DOMContentLoaded", () => {
  buildScreeningPanel();
  $("toggle-screening").addEventListener("click", () => {
    const p = $("screening-panel");
    p.hidden = !p.hidden;
    $("toggle-screening").setAttribute("aria-expanded", String(!p.hidden));
    if (!p.hidden) $("screening-names").focus();
  });
});

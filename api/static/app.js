// regbrief chat page: vanilla JS, no build step.
// Documents are untrusted: every piece of their text goes into the page with textContent, never innerHTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { conversationId: null, busy: false };

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// --- API access -------------------------------------------------------------------------------
function apiKey() { return localStorage.getItem("regbrief.key") || ""; }

function headers(extra = {}) {
  const h = { ...extra };
  const key = apiKey();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function errorMessage(resp) {
  try {
    const body = await resp.json();
    if (body && body.error) return body.error.message;
  } catch (e) { /* not JSON */ }
  return `HTTP ${resp.status}`;
}

async function api(path, options = {}) {
  const resp = await fetch(path, { ...options, headers: headers(options.headers || {}) });
  if (resp.status === 401) {
    $("key-box").open = true;
    $("api-key").focus();
  }
  if (!resp.ok) throw new Error(await errorMessage(resp));
  return resp;
}

function currentFilters() {
  const f = {};
  const j = $("f-jurisdiction").value;
  if (j) f.jurisdiction = [j];
  if ($("f-since").value) f.since = $("f-since").value;
  if ($("f-until").value) f.until = $("f-until").value;
  return f;
}

// --- Server-Sent Events over fetch ---------------------------------------------------------------
async function* readEvents(resp) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

// --- messages ----------------------------------------------------------------------------------
function addUserMessage(text) {
  $("hint")?.remove();
  const m = el("div", { class: "msg user" }, text);
  $("messages").append(m);
  return m;
}

function addAssistantMessage() {
  const m = el("article", { class: "msg assistant" });
  m.citations = {};
  const body = el("p", { class: "body" });
  body.append(el("span", { class: "pending" }, "Searching the sources…"));
  m.append(body);
  $("messages").append(m);
  m.scrollIntoView({ block: "end", behavior: "smooth" });
  return m;
}

function citeButton(msg, n) {
  const b = el("button", { type: "button", class: "cite", "data-n": String(n), title: `Show source ${n}` }, `[${n}]`);
  b.addEventListener("click", () => showCitation(msg, n, b));
  return b;
}

function appendSentence(msg, s) {
  const body = msg.querySelector(".body");
  body.querySelector(".pending")?.remove();
  const span = el("span", { class: `sentence ${s.verdict} ${s.kind}` }, s.text.trim());
  if (body.childNodes.length) body.append(" ");
  body.append(span);
  for (const n of s.citations) span.append(citeButton(msg, n));
  if (s.verdict === "unsupported") span.title = "The verifier could not confirm this sentence from its sources";
}

function setCitations(msg, citations) {
  msg.citations = {};
  for (const c of citations) msg.citations[c.n] = c;
  if (!citations.length) return;
  const list = el("ol", { class: "sources" });
  for (const c of citations) {
    const li = el("li", { value: c.n });
    const quote = c.quote.length > 90 ? c.quote.slice(0, 90).trimEnd() + "…" : c.quote;
    li.textContent = `${c.title}${c.date ? " (" + c.date + ")" : ""}: “${quote}”`;
    li.addEventListener("click", () => showCitation(msg, c.n));
    list.append(li);
  }
  msg.append(list);
}

function finishAnswer(msg, answer) {
  const body = msg.querySelector(".body");
  body.querySelector(".pending")?.remove();
  if (!body.childNodes.length && answer.answer) body.textContent = answer.answer;
  if (answer.refused && answer.closest && answer.closest.length) {
    msg.append(el("p", { class: "notes" }, "Closest passages:"));
    const ul = el("ul", { class: "closest" });
    for (const r of answer.closest) ul.append(el("li", {}, `${r.title} (${r.date || "undated"})`));
    msg.append(ul);
  }
  for (const note of answer.notes || []) msg.append(el("p", { class: "notes" }, note));
  if (answer.standalone_question) {
    msg.append(el("p", { class: "notes" }, `Understood as: ${answer.standalone_question}`));
  }
}

function showError(msg, text) {
  const body = msg.querySelector(".body");
  body.querySelector(".pending")?.remove();
  msg.append(el("p", { class: "error" }, text));
}

// --- the cited passage, highlighted in its chunk ----------------------------------------------------
function showCitation(msg, n, button) {
  const c = msg.citations[n];
  if (!c) return;
  document.querySelectorAll(".cite.active").forEach((b) => b.classList.remove("active"));
  if (button) button.classList.add("active");
  $("passage-title").textContent = `[${n}] ${c.title}`;
  const meta = [c.publisher, c.date, c.doc_type && c.doc_type.replace("_", " "), c.page ? `p. ${c.page}` : null]
    .filter(Boolean).join(" · ");
  $("passage-meta").textContent = meta;
  const box = $("passage-text");
  box.replaceChildren();
  const text = c.chunk_text || c.quote;
  let start = c.start, end = c.end;
  if (!c.chunk_text || start < 0 || end > text.length || text.slice(start, end) !== c.quote) {
    const i = text.indexOf(c.quote);
    start = i >= 0 ? i : 0;
    end = i >= 0 ? i + c.quote.length : 0;
  }
  box.append(document.createTextNode(text.slice(0, start)));
  const mark = el("mark", {}, text.slice(start, end));
  box.append(mark);
  box.append(document.createTextNode(text.slice(end)));
  const link = $("passage-link");
  link.replaceChildren();
  const where = c.url || c.source;
  if (c.url && /^https?:\/\//i.test(c.url)) {
    link.append(el("a", { href: c.url, target: "_blank", rel: "noopener noreferrer" }, c.url));
  } else {
    link.textContent = where;
  }
  $("passage").hidden = false;
  mark.scrollIntoView({ block: "nearest" });
}

// --- asking ------------------------------------------------------------------------------------
async function ask(question) {
  state.busy = true;
  $("ask-button").disabled = true;
  addUserMessage(question);
  const msg = addAssistantMessage();
  try {
    const resp = await api("/v1/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify({ message: question, conversation_id: state.conversationId, filters: currentFilters(), stream: true }),
    });
    for await (const { event, data } of readEvents(resp)) {
      if (event === "start") state.conversationId = data.conversation_id;
      else if (event === "sentence") appendSentence(msg, data);
      else if (event === "citations") setCitations(msg, data.citations);
      else if (event === "done") finishAnswer(msg, data);
      else if (event === "error") showError(msg, data.error.message);
      msg.scrollIntoView({ block: "end" });
    }
    msg.dataset.done = "true";
  } catch (e) {
    showError(msg, e.message);
  } finally {
    state.busy = false;
    $("ask-button").disabled = false;
  }
}

function newConversation() {
  state.conversationId = null;
  $("messages").replaceChildren(el("p", { class: "hint", id: "hint" }, "New conversation. Ask a question."));
  $("passage").hidden = true;
  $("question").focus();
}

// --- briefings ---------------------------------------------------------------------------------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function requestBriefing(entity) {
  const status = $("briefing-status");
  status.replaceChildren();
  status.textContent = `Building a briefing on ${entity}…`;
  try {
    const job = await (await api("/v1/briefings", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ entity, format: "html" }),
    })).json();
    let info;
    for (let i = 0; i < 600; i++) {
      info = await (await api(job.url)).json();
      if (info.status === "succeeded" || info.status === "failed") break;
      await sleep(500);
    }
    if (info.status !== "succeeded") throw new Error(info.error || "the briefing job did not finish");
    status.textContent = `Briefing on ${entity} ready (rating ${info.result.rating}). `;
    const open = el("a", { href: "#", id: "open-briefing" }, "Open briefing");
    open.addEventListener("click", (ev) => { ev.preventDefault(); openBriefing(info.result.briefing_id, entity); });
    status.append(open);
    openBriefing(info.result.briefing_id, entity);
  } catch (e) {
    status.textContent = `Briefing failed: ${e.message}`;
  }
}

async function openBriefing(id, entity) {
  const html = await (await api(`/v1/briefings/${encodeURIComponent(id)}?format=html`)).text();
  const md = await (await api(`/v1/briefings/${encodeURIComponent(id)}?format=md`)).text();
  $("briefing-dialog-title").textContent = `Briefing: ${entity}`;
  // The rendered briefing is shown in a sandboxed frame: no scripts, no access to this page.
  $("briefing-frame").srcdoc = html;
  const a = $("briefing-md");
  if (a.href.startsWith("blob:")) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(new Blob([md], { type: "text/markdown" }));
  a.download = `briefing-${id}.md`;
  $("briefing-dialog").showModal();
}

// --- wiring ------------------------------------------------------------------------------------
document.addEventListener("DOMContentLoaded", () => {
  $("api-key").value = apiKey();
  $("api-key").addEventListener("change", (e) => localStorage.setItem("regbrief.key", e.target.value.trim()));

  $("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("question").value.trim();
    if (!q || state.busy) return;
    $("question").value = "";
    ask(q);
  });
  $("question").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  $("new-conversation").addEventListener("click", newConversation);
  $("toggle-briefing").addEventListener("click", () => {
    const panel = $("briefing-panel");
    panel.hidden = !panel.hidden;
    $("toggle-briefing").setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) $("briefing-entity").focus();
  });
  $("briefing-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const entity = $("briefing-entity").value.trim();
    if (entity) requestBriefing(entity);
  });
  $("briefing-close").addEventListener("click", () => $("briefing-dialog").close());
  $("passage-close").addEventListener("click", () => { $("passage").hidden = true; });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") $("passage").hidden = true; });
});

// regbrief chat page: vanilla JS, no build step.
// Documents are untrusted: every piece of their text goes into the page with textContent, never innerHTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { conversationId: null, turns: 0, busy: false, controller: null,
                limits: { max_question_chars: 2000, max_upload_bytes: 50 * 1024 * 1024, max_files: 50 } };

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

// Errors in plain words: what happened and what to do, never a setting's or an exception's name.
const PLAIN = {
  unauthorized: "This server needs an API key. Enter it under “API key” above, then try again.",
  forbidden: "Your API key does not give access to this. Check the key under “API key”.",
  question_too_long: "Your question is too long for this server. Shorten it and send it again.",
  payload_too_large: "That is more than this server accepts in one upload. Send fewer or smaller files.",
  rate_limited: "Too many requests in a short time. Wait a minute, then try again.",
  too_many_jobs: "The server is busy with other uploads or briefings. Try again in a minute.",
  store_unavailable: "The document store cannot be reached right now. Try again in a moment.",
  not_found: "That is no longer on the server.",
  internal: "Something went wrong on the server. Try again; if it keeps happening, tell whoever runs it.",
};

function plainWords(code, message, status) {
  if (PLAIN[code]) return PLAIN[code];
  if (status === 401) return PLAIN.unauthorized;
  if (status === 413) return PLAIN.payload_too_large;
  if (status === 429) return PLAIN.rate_limited;
  if (status >= 500) return status === 503 ? PLAIN.store_unavailable : PLAIN.internal;
  // A validation message, without setting names (REGBRIEF_...) or field paths.
  const text = String(message || "").replace(/\s*\(?\bREGBRIEF_[A-Z0-9_]+\)?/g, "").replace(/^[a-z_.]+: /, "").trim();
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : `The server refused the request (HTTP ${status}).`;
}

class ApiError extends Error {
  constructor(code, message, status) {
    super(plainWords(code, message, status));
    this.code = code;
    this.status = status;
  }
}

async function apiError(resp) {
  let code = "", message = "";
  try {
    const body = await resp.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch (e) { /* not JSON */ }
  return new ApiError(code, message, resp.status);
}

function networkError(e) {
  if (e instanceof ApiError || e.name === "AbortError") return e;
  return new Error("The server could not be reached. Check your connection and try again.");
}

async function api(path, options = {}) {
  let resp;
  try {
    resp = await fetch(path, { ...options, headers: headers(options.headers || {}) });
  } catch (e) {
    throw networkError(e);
  }
  if (resp.status === 401) {
    $("key-box").open = true;
    $("api-key").focus();
  }
  if (!resp.ok) throw await apiError(resp);
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
  const span = el("span", { class: `sentence ${s.verdict} ${s.kind}` }, plainLine(s.text));  // briefings.js
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
    const said = plainLine(c.quote);  // briefings.js: no Markdown symbols
    const quote = said.length > 90 ? said.slice(0, 90).trimEnd() + "…" : said;
    li.textContent = `${c.title}${c.date ? " (" + c.date + ")" : ""}: “${quote}”`;
    li.addEventListener("click", () => showCitation(msg, c.n));
    list.append(li);
  }
  msg.append(list);
}

// A closest passage (a search result) shown like a citation: its text is the passage, the whole of it marked.
function closestAsCitation(r, i) {
  const text = r.text || "";
  return { n: `p${i + 1}`, chunk_id: r.chunk_id, doc_id: r.doc_id, title: r.title, source: r.source, date: r.date,
           publisher: r.publisher || (r.metadata && r.metadata.publisher), url: r.url || (r.metadata && r.metadata.url),
           doc_type: r.doc_type, page: r.metadata && r.metadata.page, quote: text, chunk_text: text, start: 0, end: text.length };
}

function finishAnswer(msg, answer) {
  msg.answer = answer;
  const body = msg.querySelector(".body");
  body.querySelector(".pending")?.remove();
  if (!body.childNodes.length && answer.answer) body.textContent = answer.answer;
  if (answer.refused && answer.closest && answer.closest.length) {
    msg.append(el("p", { class: "notes" }, "Closest passages:"));
    const ol = el("ol", { class: "sources closest" });
    answer.closest.forEach((r, i) => {
      const c = closestAsCitation(r, i);
      msg.citations[c.n] = c;
      const li = el("li", {});
      const b = el("button", { type: "button", class: "link", "data-n": c.n, title: "Show this passage" },
                   `${c.title} (${c.date || "undated"})`);
      b.addEventListener("click", () => showCitation(msg, c.n, b));
      li.append(b);
      ol.append(li);
    });
    msg.append(ol);
  }
  for (const note of answer.notes || []) msg.append(el("p", { class: "notes" }, note));
  if (answer.standalone_question) {
    msg.append(el("p", { class: "notes" }, `Understood as: ${answer.standalone_question}`));
  }
  const tools = el("div", { class: "msg-tools" });
  const copy = el("button", { type: "button", class: "link copy-md", title: "Copy the answer and its sources as Markdown" },
                  "Copy as Markdown");
  copy.addEventListener("click", () => copyMarkdown(msg, copy));
  tools.append(copy);
  msg.append(tools);
  msg.dataset.done = "true";
}

function answerMarkdown(answer) {
  const lines = [answer.answer.trim()];
  if (answer.citations && answer.citations.length) {
    lines.push("", "Sources:");
    for (const c of answer.citations) {
      const where = [c.source, c.date].filter(Boolean).join(", ");
      const link = c.url && /^https?:\/\//i.test(c.url) ? ` <${c.url}>` : "";
      lines.push(`[${c.n}] ${c.title}${where ? " (" + where + ")" : ""}: “${c.quote.trim()}”${link}`);
    }
  }
  return lines.join("\n") + "\n";
}

async function copyMarkdown(msg, button) {
  const md = answerMarkdown(msg.answer);
  try {
    await navigator.clipboard.writeText(md);
  } catch (e) {  // no clipboard permission: the textarea way
    const t = el("textarea", {});
    t.value = md;
    document.body.append(t);
    t.select();
    document.execCommand("copy");
    t.remove();
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy as Markdown"; }, 2000);
}

function showError(msg, text) {
  const body = msg.querySelector(".body");
  body.querySelector(".pending")?.remove();
  msg.append(el("p", { class: "error" }, text));
  msg.dataset.done = "error";
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
  const mark = renderPassage(box, text, start, end);  // briefings.js: Markdown as structure, quote marked
  if (typeof n === "string") $("passage-title").textContent = `Closest passage: ${c.title}`;
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
function setBusy(busy) {
  state.busy = busy;
  $("ask-button").hidden = busy;
  $("stop-button").hidden = !busy;
  if (busy) $("stop-button").focus();
  updateCounter();
}

async function ask(question) {
  const before = { id: state.conversationId, turns: state.turns };
  state.controller = new AbortController();
  setBusy(true);
  addUserMessage(question);
  const msg = addAssistantMessage();
  let answered = false;
  try {
    const resp = await api("/v1/chat", {
      method: "POST", signal: state.controller.signal,
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify({ message: question, conversation_id: state.conversationId, filters: currentFilters(), stream: true }),
    });
    $("question").value = "";  // accepted: the box is free for the next question
    updateCounter();
    for await (const { event, data } of readEvents(resp)) {
      if (event === "start") state.conversationId = data.conversation_id;
      else if (event === "sentence") appendSentence(msg, data);
      else if (event === "citations") setCitations(msg, data.citations);
      else if (event === "done") { finishAnswer(msg, data); answered = true; }
      else if (event === "error") showError(msg, plainWords(data.error.code, data.error.message, 500));
      msg.scrollIntoView({ block: "end" });
    }
    if (answered) state.turns += 1;
    else if (!msg.dataset.done) showError(msg, "The answer was cut off. Try asking again.");
  } catch (e) {
    if (e.name === "AbortError") {
      msg.querySelector(".pending")?.remove();
      msg.append(el("p", { class: "notes stopped" }, "Stopped. This answer was not finished or saved."));
      msg.dataset.done = "stopped";
    } else {
      showError(msg, networkError(e).message);
      if (e.code === "not_found" && state.conversationId) {
        msg.append(el("p", { class: "notes" }, "Start a new conversation to go on."));
      }
    }
    // Keep the question so it can be edited and sent again.
    if (!$("question").value) $("question").value = question;
    if (!answered && before.turns === 0) {  // a conversation with no saved turn is not one to come back to
      state.conversationId = before.id;
    }
  } finally {
    state.controller = null;
    setBusy(false);
    if (answered) loadConversations();
  }
}

function stopAnswer() {
  if (state.controller) state.controller.abort();
}

function clearMessages(hint) {
  $("messages").replaceChildren(el("p", { class: "hint", id: "hint" }, hint));
  $("passage").hidden = true;
}

function newConversation() {
  if (state.busy) stopAnswer();
  state.conversationId = null;
  state.turns = 0;
  clearMessages("New conversation. Ask a question; earlier conversations are listed under Conversations.");
  markCurrent();
  loadConversations();
  $("question").focus();
}

// --- history: conversations and briefings, from the server (this workspace's) ----------------------
function when(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso || "";
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleDateString([], { day: "numeric", month: "short", year: "numeric" });
}

function historyItem(label, time, title, onOpen, data) {
  const li = el("li", data);
  const b = el("button", { type: "button", class: "history-item", title });
  b.append(el("span", { class: "label" }, label), el("time", { dateTime: time }, when(time)));
  b.addEventListener("click", onOpen);
  li.append(b);
  return li;
}

function fillList(list, rows, make, emptyText) {
  list.replaceChildren(...(rows.length ? rows.map(make) : [el("li", { class: "empty" }, emptyText)]));
}

function markCurrent() {
  document.querySelectorAll("#conversation-list li").forEach((li) =>
    li.classList.toggle("current", li.dataset.id === state.conversationId));
}

async function loadConversations() {
  try {
    const data = await (await api("/v1/conversations?limit=50")).json();
    fillList($("conversation-list"), data.conversations, (c) => historyItem(
      c.question, c.updated_at, `${c.question} (${c.turns} question${c.turns === 1 ? "" : "s"})`,
      () => openConversation(c.conversation_id), { "data-id": c.conversation_id }), "None yet");
    markCurrent();
  } catch (e) { /* the list stays as it was; asking shows the error */ }
}

async function loadBriefings() {
  try {
    const data = await (await api("/v1/briefings?limit=50")).json();
    renderBriefingList($("briefing-list"), data.briefings);  // briefings.js: one entry per subject
  } catch (e) { /* as above */ }
}

function showAnswer(msg, answer) {
  for (const s of answer.sentences || []) {
    if (s.verdict !== "removed") appendSentence(msg, s);
  }
  setCitations(msg, answer.citations || []);
  finishAnswer(msg, answer);
}

async function openConversation(id) {
  if (state.busy) stopAnswer();
  closeSidebarOnNarrow();
  try {
    const conv = await (await api(`/v1/conversations/${encodeURIComponent(id)}`)).json();
    clearMessages("");
    $("hint").remove();
    for (const t of conv.turns) {
      addUserMessage(t.question);
      showAnswer(addAssistantMessage(), t.answer);
    }
    state.conversationId = conv.conversation_id;
    state.turns = conv.turns.length;
    markCurrent();
    $("messages").lastElementChild?.scrollIntoView({ block: "end" });
    $("question").focus();
  } catch (e) {
    clearMessages(`This conversation could not be opened: ${e.message}`);
  }
}

function closeSidebarOnNarrow() {
  $("sidebar").classList.remove("open");
  $("toggle-history").setAttribute("aria-expanded", "false");
}

// --- the question box: its limit shown before sending ----------------------------------------------
function updateCounter() {
  const n = $("question").value.trim().length;
  const max = state.limits.max_question_chars;
  const counter = $("counter");
  counter.textContent = `${n.toLocaleString("en")} / ${max.toLocaleString("en")}`;
  const over = n > max;
  counter.classList.toggle("over", over);
  $("question").setAttribute("aria-invalid", String(over));
  $("ask-button").disabled = over;
  $("composer-error").textContent = over
    ? `Your question is ${n.toLocaleString("en")} characters; this server takes up to ${max.toLocaleString("en")}. Shorten it to send it.`
    : "";
}

async function loadLimits() {
  try {
    state.limits = await (await api("/v1/limits")).json();
  } catch (e) { /* keep the defaults */ }
  updateCounter();
}

// --- uploads: the file goes up with a progress bar, then the ingest job is followed ------------------
function uploadFiles(files) {
  const status = $("upload-status");
  const bar = $("upload-progress");
  const size = files.reduce((t, f) => t + f.size, 0);
  const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
  if (files.length > state.limits.max_files) {
    status.textContent = `At most ${state.limits.max_files} files in one upload.`;
    return Promise.resolve();
  }
  if (size > state.limits.max_upload_bytes) {
    status.textContent = `These files come to ${mb(size)}; this server takes up to ${mb(state.limits.max_upload_bytes)} in one upload.`;
    return Promise.resolve();
  }
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  $("upload-button").disabled = true;
  bar.hidden = false;
  bar.value = 0;
  status.textContent = `Uploading ${files.length} file${files.length > 1 ? "s" : ""}…`;
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();  // fetch reports no upload progress
    xhr.open("POST", "/v1/documents");
    for (const [k, v] of Object.entries(headers())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) {
        bar.value = Math.round((50 * e.loaded) / e.total);
        status.textContent = `Uploading: ${Math.round((100 * e.loaded) / e.total)}%`;
      }
    };
    const done = (text) => { status.textContent = text; $("upload-button").disabled = false; resolve(); };
    xhr.onerror = () => { bar.hidden = true; done(networkError(new Error()).message); };
    xhr.onload = async () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status >= 400) {
        bar.hidden = true;
        if (xhr.status === 401) { $("key-box").open = true; }
        done(`Upload failed: ${plainWords(body.error && body.error.code, body.error && body.error.message, xhr.status)}`);
        return;
      }
      try {
        done(await followJob(body.url || `/v1/jobs/${body.job_id}`, bar, status));
      } catch (e) {
        done(`Upload failed: ${e.message}`);
      }
    };
    xhr.send(form);
  });
}

async function followJob(url, bar, status) {
  for (;;) {
    const job = await (await api(url)).json();
    const p = job.progress || {};
    if (p.total) bar.value = 50 + Math.round((50 * p.done) / p.total);
    const perFile = (job.status === "succeeded" || job.status === "failed") && uploadSummary(job);
    if (perFile) {  // briefings.js: "1 added, 1 failed: reason", file by file
      bar.value = 100;
      bar.hidden = job.status === "failed";
      return perFile;
    }
    if (job.status === "succeeded") {
      bar.value = 100;
      const r = job.result || {};
      const t = r.totals || r;
      const added = t.added ?? 0, updated = t.updated ?? 0, unchanged = t.unchanged ?? 0;
      return `Done: ${added} document${added === 1 ? "" : "s"} added, ${updated} updated, ${unchanged} unchanged. You can ask about them now.`;
    }
    if (job.status === "failed") {
      bar.hidden = true;
      return `The files could not be read: ${String(job.error || "unknown reason").replace(/\s*\(?\bREGBRIEF_[A-Z0-9_]+\)?/g, "")}`;
    }
    status.textContent = `Reading the documents${p.total ? `: ${p.done} of ${p.total} files` : "…"}`;
    await sleep(400);
  }
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
    if (info.status !== "succeeded") throw new Error(info.error || "the briefing was not finished");
    status.textContent = `Briefing on ${entity} ready (rating ${info.result.rating}). `;
    const open = el("a", { href: "#", id: "open-briefing" }, "Open briefing");
    open.addEventListener("click", (ev) => { ev.preventDefault(); openBriefing(info.result.briefing_id, entity); });
    status.append(open);
    openBriefing(info.result.briefing_id, entity);
    loadBriefings();
  } catch (e) {
    status.textContent = `Briefing failed: ${e.message}`;
  }
}

async function openBriefing(id, entity) {
  return openBriefingView(id, entity);  // briefings.js: shown with HTML, Markdown and PDF export and Print
}

// --- wiring ------------------------------------------------------------------------------------
document.addEventListener("DOMContentLoaded", () => {
  $("api-key").value = apiKey();
  $("api-key").addEventListener("change", (e) => {
    localStorage.setItem("regbrief.key", e.target.value.trim());
    loadLimits(); loadConversations(); loadBriefings();
  });
  loadLimits();
  loadConversations();
  loadBriefings();

  $("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (state.busy) return;
    const q = $("question").value.trim();
    if (!q) {
      $("composer-error").textContent = "Type a question first.";
      $("question").focus();
      return;
    }
    if (q.length > state.limits.max_question_chars) { updateCounter(); return; }
    ask(q);
  });
  $("question").addEventListener("input", updateCounter);
  $("stop-button").addEventListener("click", stopAnswer);
  $("toggle-history").addEventListener("click", () => {
    const open = $("sidebar").classList.toggle("open");
    $("toggle-history").setAttribute("aria-expanded", String(open));
  });
  $("toggle-upload").addEventListener("click", () => {
    const panel = $("upload-panel");
    panel.hidden = !panel.hidden;
    $("toggle-upload").setAttribute("aria-expanded", String(!panel.hidden));
  });
  $("upload-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const files = [...$("upload-files").files];
    if (!files.length) { $("upload-status").textContent = "Choose one or more files first."; return; }
    uploadFiles(files);
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

// mitl review UI: plain JavaScript, no build step, nothing loaded from elsewhere.
// Every value from the server is shown with textContent, never parsed as HTML.
"use strict";

const TOKEN_KEY = "mitl-review-token";
const PICK_KEY = "mitl-review-pick";
const QUEUES_BY_ROLE = { annotator: ["annotator"], expert: ["expert", "annotator"], admin: [] };
const DIGIT_KEYS = "1234567890";
const REFRESH_MS = 15000;

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  me: null,
  datasets: [],
  dataset: null,
  queue: null,
  task: null,
  choice: null,
  shownAt: 0,
  busy: false,
  timer: null,
  // Per dataset: its latest guidelines, or null when it has none (GET .../guidelines: 404).
  guidelines: {},
  // What had the focus before the guidelines opened, to give it back when they close.
  beforeGuidelines: null,
};

const $ = (id) => document.getElementById(id);

function say(message, isError = false) {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

class AuthError extends Error {}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    logout();
    throw new AuthError("Your token was not accepted; log in again.");
  }
  let data = null;
  if (response.status !== 204) {
    data = await response.json().catch(() => null);
  }
  return { status: response.status, data };
}

function detail(result) {
  const d = result.data && result.data.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).join(".")}: ${e.msg}`).join("; ");
  return `HTTP ${result.status}`;
}

function show(id, visible) {
  $(id).hidden = !visible;
}

// ---- session ---------------------------------------------------------------------------

async function login(token) {
  state.token = token;
  let me;
  try {
    me = await api("GET", "/v1/me");
  } catch (error) {
    say(error.message, true);
    return;
  }
  if (me.status !== 200) {
    say(`Could not log in: ${detail(me)}`, true);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  state.me = me.data;
  const datasets = await api("GET", "/v1/datasets");
  state.datasets = datasets.status === 200 ? datasets.data.datasets : [];
  fillPickers();
  show("login", false);
  show("workspace", true);
  show("logout", true);
  renderMe();
  // The prompt and the focus come before the stats are awaited: the pickers work at once, and
  // a slow answer must not take the focus (or the status line) back from a task the person
  // has meanwhile started.
  if (QUEUES_BY_ROLE[state.me.role].length === 0) {
    say("Admins manage users and queues; labeling needs an annotator or expert token.");
  } else {
    say("Pick a dataset and a queue (arrow keys), then press Enter to start.");
  }
  $("dataset").focus();
  await refreshStats();
  state.timer = setInterval(() => {
    refreshStats().catch(() => {});
    // An admin may publish a new version meanwhile: the next task shows it.
    if (state.dataset) loadGuidelines(state.dataset).catch(() => {});
  }, REFRESH_MS);
}

function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(PICK_KEY);
  clearInterval(state.timer);
  Object.assign(state, { token: null, me: null, task: null, choice: null, guidelines: {} });
  closeGuidelines();
  show("workspace", false);
  show("logout", false);
  show("login", true);
  $("whoami").textContent = "";
  $("token").value = "";
  $("token").focus();
}

function fillPickers() {
  const datasetSelect = $("dataset");
  datasetSelect.replaceChildren(
    ...state.datasets.map((d) => new Option(`${d.name} (${d.labels.length} labels)`, d.name)),
  );
  const queueSelect = $("queue");
  queueSelect.replaceChildren(...QUEUES_BY_ROLE[state.me.role].map((q) => new Option(q, q)));
  // The last dataset and queue picked in this tab, so that a reload is one Enter away.
  const last = JSON.parse(sessionStorage.getItem(PICK_KEY) || "{}");
  if (state.datasets.some((d) => d.name === last.dataset)) datasetSelect.value = last.dataset;
  if ([...queueSelect.options].some((o) => o.value === last.queue)) queueSelect.value = last.queue;
  const canLabel = state.datasets.length > 0 && queueSelect.options.length > 0;
  $("queue-form").querySelector("button").disabled = !canLabel;
}

function renderMe() {
  $("whoami").textContent = `${state.me.name} (${state.me.role})`;
  const m = state.me;
  $("progress").textContent =
    `Today: ${m.done_today} done (${m.confirmations} confirmed, ${m.corrections} corrected), ` +
    `${m.escalations} escalated. All time: ${m.done_total}.`;
}

async function refreshStats() {
  const [me, queues] = await Promise.all([api("GET", "/v1/me"), api("GET", "/v1/queues")]);
  if (me.status === 200) {
    state.me = me.data;
    renderMe();
  }
  if (queues.status === 200) {
    const dataset = state.dataset || $("dataset").value;
    const mine = queues.data.queues.filter((q) => q.dataset === dataset);
    $("depth").textContent = mine.length
      ? `Queue depth for ${dataset}: ` +
        mine.map((q) => `${q.queue} ${q.depth} waiting, ${q.leased} in progress`).join("; ")
      : "";
  }
}

// ---- guidelines ------------------------------------------------------------------------

async function loadGuidelines(dataset) {
  const result = await api("GET", `/v1/datasets/${encodeURIComponent(dataset)}/guidelines`);
  if (result.status === 200) {
    state.guidelines[dataset] = result.data;
  } else if (result.status === 404) {
    state.guidelines[dataset] = null;
  }
  return state.guidelines[dataset] || null;
}

// Markdown to DOM nodes, a small subset: headings, paragraphs, lists (nested by indent),
// fenced code, **strong**, *em*, `code`. Every piece of text becomes a text node: nothing
// in the Markdown is ever parsed as HTML.
const INLINE = /(`[^`]+`)|(\*\*[^*]+\*\*)|(__[^_]+__)|(\*[^*\s][^*]*\*)|((?<!\w)_[^_\s][^_]*_(?!\w))/g;

function renderInline(parent, text) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    const token = match[0];
    let node;
    if (token.startsWith("`")) {
      node = document.createElement("code");
      node.textContent = token.slice(1, -1);
    } else if (token.startsWith("**") || token.startsWith("__")) {
      node = document.createElement("strong");
      renderInline(node, token.slice(2, -2));
    } else {
      node = document.createElement("em");
      renderInline(node, token.slice(1, -1));
    }
    parent.append(node);
    last = match.index + token.length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

function renderMarkdown(markdown) {
  const root = document.createDocumentFragment();
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  let paragraph = [];
  let lists = []; // open lists, outermost first: { node, indent, item }
  let fence = null;

  const closeParagraph = () => {
    if (paragraph.length === 0) return;
    const p = document.createElement("p");
    renderInline(p, paragraph.join(" "));
    root.append(p);
    paragraph = [];
  };
  const closeLists = () => {
    lists = [];
  };

  for (const line of lines) {
    if (fence !== null) {
      if (/^\s*```/.test(line)) {
        fence = null;
      } else {
        fence.textContent += `${line}\n`;
      }
      continue;
    }
    if (/^\s*```/.test(line)) {
      closeParagraph();
      closeLists();
      const pre = document.createElement("pre");
      fence = document.createElement("code");
      pre.append(fence);
      root.append(pre);
      continue;
    }
    if (line.trim() === "") {
      closeParagraph();
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      closeParagraph();
      closeLists();
      // The panel's own title is an h2: the Markdown's levels start under it.
      const h = document.createElement(`h${Math.min(heading[1].length + 2, 6)}`);
      renderInline(h, heading[2]);
      root.append(h);
      continue;
    }
    const item = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (item) {
      closeParagraph();
      const indent = item[1].length;
      const ordered = /\d/.test(item[2]);
      while (lists.length && lists[lists.length - 1].indent > indent) lists.pop();
      let top = lists[lists.length - 1];
      if (top && top.indent === indent && top.ordered !== ordered) {
        lists.pop();
        top = lists[lists.length - 1];
      }
      if (!top || top.indent < indent) {
        const list = document.createElement(ordered ? "ol" : "ul");
        (top ? top.item : root).append(list);
        top = { node: list, indent, ordered, item: null };
        lists.push(top);
      }
      const li = document.createElement("li");
      renderInline(li, item[3]);
      top.node.append(li);
      top.item = li;
      continue;
    }
    if (lists.length && /^\s/.test(line)) {
      // An indented line under a list item continues it.
      renderInline(lists[lists.length - 1].item, ` ${line.trim()}`);
      continue;
    }
    closeLists();
    paragraph.push(line.trim());
  }
  closeParagraph();
  return root;
}

function currentDataset() {
  return state.dataset || $("dataset").value;
}

async function openGuidelines() {
  const dataset = currentDataset();
  if (!dataset) return;
  let guide = state.guidelines[dataset];
  if (guide === undefined) {
    try {
      guide = await loadGuidelines(dataset);
    } catch (error) {
      say(error.message, true);
      return;
    }
  }
  $("guidelines-title").textContent = `Guidelines: ${dataset}`;
  const body = $("guidelines-body");
  if (!guide) {
    $("guidelines-meta").textContent = "";
    body.replaceChildren("This dataset has no guidelines yet.");
  } else {
    const when = new Date(guide.created_at).toLocaleDateString();
    const by = guide.source === "config" ? "the datasets file" : guide.created_by;
    $("guidelines-meta").textContent = `version ${guide.version}, from ${by}, ${when}`;
    body.replaceChildren(renderMarkdown(guide.markdown));
    if (guide.labels.length) {
      const title = document.createElement("h3");
      title.textContent = "Labels";
      const list = document.createElement("dl");
      list.className = "label-definitions";
      for (const d of guide.labels) {
        const dt = document.createElement("dt");
        dt.textContent = d.label;
        const dd = document.createElement("dd");
        dd.textContent = d.description;
        for (const example of d.examples) {
          const span = document.createElement("span");
          span.className = "examples";
          span.textContent = `e.g. ${example}`;
          dd.append(span);
        }
        list.append(dt, dd);
      }
      body.append(title, list);
    }
  }
  if ($("guidelines").hidden) state.beforeGuidelines = document.activeElement;
  show("guidelines", true);
  $("guidelines").focus();
}

function closeGuidelines() {
  if ($("guidelines").hidden) return;
  show("guidelines", false);
  const back = state.beforeGuidelines;
  state.beforeGuidelines = null;
  if (state.task) {
    $("task").focus();
  } else if (back && document.body.contains(back)) {
    back.focus();
  }
}

// ---- tasks -----------------------------------------------------------------------------

// `note` says what just happened (e.g. "Saved HUM."), so that it is not lost to the next task.
async function claim(note = "", noteIsError = false) {
  if (!state.dataset || !state.queue || state.busy) return;
  state.busy = true;
  try {
    const path = `/v1/queues/${encodeURIComponent(state.dataset)}/${state.queue}/claim`;
    const result = await api("POST", path);
    if (result.status === 204) {
      state.task = null;
      show("task", false);
      show("empty", true);
      say(`${note} The queue is empty.`.trim(), noteIsError);
      $("refresh").focus();
    } else if (result.status === 200) {
      renderTask(result.data, note, noteIsError);
    } else {
      say(`Could not claim: ${detail(result)}`, true);
    }
  } catch (error) {
    say(error.message, true);
  } finally {
    state.busy = false;
  }
  // Not awaited: a fast keystroke on the new task must not wait for the counters.
  refreshStats().catch(() => {});
}

// An image item (PNG or JPEG, base64 in the task): shown at a fixed size, small images scaled
// up with their pixels kept sharp (CSS image-rendering: pixelated).
function itemImage(base64, itemId) {
  const img = document.createElement("img");
  const type = base64.startsWith("/9j/") ? "image/jpeg" : "image/png";
  img.src = `data:${type};base64,${base64}`;
  img.alt = `Image item ${itemId}`;
  img.className = "item-image";
  img.addEventListener("load", () => {
    img.title = `${img.naturalWidth}x${img.naturalHeight} pixels`;
  });
  return img;
}

function renderTask(task, note, noteIsError) {
  state.task = task;
  state.choice = null;
  if (state.editor) state.editor.detach();
  state.editor = null;
  // Multi-label tasks: the label set being built (number keys toggle), from the suggestion.
  state.chosen = new Set(task.multilabel && task.suggestion ? labelSet(task.suggestion.label) : []);
  state.touched = false;
  state.shownAt = performance.now();
  show("empty", false);
  show("escalate-form", false);
  show("task", true);

  const expires = task.lease_expires_at ? new Date(task.lease_expires_at) : null;
  $("task-meta").textContent =
    `${task.dataset} / ${task.queue} · priority ${task.priority.toFixed(2)} · ${task.reason}` +
    (expires ? ` · yours until ${expires.toLocaleTimeString()}` : "");

  const content = task.content;
  const item = $("item");
  item.classList.toggle("image", Boolean(content.image));
  if (content.image) {
    item.replaceChildren(itemImage(content.image, task.item_id));
  } else {
    item.textContent =
      content.text !== null && content.text !== undefined
        ? content.text
        : `vector of ${content.vector.length} values: [${content.vector.slice(0, 12).join(", ")}` +
          (content.vector.length > 12 ? ", …]" : "]");
  }
  // Span tasks: the text becomes the span editor (spans.js), the spans listed under it.
  if (task.spans) state.editor = new SpanEditor(item, $("span-list"), task, say);
  const metadata = $("metadata");
  metadata.replaceChildren();
  for (const [key, value] of Object.entries(content.metadata || {})) {
    const dt = document.createElement("dt");
    dt.textContent = key;
    const dd = document.createElement("dd");
    dd.textContent = value;
    metadata.append(dt, dd);
  }

  const escalationNote = $("escalation-note");
  escalationNote.hidden = !task.escalation;
  escalationNote.textContent = task.escalation
    ? `Escalated by ${task.escalation.by}: ${task.escalation.comment || "(no comment)"}`
    : "";

  const s = task.suggestion;
  const suggestion = $("suggestion");
  suggestion.classList.toggle("blind", !s);
  if (task.spans) {
    const count = s && s.spans ? s.spans.length : 0;
    const hint = document.createElement("span");
    hint.className = "hint";
    hint.textContent =
      " ←/→ move between words, Shift+←/→ select, a number key labels the selection (or the " +
      "entity under the cursor), Backspace deletes it; Enter confirms all the entities.";
    suggestion.replaceChildren(
      s
        ? `Model suggests ${count} ${count === 1 ? "entity" : "entities"}` +
            (s.spans_complete === null || s.spans_complete === undefined
              ? "."
              : `, ${(s.spans_complete * 100).toFixed(1)}% sure none is missing.`)
        : "Blind task: the model's entities are hidden. Mark every entity yourself.",
      hint,
    );
  } else if (s) {
    const multi = task.multilabel;
    const label = document.createElement("strong");
    label.textContent = multi ? `{${labelSet(s.label).join(", ")}}` : s.label;
    const hint = document.createElement("span");
    hint.className = "hint";
    hint.textContent = multi
      ? " Number keys toggle labels (Shift for 11-20); Enter confirms the set."
      : " Enter confirms it; pick another label to correct it.";
    const confidence = `${(s.confidence * 100).toFixed(1)}% confidence.`;
    suggestion.replaceChildren(
      "Model suggests ",
      label,
      multi ? `; least certain label at ${confidence}` : ` with ${confidence}`,
      hint,
    );
  } else {
    suggestion.textContent =
      "Blind task: the model's suggestion is hidden. Pick a label, then press Enter.";
  }

  const labels = $("labels");
  const guide = state.guidelines[task.dataset];
  const defined = new Map((guide ? guide.labels : []).map((d) => [d.label, d]));
  labels.classList.toggle("defined", defined.size > 0);
  labels.replaceChildren(
    ...task.labels.flatMap((label, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.label = label;
      button.setAttribute("aria-pressed", "false");
      const key = document.createElement("span");
      key.className = "key";
      key.textContent = keyName(index, task.multilabel);
      const name = document.createElement("span");
      name.textContent = label;
      button.append(key, name);
      if (s && !task.spans) {
        const p = s.probabilities[label] || 0;
        const fill = document.createElement("span");
        fill.className = "bar-fill";
        fill.style.width = `${Math.round(p * 100)}%`;
        button.append(fill);
        button.title = `${(p * 100).toFixed(1)}%`;
        if (label === s.label) button.classList.add("suggested");
        if (task.multilabel && state.chosen.has(label)) button.classList.add("suggested");
      }
      if (task.multilabel) button.setAttribute("aria-pressed", String(state.chosen.has(label)));
      button.addEventListener("click", () => choose(index));
      if (defined.size === 0) return [button];
      // What the label means, beside its choice (and read out with it).
      const definition = document.createElement("div");
      definition.className = "definition";
      definition.id = `definition-${index}`;
      button.setAttribute("aria-describedby", definition.id);
      const d = defined.get(label);
      if (d) {
        definition.append(d.description);
        if (d.examples.length) {
          const examples = document.createElement("span");
          examples.className = "examples";
          examples.textContent = `e.g. ${d.examples.join(" · ")}`;
          definition.append(examples);
        }
      }
      return [button, definition];
    }),
  );
  $("escalate").disabled = state.me.role !== "annotator";
  say(`${note} Task ${task.task_id.slice(0, 8)} is yours.`.trim(), noteIsError);
  $("task").focus();
}

// ---- multi-label tasks -----------------------------------------------------------------

const SEPARATOR = "|";

function labelSet(key) {
  return key.split(SEPARATOR).filter((part) => part !== "");
}

function keyName(index, multilabel) {
  if (index < DIGIT_KEYS.length) return DIGIT_KEYS[index];
  if (multilabel && index < 2 * DIGIT_KEYS.length) return `⇧${DIGIT_KEYS[index - DIGIT_KEYS.length]}`;
  return "";
}

function toggle(index) {
  const task = state.task;
  if (!task || index >= task.labels.length) return;
  const label = task.labels[index];
  if (state.chosen.has(label)) state.chosen.delete(label);
  else state.chosen.add(label);
  state.touched = true;
  const button = $("labels").querySelectorAll("button")[index];
  button.setAttribute("aria-pressed", String(state.chosen.has(label)));
  button.focus();
}

function submitLabelSet() {
  const task = state.task;
  const suggestion = task.suggestion;
  const labels = [...state.chosen].sort();
  if (!suggestion && !state.touched) {
    state.touched = true;
    say("Blind task: toggle the item's labels with their number keys; Enter again submits none.", true);
    return;
  }
  if (suggestion && labels.join(SEPARATOR) === suggestion.label) {
    send({ action: "confirm" });
  } else {
    send({ action: "correct", labels });
  }
}

function choose(index) {
  if (state.task && state.task.spans) {
    state.editor.label(index);
    return;
  }
  if (state.task && state.task.multilabel) {
    toggle(index);
    return;
  }
  if (!state.task || index >= state.task.labels.length) return;
  state.choice = state.task.labels[index];
  const buttons = $("labels").querySelectorAll("button");
  buttons.forEach((b, i) => b.setAttribute("aria-pressed", String(i === index)));
  buttons[index].focus();
}

async function send(body) {
  if (!state.task || state.busy) return;
  state.busy = true;
  const task = state.task;
  let result;
  try {
    body.time_spent_ms = Math.round(performance.now() - state.shownAt);
    // The revision shown: if a re-scored item changed the suggestion meanwhile, the server
    // answers 409 and the task comes back with what the model says now.
    body.revision = task.revision;
    result = await api("POST", `/v1/tasks/${encodeURIComponent(task.task_id)}/submit`, body);
  } catch (error) {
    say(error.message, true);
    state.busy = false;
    return;
  }
  state.busy = false;
  if (result.status === 200 || result.status === 409) {
    // The task is settled, or no longer as shown: keys pressed while the next one loads
    // must not act on it.
    state.task = null;
  }
  if (result.status === 200) {
    const r = result.data;
    await claim(r.status === "done" ? `Saved ${r.label}.` : `Task ${r.status}.`);
  } else if (result.status === 409) {
    await claim(`Not saved: ${detail(result)}.`, true);
  } else {
    say(detail(result), true);
  }
}

function submitChoice() {
  const task = state.task;
  if (!task) return;
  if (task.multilabel) {
    submitLabelSet();
    return;
  }
  if (task.spans) {
    submitSpans();
    return;
  }
  const suggestion = task.suggestion;
  if (state.choice === null) {
    if (!suggestion) {
      say("Blind task: pick a label with its number key first.", true);
      return;
    }
    send({ action: "confirm" });
  } else if (suggestion && state.choice === suggestion.label) {
    send({ action: "confirm" });
  } else {
    send({ action: "correct", label: state.choice });
  }
}

// A span task's answer: the entities as they stand (confirm when they are the suggestion).
function submitSpans() {
  const task = state.task;
  const editor = state.editor;
  if (!task.suggestion && !editor.touched) {
    editor.touched = true;
    say("Blind task: mark the item's entities first; Enter again submits none.", true);
    return;
  }
  if (task.suggestion && editor.key() === task.suggestion.label) {
    send({ action: "confirm" });
  } else {
    send({ action: "correct", spans: editor.value() });
  }
}

function startEscalation() {
  if (!state.task) return;
  if (state.me.role !== "annotator") {
    say("Experts resolve tasks: pick a label and press Enter.", true);
    return;
  }
  show("escalate-form", true);
  $("comment").value = "";
  $("comment").focus();
}

// ---- keyboard --------------------------------------------------------------------------

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const typing = target.matches("input, select, textarea");
  // While the guidelines are open, keys belong to them: Esc (or g) closes them, and a
  // number pressed while reading does not pick a label behind them.
  if (!$("guidelines").hidden) {
    if (event.key === "Escape" || (event.key === "g" && !typing)) {
      event.preventDefault();
      closeGuidelines();
    }
    return;
  }
  if (event.key === "g" && !typing && !$("workspace").hidden) {
    event.preventDefault();
    openGuidelines();
    return;
  }
  if (event.key === "Escape" && !$("escalate-form").hidden) {
    show("escalate-form", false);
    $("task").focus();
    return;
  }
  if (typing) return;
  if (!state.task) {
    if (event.key === "r" && !$("empty").hidden) {
      event.preventDefault();
      claim();
    }
    return;
  }
  if (state.editor && state.editor.handleKey(event)) {
    event.preventDefault();
    return;
  }
  const digit = DIGIT_KEYS.indexOf(event.key);
  // Multi-label tasks: Shift with a number key toggles labels 11 to 20.
  const shifted = event.shiftKey && /^Digit[0-9]$/.test(event.code || "");
  if (shifted && state.task && state.task.multilabel) {
    event.preventDefault();
    choose(DIGIT_KEYS.length + DIGIT_KEYS.indexOf(event.code.slice(5)));
  } else if (digit >= 0) {
    event.preventDefault();
    choose(digit);
  } else if (event.key === "Enter") {
    // Enter on a button other than a label or Submit presses that button; elsewhere it submits.
    if (target.matches("button") && !target.matches("#labels button, #submit")) return;
    event.preventDefault();
    submitChoice();
  } else if (event.key === "e") {
    event.preventDefault();
    startEscalation();
  } else if (event.key === "s") {
    event.preventDefault();
    send({ action: "skip" });
  }
}

// ---- wiring ----------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    login($("token").value.trim());
  });
  $("logout").addEventListener("click", () => {
    logout();
    say("Logged out.");
  });
  $("queue-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.dataset = $("dataset").value;
    state.queue = $("queue").value;
    sessionStorage.setItem(PICK_KEY, JSON.stringify({ dataset: state.dataset, queue: state.queue }));
    // The definitions show beside the choices: load them before the first task.
    loadGuidelines(state.dataset)
      .catch(() => {})
      .finally(() => claim());
  });
  $("dataset").addEventListener("change", () => refreshStats().catch(() => {}));
  // Enter on a picker starts labeling, so that no mouse and no extra Tab is needed.
  for (const id of ["dataset", "queue"]) {
    $(id).addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        $("queue-form").requestSubmit();
      }
    });
  }
  $("submit").addEventListener("click", submitChoice);
  $("escalate").addEventListener("click", startEscalation);
  $("skip").addEventListener("click", () => send({ action: "skip" }));
  $("refresh").addEventListener("click", () => claim());
  $("open-guidelines").addEventListener("click", () => openGuidelines());
  $("close-guidelines").addEventListener("click", closeGuidelines);
  $("escalate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const comment = $("comment").value.trim();
    show("escalate-form", false);
    send(comment ? { action: "escalate", comment } : { action: "escalate" });
  });
  document.addEventListener("keydown", onKey);

  if (state.token) {
    login(state.token);
  } else {
    $("token").focus();
  }
});

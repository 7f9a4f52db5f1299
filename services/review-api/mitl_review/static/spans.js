// mitl review UI: the span (NER) editor. The item's text, split into tokens at whitespace,
// with the spans highlighted and their labels shown. Keyboard: Left/Right move the cursor
// between tokens, Shift+Left/Right extend a selection, a number key gives the selection (or
// the span under the cursor, or the token under it) that label, Backspace deletes the span
// under the cursor, Esc drops the selection. Mouse: select text, then press a number key; the
// selection snaps to whole tokens. app.js owns Enter (submit) and the other task keys.
// Every value from the server is shown with textContent, never parsed as HTML.
"use strict";

// Tokens of `text`: runs of non-whitespace, as {start, end} character offsets (the same
// split as the CoNLL export's).
function spanTokens(text) {
  const tokens = [];
  const pattern = /\S+/g;
  let match;
  while ((match = pattern.exec(text)) !== null) {
    tokens.push({ start: match.index, end: match.index + match[0].length });
  }
  return tokens;
}

// The key of a span set, as the server writes it (mitl_contracts.spans.spans_key).
function spanSetKey(spans) {
  const keys = spans
    .slice()
    .sort((a, b) => a.start - b.start || a.end - b.end || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
    .map((s) => `${s.start}:${s.end}:${s.label}`);
  return [...new Set(keys)].join("|");
}

class SpanEditor {
  // `container`: where the text goes; `list`: where the spans are listed (for screen
  // readers too); `say(message, isError)`: the status line.
  constructor(container, list, task, say) {
    this.container = container;
    this.list = list;
    this.say = say;
    this.text = task.content.text || "";
    this.labels = task.labels;
    this.allowOverlap = Boolean(task.allow_overlap);
    this.tokens = spanTokens(this.text);
    const suggested = task.suggestion && task.suggestion.spans ? task.suggestion.spans : [];
    this.confidence = new Map(suggested.map((s) => [`${s.start}:${s.end}:${s.label}`, s.confidence]));
    this.spans = suggested.map((s) => ({ start: s.start, end: s.end, label: s.label }));
    this.cursor = 0;
    this.anchor = null; // a token index while a selection is being made
    this.touched = false;
    container.setAttribute("role", "application");
    container.setAttribute("aria-roledescription", "entity span editor");
    container.setAttribute(
      "aria-label",
      "Item text. Left and Right move between words, Shift extends a selection, a number key " +
        "gives it a label, Backspace deletes the entity under the cursor, Enter confirms all.",
    );
    this.onMouseUp = () => this.fromMouse();
    container.addEventListener("mouseup", this.onMouseUp);
    this.render();
  }

  detach() {
    this.container.removeEventListener("mouseup", this.onMouseUp);
    for (const name of ["role", "aria-roledescription", "aria-label", "aria-activedescendant"]) {
      this.container.removeAttribute(name);
    }
    this.list.replaceChildren();
    this.list.hidden = true;
  }

  key() {
    return spanSetKey(this.spans);
  }

  // The spans as the submission takes them, in order.
  value() {
    return this.spans
      .slice()
      .sort((a, b) => a.start - b.start || a.end - b.end)
      .map((s) => ({ start: s.start, end: s.end, label: s.label }));
  }

  selection() {
    if (this.anchor === null) return null;
    return [Math.min(this.anchor, this.cursor), Math.max(this.anchor, this.cursor)];
  }

  // ---- keys ---------------------------------------------------------------------------

  // Handles `event` if it is an editor key; returns whether it did.
  handleKey(event) {
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      if (this.tokens.length === 0) return true;
      const step = event.key === "ArrowLeft" ? -1 : 1;
      if (event.shiftKey) {
        if (this.anchor === null) this.anchor = this.cursor;
      } else {
        this.anchor = null;
      }
      this.cursor = Math.max(0, Math.min(this.tokens.length - 1, this.cursor + step));
      this.render();
      this.announceCursor();
      return true;
    }
    if (event.key === "Backspace" || event.key === "Delete") {
      this.deleteAtCursor();
      return true;
    }
    if (event.key === "Escape" && this.anchor !== null) {
      this.anchor = null;
      this.render();
      this.say("Selection dropped.");
      return true;
    }
    return false;
  }

  // Number key `index`: that label for the selection, else the span under the cursor, else
  // the token under the cursor.
  label(index) {
    if (index >= this.labels.length || this.tokens.length === 0) return;
    const label = this.labels[index];
    const selected = this.selection();
    let start;
    let end;
    if (selected) {
      start = this.tokens[selected[0]].start;
      end = this.tokens[selected[1]].end;
    } else {
      const under = this.spanAtCursor();
      if (under) {
        under.label = label;
        this.touched = true;
        this.render();
        this.say(`Relabelled “${this.text.slice(under.start, under.end)}” as ${label}.`);
        return;
      }
      start = this.tokens[this.cursor].start;
      end = this.tokens[this.cursor].end;
    }
    const same = this.spans.find((s) => s.start === start && s.end === end);
    if (same) {
      same.label = label;
    } else {
      // Without overlap, a new span replaces the spans it would overlap.
      if (!this.allowOverlap) this.spans = this.spans.filter((s) => s.end <= start || s.start >= end);
      this.spans.push({ start, end, label });
    }
    this.anchor = null;
    this.touched = true;
    this.render();
    this.say(`Marked “${this.text.slice(start, end)}” as ${label}.`);
  }

  spanAtCursor() {
    const token = this.tokens[this.cursor];
    if (!token) return null;
    const covering = this.spans.filter((s) => s.start < token.end && s.end > token.start);
    // The innermost span, where spans nest.
    covering.sort((a, b) => a.end - a.start - (b.end - b.start));
    return covering[0] || null;
  }

  deleteAtCursor() {
    const under = this.spanAtCursor();
    if (!under) {
      this.say("No entity under the cursor to delete.", true);
      return;
    }
    this.spans = this.spans.filter((s) => s !== under);
    this.touched = true;
    this.render();
    this.say(`Deleted ${under.label} “${this.text.slice(under.start, under.end)}”.`);
  }

  announceCursor() {
    const token = this.tokens[this.cursor];
    const under = this.spanAtCursor();
    const selected = this.selection();
    let message = `“${this.text.slice(token.start, token.end)}”, word ${this.cursor + 1} of ${this.tokens.length}`;
    if (under) message += `, in ${under.label} “${this.text.slice(under.start, under.end)}”`;
    if (selected) {
      message += `; selected “${this.text.slice(this.tokens[selected[0]].start, this.tokens[selected[1]].end)}”`;
    }
    this.say(message + ".");
  }

  // ---- mouse --------------------------------------------------------------------------

  // A text selection made with the mouse becomes the token selection it touches.
  fromMouse() {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0) return;
    const range = selection.getRangeAt(0);
    const from = this.offsetOf(range.startContainer, range.startOffset);
    const to = this.offsetOf(range.endContainer, range.endOffset);
    if (from === null || to === null) return;
    const first = this.tokens.findIndex((t) => t.end > from);
    let last = -1;
    this.tokens.forEach((t, i) => {
      if (t.start < to) last = i;
    });
    selection.removeAllRanges();
    if (first < 0 || last < first) return;
    this.anchor = first;
    this.cursor = last;
    this.render();
    this.container.focus();
    this.announceCursor();
  }

  // The character offset in the text of a DOM position inside the container: in a text
  // segment, its start plus the offset; on a label tag, the end of its entity; between the
  // container's children, the start of the next one.
  offsetOf(node, offset) {
    if (node === this.container) {
      const next = this.container.childNodes[offset];
      return next ? this.offsetOf(next, 0) : this.text.length;
    }
    const element = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    if (!element || !this.container.contains(element)) return null;
    const tag = element.closest(".span-tag");
    if (tag) return Number(tag.dataset.at);
    const segment = element.closest("[data-start]");
    if (!segment) return null;
    const start = Number(segment.dataset.start);
    return node.nodeType === Node.TEXT_NODE ? start + offset : start;
  }

  // ---- drawing ------------------------------------------------------------------------

  // The text as segments between every token and span boundary; each knows its token and
  // the spans over it, and a label tag follows each span's last segment.
  render() {
    const cuts = new Set([0, this.text.length]);
    for (const t of this.tokens) cuts.add(t.start).add(t.end);
    for (const s of this.spans) cuts.add(s.start).add(s.end);
    const points = [...cuts].filter((c) => c <= this.text.length).sort((a, b) => a - b);
    const selected = this.selection();
    const nodes = [];
    for (let i = 0; i + 1 < points.length; i += 1) {
      const start = points[i];
      const end = points[i + 1];
      const segment = document.createElement("span");
      segment.dataset.start = String(start);
      segment.textContent = this.text.slice(start, end);
      const token = this.tokens.findIndex((t) => t.start <= start && end <= t.end);
      if (token >= 0) {
        segment.className = "tok";
        segment.dataset.token = String(token);
        if (token === this.cursor) {
          segment.classList.add("cursor");
          segment.id = `tok-cursor-${start}`;
        }
        if (selected && token >= selected[0] && token <= selected[1]) segment.classList.add("selected");
      }
      const over = this.spans.filter((s) => s.start <= start && end <= s.end);
      if (over.length) {
        segment.classList.add("entity");
        segment.dataset.labels = over.map((s) => s.label).join(" ");
        segment.classList.add(`entity-${this.labelIndex(over[over.length - 1].label) % 6}`);
      }
      nodes.push(segment);
      for (const s of this.spans.filter((sp) => sp.end === end)) {
        const tag = document.createElement("span");
        tag.className = `span-tag entity-${this.labelIndex(s.label) % 6}`;
        tag.dataset.at = String(s.end);
        tag.setAttribute("aria-hidden", "true");
        tag.textContent = s.label;
        nodes.push(tag);
      }
    }
    this.container.replaceChildren(...nodes);
    const cursor = this.container.querySelector(".tok.cursor");
    if (cursor) this.container.setAttribute("aria-activedescendant", cursor.id);
    this.renderList();
  }

  labelIndex(label) {
    return Math.max(0, this.labels.indexOf(label));
  }

  renderList() {
    this.list.hidden = false;
    const items = this.value().map((s) => {
      const li = document.createElement("li");
      li.dataset.span = `${s.start}:${s.end}:${s.label}`;
      const tag = document.createElement("span");
      tag.className = `span-tag entity-${this.labelIndex(s.label) % 6}`;
      tag.textContent = s.label;
      const confidence = this.confidence.get(`${s.start}:${s.end}:${s.label}`);
      li.append(
        tag,
        ` “${this.text.slice(s.start, s.end)}” (${s.start}–${s.end})`,
        confidence === undefined ? "" : ` ${(confidence * 100).toFixed(0)}%`,
      );
      return li;
    });
    if (items.length === 0) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = "No entities.";
      items.push(li);
    }
    this.list.replaceChildren(...items);
  }
}

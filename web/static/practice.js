// The practice page: each line goes to the streaming endpoint; its SPIN badge shows the moment the
// server labels it, and the client's reply appears word by word. Also: the call timer, live nudges
// and the hint button. Without this script the forms still work (a full page post per line).
(function () {
  "use strict";
  const root = document.getElementById("call");
  const form = document.getElementById("say");
  const box = document.getElementById("text");
  const list = document.getElementById("transcript");
  if (!root || !form || !box || !list) return;
  const sendButton = document.getElementById("send");
  const callId = root.dataset.callId;
  const csrf = root.dataset.csrf;
  const hideLabels = root.dataset.hideLabels === "true";
  let busy = false;
  let retry = null; // {text, key}: a failed line keeps its Idempotency-Key so a resend is stored once

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }

  function labelName(label) {
    return root.dataset["label" + label.split("_").map(function (p) {
      return p.charAt(0).toUpperCase() + p.slice(1);
    }).join("")] || label;
  }

  function item(role, text, index) {
    const li = document.createElement("li");
    li.className = "turn turn-" + role;
    if (index !== undefined && index !== null) { li.id = "turn-" + index; li.dataset.index = index; }
    const who = document.createElement("span");
    who.className = "speaker";
    who.textContent = role === "trainee" ? root.dataset.tYou : root.dataset.tClient;
    li.appendChild(who);
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    li.appendChild(body);
    list.appendChild(li);
    li.scrollIntoView({ block: "nearest" });
    return li;
  }

  function badge(li, turn) {
    const label = turn.label || "other";
    const name = labelName(label);
    const reason = turn.reason ? " — " + turn.reason : "";
    const b = document.createElement("button");
    b.type = "button";
    b.className = "badge badge-" + label + " fresh";
    b.textContent = turn.letter || "·";
    b.title = name + reason;
    b.setAttribute("aria-label", name + (turn.reason ? ": " + turn.reason : ""));
    b.setAttribute("aria-expanded", "false");
    const why = document.createElement("span");
    why.className = "why";
    why.setAttribute("role", "tooltip");
    why.textContent = name + reason;
    const text = li.querySelector(".text");
    li.insertBefore(b, text);
    li.insertBefore(why, text);
    const tag = document.createElement("span");
    tag.className = "label-name";
    tag.textContent = name;
    li.appendChild(tag);
  }

  function fail(li, message) {
    li.classList.add("failed");
    const e = document.createElement("span");
    e.className = "error";
    e.setAttribute("role", "alert");
    e.textContent = " " + message;
    li.appendChild(e);
  }

  function setBusy(on) {
    busy = on;
    if (sendButton) sendButton.disabled = on;
    box.readOnly = on;
    if (on) form.setAttribute("aria-busy", "true"); else form.removeAttribute("aria-busy");
  }

  // Server-sent events over fetch: EventSource cannot POST.
  async function readEvents(res, onEvent) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message";
        const data = [];
        block.split("\n").forEach(function (line) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        });
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  }

  async function send() {
    const text = box.value.trim();
    if (!text || busy) return;
    const key = retry && retry.text === text ? retry.key : newKey();
    retry = { text: text, key: key };
    setBusy(true);
    const mine = item("trainee", text);
    mine.classList.add("pending");
    box.value = "";
    const oldHint = document.getElementById("hint");
    if (oldHint) oldHint.hidden = true;
    let reply = null;
    let ended = false;
    try {
      const res = await fetch("/api/calls/" + callId + "/turns/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Idempotency-Key": key,
                   "Accept": "text/event-stream" },
        body: JSON.stringify({ text: text }),
        credentials: "same-origin",
      });
      if (!res.ok) {
        const data = await res.json().catch(function () { return {}; });
        throw new Error(typeof data.detail === "string" ? data.detail : root.dataset.tError);
      }
      let streamError = null;
      await readEvents(res, function (name, data) {
        if (name === "trainee") {
          mine.classList.remove("pending");
          mine.id = "turn-" + data.index;
          mine.dataset.index = data.index;
          if (!hideLabels) badge(mine, data);
        } else if (name === "token") {
          if (!reply) { reply = item("client", ""); reply.classList.add("streaming"); }
          reply.querySelector(".text").textContent += data.text;
        } else if (name === "done") {
          if (data.client) {
            if (!reply) reply = item("client", "");
            reply.querySelector(".text").textContent = data.client.text;
            reply.id = "turn-" + data.client.index;
            reply.dataset.index = data.client.index;
          }
          if (reply) reply.classList.remove("streaming");
          ended = data.ended;
        } else if (name === "error") {
          streamError = data.detail || root.dataset.tError;
        }
      });
      retry = null;
      if (streamError) throw new Error(streamError);
      if (ended) { // same page, now with the scorecard: a hash change alone would not reload it
        history.replaceState(null, "", "/calls/" + callId + "#scorecard");
        window.location.reload();
        return;
      }
      refreshCoach();
    } catch (err) {
      ended = false;
      fail(mine, err.message);
      box.value = text;
    } finally {
      if (!ended) { setBusy(false); box.focus(); } // an ended call stays locked while its scorecard loads
    }
  }

  form.addEventListener("submit", function (ev) { ev.preventDefault(); send(); });
  box.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
  });

  // --- the call timer and the 2-5 minute band ---
  const clock = document.getElementById("clock");
  const bandState = document.getElementById("band-state");
  const meter = document.getElementById("band-meter");
  const timer = document.getElementById("timer");
  const started = Date.now() - Number(root.dataset.elapsed || 0) * 1000;
  const low = Number(root.dataset.bandMin || 120);
  const high = Number(root.dataset.bandMax || 300);
  function tick() {
    const s = Math.floor((Date.now() - started) / 1000);
    if (clock) clock.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    const where = s < low ? "below" : (s <= high ? "inside" : "above");
    if (timer) timer.dataset.band = where;
    if (bandState) bandState.textContent = root.dataset["tBand" + where.charAt(0).toUpperCase() + where.slice(1)];
    if (meter) meter.value = Math.min(s, Number(meter.max));
  }
  tick();
  window.setInterval(tick, 1000);

  // --- live nudges and the hint button (practice only; the server refuses them during an exam) ---
  const coach = document.getElementById("coach");
  const nudgeList = document.getElementById("nudges");
  const hintButton = document.getElementById("hint-button");
  const hintBox = document.getElementById("hint");

  async function getCoach() {
    const res = await fetch("/api/calls/" + callId + "/coach", { credentials: "same-origin",
                                                                 headers: { "Accept": "application/json" } });
    if (!res.ok) return null;
    return res.json();
  }

  async function refreshCoach() {
    if (!coach || hideLabels) return;
    const data = await getCoach().catch(function () { return null; });
    if (!data) return;
    coach.hidden = false;
    nudgeList.replaceChildren();
    data.nudges.forEach(function (n) {
      const li = document.createElement("li");
      li.className = "nudge nudge-" + n.id;
      li.textContent = n.text;
      nudgeList.appendChild(li);
    });
  }

  if (hintButton && hintBox) {
    hintButton.addEventListener("click", async function () {
      hintButton.disabled = true;
      const data = await getCoach().catch(function () { return null; });
      hintButton.disabled = false;
      hintBox.replaceChildren();
      hintBox.hidden = false;
      const hint = data && data.hint;
      if (!hint) { hintBox.textContent = root.dataset.tNoHint; return; }
      const head = document.createElement("p");
      const letter = document.createElement("span");
      letter.className = "badge badge-" + hint.kind;
      letter.textContent = hint.letter;
      head.appendChild(letter);
      const q = document.createElement("q");
      q.className = "hint-text";
      q.textContent = hint.text;
      head.appendChild(q);
      const why = document.createElement("p");
      why.className = "meta";
      why.textContent = labelName(hint.kind) + ": " + hint.why;
      const use = document.createElement("button");
      use.type = "button";
      use.className = "secondary";
      use.textContent = root.dataset.tUseHint;
      use.addEventListener("click", function () { box.value = hint.text; box.focus(); hintBox.hidden = true; });
      hintBox.append(head, why, use);
    });
  }
  refreshCoach();
})();

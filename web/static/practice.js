// The practice page: post a line over the JSON API, show its SPIN badge at once and the client's reply.
// Without this script the forms still work (a full page post per line).
(function () {
  "use strict";
  const root = document.getElementById("call");
  const form = document.getElementById("say");
  const box = document.getElementById("text");
  const list = document.getElementById("transcript");
  if (!root || !form || !box || !list) return;
  const callId = root.dataset.callId;
  const csrf = root.dataset.csrf;
  let busy = false;

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
    const b = document.createElement("span");
    const label = turn.label || "other";
    b.className = "badge badge-" + label;
    b.tabIndex = 0;
    b.setAttribute("role", "note");
    b.textContent = turn.letter || "·";
    const reason = turn.reason ? " — " + turn.reason : "";
    b.title = label + reason;
    b.setAttribute("aria-label", label + reason);
    li.insertBefore(b, li.querySelector(".text"));
  }

  async function post(url, body) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(typeof data.detail === "string" ? data.detail : root.dataset.tError);
    return data;
  }

  async function send() {
    const text = box.value.trim();
    if (!text || busy) return;
    busy = true;
    form.setAttribute("aria-busy", "true");
    const mine = item("trainee", text);
    box.value = "";
    try {
      const data = await post("/api/calls/" + callId + "/turns", { text: text });
      mine.id = "turn-" + data.trainee.index;
      badge(mine, data.trainee);
      if (data.client) item("client", data.client.text, data.client.index);
      if (data.ended) window.location.assign("/calls/" + callId + "#scorecard");
    } catch (err) {
      mine.classList.add("failed");
      const e = document.createElement("span");
      e.className = "error";
      e.setAttribute("role", "alert");
      e.textContent = " " + err.message;
      mine.appendChild(e);
      box.value = text;
    } finally {
      busy = false;
      form.removeAttribute("aria-busy");
      box.focus();
    }
  }

  form.addEventListener("submit", function (ev) { ev.preventDefault(); send(); });
  box.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
  });
})();

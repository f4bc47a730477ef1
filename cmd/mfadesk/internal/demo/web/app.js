// The mfadesk demo page: draws what the server says one person sees, and
// sends what they type and click. The server renders Block Kit; this file
// only places it and collects form values.
"use strict";

const q = new URLSearchParams(location.search);
let me = q.get("as") || "U0HELEN";
let conv = q.get("c") || "C0HELPDESK";
let state = null;
let modalKey = "";
let drawn = null; // the conversation HTML last drawn
const seen = JSON.parse(sessionStorage.getItem("seen") || "{}");
const $ = (id) => document.getElementById(id);

async function post(path, body) {
  const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  if (!r.ok) throw new Error(await r.text());
  return r.json();
}

function dmID() { return "D" + me; }

let asked = 0; // refreshes asked for: only the latest one is drawn

async function refresh() {
  const n = ++asked, who = me;
  const r = await fetch("/demo/state?as=" + encodeURIComponent(who));
  if (!r.ok) return;
  const s = await r.json();
  if (n !== asked || who !== me) return; // a later refresh, or another person, wins
  state = s;
  draw();
  document.body.dataset.me = me;
  document.body.dataset.conv = conv;
}

function draw() {
  const sel = $("as");
  if (!sel.options.length) {
    for (const p of state.people) {
      const o = document.createElement("option");
      o.value = p.id; o.textContent = p.name;
      sel.appendChild(o);
    }
  }
  sel.value = me;
  const person = state.people.find((p) => p.id === me);
  $("who-title").textContent = person ? person.title : "";
  if (conv === "DM") conv = dmID();
  const lists = {channel: $("channels"), dm: $("dms")};
  lists.channel.innerHTML = ""; lists.dm.innerHTML = "";
  let current = null;
  for (const c of state.conversations) {
    const key = me + "/" + c.id;
    if (c.id === conv) { current = c; seen[key] = c.count; }
    const li = document.createElement("li");
    li.dataset.conv = c.id;
    li.className = (c.id === conv ? "on" : "") + ((seen[key] || 0) < c.count ? " unread" : "");
    li.textContent = (c.kind === "channel" ? "# " : "● ") + c.name;
    const n = c.count - (seen[key] || 0);
    if (n > 0 && c.id !== conv) {
      const b = document.createElement("span"); b.className = "badge"; b.textContent = n; li.appendChild(b);
    }
    lists[c.kind].appendChild(li);
  }
  sessionStorage.setItem("seen", JSON.stringify(seen));
  if (!current) { current = state.conversations[0]; conv = current.id; }
  $("conv-name").textContent = (current.kind === "channel" ? "# " : "") + current.name;
  $("conv-topic").textContent = current.topic;
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  if (box.dataset.key !== me + conv || drawn !== current.html) {
    const fresh = box.dataset.key !== me + conv;
    box.innerHTML = current.html || '<div class="empty">Nothing here yet.</div>';
    drawn = current.html;
    box.dataset.key = me + conv;
    if (fresh || atBottom) box.scrollTop = box.scrollHeight;
  }
  $("compose").placeholder = "Message " + (current.kind === "channel" ? "#" + current.name : "mfadesk") + " as " + (person ? person.name : "") + ": type /mfa …";
  drawModal();
  drawDirectory();
  drawPhone(person);
  history.replaceState(null, "", "?as=" + me + "&c=" + conv);
}

function drawModal() {
  const wrap = $("modal-wrap"), m = state.modal;
  const key = m ? me + m.id + m.hash : "";
  if (key === modalKey) return;
  modalKey = key;
  if (!m) { wrap.hidden = true; $("modal").innerHTML = ""; return; }
  $("modal").innerHTML = m.html;
  $("modal").dataset.view = m.id;
  wrap.hidden = false;
  const first = $("modal").querySelector("input[type=text], textarea");
  if (first && !first.value) first.focus();
}

function drawDirectory() {
  const rows = state.directory.map((u) =>
    `<tr class="${u.blocked ? "blocked" : ""}"><td><b>${esc(u.name)}</b><div class="small">${esc(u.email)}</div></td>` +
    `<td>${u.admin ? '<span class="pill admin">admin role</span>' : ""}${u.blocked ? '<span class="pill blocked">blocked</span>' : ""}</td>` +
    `<td>${esc(u.manager || "—")}</td><td>${u.factors.length ? u.factors.map(esc).join(", ") : '<i>none</i>'}</td></tr>` +
    (u.log && u.log.length ? `<tr class="log"><td colspan="4">${u.log.map(esc).join("<br>")}</td></tr>` : "")).join("");
  $("directory").innerHTML = `<table><tr><th>user</th><th></th><th>manager</th><th>MFA methods</th></tr>${rows}</table>`;
}

// drawPhone shows pushes waiting on this person's phone, Okta Verify style:
// tap the number the requester reads out, or "No, it's not me".
function drawPhone(person) {
  const box = $("phone"), pushes = state.phone || [];
  const key = me + pushes.map((p) => p.id).join();
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.hidden = !pushes.length;
  box.innerHTML = pushes.map((p) =>
    `<div class="phone-frame" data-push-id="${esc(p.id)}"><div class="phone-top">${esc(person ? person.name : "")}'s phone · ${esc(p.sent)}</div>` +
    `<div class="phone-app">Okta Verify</div><div class="phone-q">Are you trying to sign in?</div>` +
    `<div class="phone-hint">Tap the number you were told</div><div class="phone-choices">` +
    p.choices.map((n) => `<button class="phone-number" data-push="${esc(p.id)}" data-number="${n}">${n}</button>`).join("") +
    `</div><button class="phone-no" data-push="${esc(p.id)}" data-number="0">No, it's not me</button></div>`).join("");
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}

function showError(msg) {
  $("compose-error").textContent = msg || "";
}

function values() {
  const out = {};
  for (const el of $("modal").querySelectorAll("[data-input]")) {
    const b = el.dataset.blockId, a = el.dataset.actionId, t = el.dataset.type;
    out[b] = out[b] || {};
    if (t === "plain_text_input") out[b][a] = {type: t, value: el.value};
    else if (t === "static_select") {
      const o = el.selectedOptions[0];
      out[b][a] = el.value ? {type: t, selected_option: {value: el.value, text: {type: "plain_text", text: o.textContent}}} : {type: t};
    } else if (t === "multi_users_select") {
      out[b][a] = {type: t, selected_users: [...el.querySelectorAll("input:checked")].map((i) => i.value)};
    } else if (t === "users_select") {
      const c = el.querySelector("input:checked");
      out[b][a] = c ? {type: t, selected_user: c.value} : {type: t};
    }
  }
  return out;
}

// ask shows Slack's confirmation dialog of a button, and resolves to
// whether the person confirmed.
function ask(b) {
  return new Promise((resolve) => {
    $("confirm-title").textContent = b.dataset.confirmTitle;
    $("confirm-text").innerHTML = b.dataset.confirmText; // drawn (and escaped) by the server
    $("confirm-ok").textContent = b.dataset.confirmOk;
    $("confirm-no").textContent = b.dataset.confirmNo;
    $("confirm-ok").className = "btn " + (b.dataset.confirmStyle === "danger" ? "danger-fill" : "primary");
    $("confirm-wrap").hidden = false;
    const done = (yes) => { $("confirm-wrap").hidden = true; $("confirm-ok").onclick = $("confirm-no").onclick = null; resolve(yes); };
    $("confirm-ok").onclick = () => done(true);
    $("confirm-no").onclick = () => done(false);
  });
}

document.addEventListener("click", async (ev) => {
  const t = ev.target.closest("button, li[data-conv]");
  if (!t || t.closest("#confirm")) return;
  try {
    if (t.matches("li[data-conv]")) { conv = t.dataset.conv; draw(); document.body.dataset.conv = conv; return; }
    if (t.matches("[data-tab]")) {
      for (const b of document.querySelectorAll("[data-tab]")) b.classList.toggle("on", b === t);
      for (const p of document.querySelectorAll(".tab")) p.classList.toggle("on", p.id === "tab-" + t.dataset.tab);
      return;
    }
    if (t.matches(".tour-go")) {
      me = t.dataset.as;
      conv = t.dataset.conv === "DM" ? dmID() : t.dataset.conv;
      $("compose").value = t.dataset.type || "";
      await refresh();
      $("compose").focus();
      return;
    }
    if (t.matches("[data-modal-close]")) {
      await post("/demo/close", {As: me, ViewID: $("modal").dataset.view});
      return;
    }
    if (t.matches("[data-modal-submit]")) {
      t.disabled = true;
      const r = await post("/demo/submit", {As: me, ViewID: $("modal").dataset.view, Values: values()});
      t.disabled = false;
      if (r.error) alert(r.error);
      return;
    }
    if (t.matches("[data-push]")) {
      const r = await post("/demo/push", {As: me, ID: t.dataset.push, Number: Number(t.dataset.number)});
      if (r.error) showError(r.error);
      return;
    }
    if (t.matches(".msg [data-action-id]")) {
      if (t.dataset.url) window.open(t.dataset.url, "_blank");
      if (t.dataset.confirmTitle && !(await ask(t))) return;
      const msg = t.closest(".msg");
      t.classList.add("pressed");
      await post("/demo/click", {As: me, Channel: msg.dataset.channel, TS: msg.dataset.ts, ActionID: t.dataset.actionId, Value: t.dataset.value});
    }
  } catch (e) { showError(String(e)); }
});

$("as").addEventListener("change", () => { me = $("as").value; modalKey = ""; refresh(); });

$("composer").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = $("compose").value.trim();
  if (!text) return;
  showError("");
  try {
    const r = await post("/demo/command", {As: me, Channel: conv, Text: text});
    if (r.error) { showError(r.error); return; }
    $("compose").value = "";
  } catch (e) { showError(String(e)); }
});

function listen() {
  const es = new EventSource("/demo/events");
  es.onmessage = () => refresh();
  es.onerror = () => setTimeout(refresh, 1000);
}
refresh().then(listen);

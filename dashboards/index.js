// The sweep list: newest first, paged and filtered on the server, sorted by any column on the page;
// cancel and delete (behind the token), compare the checked sweeps.
"use strict";

const state = { offset: 0, sort: "created_at", desc: true };
const chosen = new Set();

function sortValue(s, key) {
  if (key === "model") return `${s.family} ${s.task}`;
  if (key === "parameterizations") return s.parameterizations.join(",");
  if (key === "best_loss") return s.best_loss === null ? Infinity : s.best_loss;
  return s[key];
}

function actions(s) {
  const buttons = [];
  if (LIVE.has(s.status)) buttons.push(el("button", { type: "button", "data-action": "cancel", text: "cancel" }));
  else buttons.push(el("button", { type: "button", "data-action": "delete", text: "delete" }));
  return buttons;
}

async function act(action, id) {
  const token = document.getElementById("token").value || sessionStorage.getItem("paramz-token") || "";
  if (action === "delete" && !window.confirm(`delete sweep ${id} with its trials and metrics?`)) return;
  const response = await fetch(action === "cancel" ? `${API}/sweeps/${id}/cancel` : `${API}/sweeps/${id}`,
    { method: action === "cancel" ? "POST" : "DELETE", headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw Object.assign(new Error(body.detail || response.statusText), { status: response.status });
  }
  document.getElementById("error").hidden = true;
}

async function refresh() {
  try {
    const perPage = Number(document.getElementById("per-page").value);
    const query = new URLSearchParams({ offset: state.offset, limit: perPage });
    const q = document.getElementById("q").value.trim();
    const status = document.getElementById("status").value;
    if (q) query.set("q", q);
    if (status) query.set("status", status);
    const page = await getJSON(`${API}/sweeps?${query}`);
    const rows = page.data.slice().sort((a, b) => {
      const x = sortValue(a, state.sort);
      const y = sortValue(b, state.sort);
      return (x < y ? -1 : x > y ? 1 : 0) * (state.desc ? -1 : 1);
    });
    document.querySelector("#sweeps tbody").replaceChildren(...rows.map((s) => el("tr", { "data-sweep": s.id },
      el("td", {}, Object.assign(el("input", { type: "checkbox", name: "compare", value: s.id }),
        { checked: chosen.has(s.id) })),
      el("td", {}, el("a", { href: `sweep.html?id=${encodeURIComponent(s.id)}`, text: s.id })),
      el("td", { text: s.name + (s.adaptive ? " (adaptive)" : "") }),
      el("td", { text: `${s.family} · ${s.task}` }),
      el("td", { text: s.parameterizations.join(", ") }),
      el("td", { class: `status-${s.status}`, text: s.status }),
      el("td", {}, el("progress", { max: "1", value: String(s.progress) })),
      el("td", {}, el("a", { href: `trials.html?id=${encodeURIComponent(s.id)}`,
        text: Object.entries(s.counts).map(([k, v]) => `${k} ${v}`).join(" · ") })),
      el("td", { class: "num", text: s.best_loss === null ? "—" : s.best_loss.toFixed(4) }),
      el("td", { text: s.created_at.replace("T", " ").slice(0, 19) }),
      el("td", {}, ...actions(s)))));
    const last = Math.min(state.offset + page.data.length, page.count);
    document.getElementById("page-info").textContent =
      page.count ? `${state.offset + 1}–${last} of ${page.count}` : "0 sweeps";
    document.getElementById("prev").disabled = state.offset === 0;
    document.getElementById("next").disabled = last >= page.count;
    document.getElementById("empty").hidden = page.data.length > 0;
    document.querySelectorAll("#sweeps th[data-key]").forEach((th) => {
      th.textContent = th.textContent.replace(/ [▲▼]$/, "") + (th.dataset.key === state.sort ? (state.desc ? " ▼" : " ▲") : "");
    });
    markReady();
    clearTimeout(state.timer);
    if (page.data.some((s) => LIVE.has(s.status))) state.timer = setTimeout(refresh, 3000);
  } catch (error) {
    showError("error", error);
  }
}

function setUp() {
  const status = document.getElementById("status");
  for (const s of STATES.sweep) status.append(el("option", { value: s, text: s }));
  const token = document.getElementById("token");
  token.value = sessionStorage.getItem("paramz-token") || "";
  token.addEventListener("change", () => sessionStorage.setItem("paramz-token", token.value));
  let typing;
  document.getElementById("q").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.offset = 0; refresh(); }, 250);
  });
  for (const id of ["status", "per-page"]) {
    document.getElementById(id).addEventListener("change", () => { state.offset = 0; refresh(); });
  }
  document.getElementById("filters").addEventListener("submit", (e) => e.preventDefault());
  document.getElementById("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - Number(document.getElementById("per-page").value));
    refresh();
  });
  document.getElementById("next").addEventListener("click", () => {
    state.offset += Number(document.getElementById("per-page").value);
    refresh();
  });
  document.querySelectorAll("#sweeps th[data-key]").forEach((th) => th.addEventListener("click", () => {
    state.desc = state.sort === th.dataset.key ? !state.desc : false;
    state.sort = th.dataset.key;
    refresh();
  }));
  document.querySelector("#sweeps tbody").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-action]");
    if (button) act(button.dataset.action, button.closest("tr").dataset.sweep).then(refresh, (err) => showError("error", err));
  });
  document.querySelector("#sweeps tbody").addEventListener("change", (e) => {
    if (e.target.name === "compare") e.target.checked ? chosen.add(e.target.value) : chosen.delete(e.target.value);
  });
  document.getElementById("compare").addEventListener("click", () => {
    const ids = [...chosen];
    if (ids.length >= 2) window.location.href = `compare.html?ids=${ids.map(encodeURIComponent).join(",")}`;
    else showError("error", new Error("check two or more sweeps to compare"));
  });
  refresh();
}

setUp();

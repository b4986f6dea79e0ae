// The launch page: a spec editor checked by POST /specs/validate as you type (errors inline, each naming its
// field), then POST /sweeps with the token and on to the sweep's page.
"use strict";

const editor = { examples: [], check: null, seq: 0 };

function renderCheck(check) {
  const box = document.getElementById("check");
  const button = document.getElementById("launch");
  button.disabled = !check || !check.valid;
  if (!check) { box.replaceChildren(); return; }
  if (check.valid) {
    box.className = "check valid";
    box.replaceChildren(el("span", { text: `valid: ${check.n_trials} trials · sweep id ${check.sweep_id}` }));
    return;
  }
  box.className = "check invalid";
  box.replaceChildren(el("ul", {}, ...check.errors.map((line) => {
    const [field, ...rest] = line.split(": ");
    return el("li", { class: "error", "data-field": field }, el("code", { text: field }), `: ${rest.join(": ")}`);
  })));
}

async function validate() {
  const text = document.getElementById("spec").value;
  const seq = ++editor.seq;
  if (!text.trim()) { editor.check = null; renderCheck(null); return; }
  const response = await fetch(`${API}/specs/validate`, { method: "POST", body: text,
    headers: { "Content-Type": "text/plain; charset=utf-8", Accept: "application/json" } });
  const body = await response.json();
  if (seq !== editor.seq) return;             // a later keystroke's answer wins
  if (!response.ok && response.status !== 422) {
    throw Object.assign(new Error(body.detail || response.statusText), { status: response.status });
  }
  // a 422 (not a mapping, an empty text) is shown inline like any other error of the spec
  editor.check = response.ok ? body : { valid: false, errors: body.errors && body.errors.length ? body.errors : [body.detail] };
  renderCheck(editor.check);
  markReady();
}

async function launch(event) {
  event.preventDefault();
  const check = editor.check;
  if (!check || !check.valid) return;
  const token = document.getElementById("token").value;
  sessionStorage.setItem("paramz-token", token);
  const response = await fetch(`${API}/sweeps`, { method: "POST", body: JSON.stringify(check.spec),
    headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: `Bearer ${token}` } });
  const body = await response.json();
  if (!response.ok) {
    const lines = body.errors && body.errors.length ? `\n${body.errors.join("\n")}` : "";
    throw Object.assign(new Error(`${body.detail || response.statusText}${lines}`), { status: response.status });
  }
  window.location.href = `sweep.html?id=${encodeURIComponent(body.id)}`;
}

async function setUp() {
  const token = document.getElementById("token");
  token.value = sessionStorage.getItem("paramz-token") || "";
  const select = document.getElementById("example");
  const spec = document.getElementById("spec");
  try {
    editor.examples = (await getJSON(`${API}/specs/examples`)).data;
  } catch (error) {
    showError("error", error);
  }
  for (const e of editor.examples) select.append(el("option", { value: e.name, text: e.name }));
  select.addEventListener("change", () => {
    const chosen = editor.examples.find((e) => e.name === select.value);
    document.getElementById("example-note").textContent = chosen ? chosen.description : "";
    if (chosen) { spec.value = chosen.text; validate().catch((err) => showError("error", err)); }
  });
  let typing;
  spec.addEventListener("input", () => {
    clearTimeout(typing);
    document.getElementById("launch").disabled = true;    // until the new text is checked
    typing = setTimeout(() => validate().catch((err) => showError("error", err)), 300);
  });
  document.getElementById("launch-form").addEventListener("submit", (e) => launch(e).catch((err) => showError("error", err)));
  const first = editor.examples.find((e) => e.name === (param("example") || "demo")) || editor.examples[0];
  if (first) { select.value = first.name; select.dispatchEvent(new Event("change")); } else markReady();
}

setUp();

// The VCF workspace page: completes the SMART launch, asks this service for the assessment of
// the patient in context, renders it, re-runs it when a missing finding is answered and writes
// the answers back to the EHR. All text is set with textContent (no HTML from data).
import { canCreate, completeAuthorization, currentSession, loadConfig } from "./smart.js";

const $ = (id) => document.getElementById(id);
const state = { config: null, session: null, answers: new Map(), view: null, seq: 0 };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setStatus(message, isError = false) {
  const status = $("app-status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

function resourceUrl(reference) {
  return `${state.session.iss}/${reference}`;
}

// ---- assessment --------------------------------------------------------------------------

async function runAssessment() {
  const seq = ++state.seq;
  const answers = [...state.answers].map(([question, value]) => ({ question, value }));
  const body = {
    fhirServer: state.session.iss,
    patient: state.session.patient,
    orders: state.session.appContext.orders,
    answers,
    consultId: state.session.appContext.consultId,
  };
  $("main").setAttribute("aria-busy", "true");
  let r;
  try {
    r = await fetch(state.config.assessmentPath, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        Authorization: `Bearer ${state.session.accessToken}`,
      },
      body: JSON.stringify(body),
    });
  } catch {
    setStatus("The VCF service could not be reached.", true);
    return null;
  } finally {
    $("main").removeAttribute("aria-busy");
  }
  if (seq !== state.seq) return null; // a newer answer is on its way
  if (!r.ok) {
    let message = `The assessment failed (HTTP ${r.status}).`;
    try {
      const outcome = await r.json();
      const issue = outcome.issue && outcome.issue[0];
      if (issue && issue.diagnostics) message = `The assessment failed: ${issue.diagnostics}.`;
    } catch {
      /* keep the generic message */
    }
    if (r.status === 401) message += " The EHR session may have ended: launch the app again.";
    setStatus(message, true);
    return null;
  }
  return r.json();
}

// the short form for the before -> after line: the category and variant, or "not rated"
function ratingText(order) {
  return order.category ? `${order.category} (ACR variant ${order.variant})` : "not rated";
}

function describeChange(before, after) {
  if (!before) return "";
  const lines = [];
  after.orders.forEach((order, i) => {
    const old = before.orders[i];
    if (old && ratingText(old) !== ratingText(order)) {
      lines.push(`${order.label}: ${ratingText(old)} → ${ratingText(order)}`);
    }
  });
  if (!lines.length && before.headline !== after.headline) lines.push(`Scenario now: ${after.headline}`);
  if (lines.length) return `Changed by your answer. ${lines.join(". ")}.`;
  return after.orders.length ? "Your answer did not change the rating." : "Your answer did not change the scenario.";
}

async function refresh(announce) {
  const before = state.view;
  const view = await runAssessment();
  if (!view) return;
  state.view = view;
  const focused = document.activeElement && document.activeElement.id;
  render(view);
  if (focused && $(focused)) $(focused).focus(); // the form is rebuilt: keep the keyboard place
  setStatus("");
  if (announce) {
    const change = $("rating-change");
    change.textContent = describeChange(before, view);
    change.dataset.before = before ? before.orders.map(ratingText).join(" | ") : "";
    change.dataset.after = view.orders.map(ratingText).join(" | ");
  }
}

// ---- rendering ---------------------------------------------------------------------------

function sourceLinks(sources) {
  return el(
    "ul",
    { class: "sources" },
    sources.map((s) =>
      el(
        "li",
        {},
        s.clinicianEntered
          ? el("span", { class: "entered", text: s.label })
          : el("a", { href: resourceUrl(s.reference), target: "_blank", rel: "noopener noreferrer", text: s.label }),
      ),
    ),
  );
}

function renderOrders(view) {
  const box = $("orders");
  box.replaceChildren();
  if (!view.orders.length) {
    box.append(el("p", { text: "No draft order was passed from the EHR: the assessment shows the scenario only." }));
    return;
  }
  for (const order of view.orders) {
    box.append(
      el(
        "div",
        { class: `order ${order.rated ? "rated" : "unrated"}`, "data-testid": "order" },
        el("h3", { text: `Order: ${order.label}` }),
        el("p", { class: "rating", "data-testid": "rating", "data-category": order.category || "", text: order.rating }),
      ),
    );
  }
}

function renderNotices(view) {
  $("notices").replaceChildren(...view.notices.map((n) => el("li", { text: n })));
}

function renderForm(view) {
  const form = $("missing-form");
  form.replaceChildren();
  if (!view.questions.length) {
    form.append(el("p", { text: "Nothing missing would change the scenario or the rating." }));
  }
  view.questions.forEach((q, i) => {
    const name = `q-${q.id}`;
    const hint = el("p", { class: "hint", id: `${name}-hint`, text: q.note ? `${q.affects}. ${q.note}` : q.affects });
    let control;
    if (q.kind === "number") {
      const input = el("input", {
        type: "number",
        id: name,
        name,
        min: q.min ?? null,
        max: q.max ?? null,
        step: "any",
        inputmode: "decimal",
        "aria-describedby": `${name}-hint`,
        value: q.answer ?? "",
      });
      input.addEventListener("change", () => {
        const text = input.value.trim();
        if (text === "") state.answers.delete(q.id);
        else if (!input.checkValidity()) {
          hint.textContent = `${q.affects}. Enter a number from ${q.min} to ${q.max}.`;
          return;
        } else state.answers.set(q.id, Number(text));
        refresh(true);
      });
      control = el("div", { class: "question" }, el("label", { for: name, text: `${q.label}${q.unit ? ` (${q.unit})` : ""}` }), input, hint);
    } else {
      const choices =
        q.kind === "yesno"
          ? [
              ["yes", "Yes", true],
              ["no", "No", false],
              ["unknown", "Unknown", null],
            ]
          : [...q.options.map((o) => [o.value, o.label, o.value]), ["unknown", "Unknown", null]];
      const current = q.answered ? q.answer : undefined;
      control = el(
        "fieldset",
        { class: "question", "aria-describedby": `${name}-hint` },
        el("legend", { text: q.label }),
        el(
          "div",
          { class: "choices" },
          choices.map(([key, label, value]) => {
            const id = `${name}-${key}`;
            const input = el("input", { type: "radio", id, name, value: key, checked: q.answered && current === value });
            input.addEventListener("change", () => {
              state.answers.set(q.id, value);
              refresh(true);
            });
            return el("span", { class: "choice" }, input, el("label", { for: id, text: label }));
          }),
        ),
        hint,
      );
    }
    control.dataset.testid = `question-${q.id}`;
    control.dataset.index = String(i);
    form.append(control);
  });
  const written = view.writeBack.observations.length;
  const hasAnswers = state.answers.size > 0;
  $("write-back").disabled = !hasAnswers;
  $("download-qr").disabled = !view.writeBack.questionnaireResponse;
  $("write-back").textContent = written
    ? `Write ${written} answer${written === 1 ? "" : "s"} to the record`
    : "Write answers to the record";
}

function statusBadge(status) {
  const words = { matched: "Matches", possible: "Possible", not_matched: "Ruled out" };
  return el("span", { class: `badge ${status}`, text: words[status] });
}

function renderVariants(view) {
  const box = $("variant-lists");
  box.replaceChildren();
  for (const group of view.variants) {
    box.append(el("h3", { text: group.heading }));
    if (group.missing.length) {
      box.append(el("p", { class: "hint", text: `Would be decided by: ${group.missing.join(", ").toLowerCase()}.` }));
    }
    box.append(
      el(
        "ul",
        { class: "variants" },
        group.variants.map((v) =>
          el(
            "li",
            { "data-testid": `variant-${v.id}`, "data-status": v.status },
            statusBadge(v.status),
            " ",
            el("strong", { text: `Variant ${v.id}${v.primary ? " (applies)" : ""}: ` }),
            v.title,
            el("br"),
            el("span", { class: "explanation", text: v.explanation }),
          ),
        ),
      ),
    );
  }
}

// tables the clinician opened stay open across re-runs
const openedTables = new Set();

function acrTable(t) {
  const caption = `Variant ${t.variant} (${t.status === "matched" ? "matches" : "possible"}): ${t.title}`;
  return el(
    "table",
    { class: "acr", "data-testid": `acr-table-${t.variant}` },
    el("caption", { text: caption }),
    el(
      "thead",
      {},
      el("tr", {}, ["Procedure", "Appropriateness category", "Rating", "Relative radiation", "Ordered"].map((h) => el("th", { scope: "col", text: h }))),
    ),
    el(
      "tbody",
      {},
      t.rows.map((row) =>
        el(
          "tr",
          { class: row.ordered ? "ordered" : null, "data-testid": row.ordered ? "ordered-row" : null },
          el("th", { scope: "row", text: row.procedure }),
          el("td", { text: row.category }),
          el("td", { text: `${row.ratingRange[0]}-${row.ratingRange[1]}` }),
          el("td", { text: row.radiation || "not stated" }),
          el("td", { text: row.ordered ? "Ordered" : "" }),
        ),
      ),
    ),
  );
}

function renderAcr(view) {
  const box = $("acr-tables");
  box.replaceChildren();
  if (!view.acrTables.length) box.append(el("p", { text: "No ACR scenario applies yet." }));
  for (const t of view.acrTables) {
    // the matching variants and any table with the ordered procedure are shown; the other
    // possible variants are one click away
    if (t.status === "matched" || t.rows.some((row) => row.ordered)) {
      box.append(acrTable(t));
      continue;
    }
    const details = el(
      "details",
      { class: "acr-possible", open: openedTables.has(t.variant) },
      el("summary", { text: `Variant ${t.variant} (possible): ${t.title}` }),
      acrTable(t),
    );
    details.addEventListener("toggle", () => {
      if (details.open) openedTables.add(t.variant);
      else openedTables.delete(t.variant);
    });
    box.append(details);
  }
  $("acr-notice").textContent = view.acrNotice;
}

function renderFindings(view) {
  const box = $("findings-table");
  box.replaceChildren();
  const state_rows = view.clinicalState.map((s) =>
    el(
      "tr",
      { class: s.known ? null : "unknown" },
      el("th", { scope: "row", text: s.label }),
      el("td", { text: s.value }),
      el("td", {}, s.sources.length ? sourceLinks(s.sources) : "not in the record"),
    ),
  );
  box.append(
    el(
      "table",
      { class: "findings", "data-testid": "clinical-state" },
      el("caption", { text: "What the ACR scenarios are decided on" }),
      el("thead", {}, el("tr", {}, ["Input", "Value", "Source"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, state_rows),
    ),
  );
  box.append(
    el(
      "table",
      { class: "findings", "data-testid": "findings" },
      el("caption", { text: "Findings read from the record" }),
      el("thead", {}, el("tr", {}, ["Finding", "Level", "Value", "Source"].map((h) => el("th", { scope: "col", text: h })))),
      el(
        "tbody",
        {},
        view.findings.map((f) =>
          el(
            "tr",
            {},
            el("th", { scope: "row", text: f.label }),
            el("td", { text: f.level || "" }),
            el("td", { text: f.value }),
            el("td", {}, sourceLinks(f.sources)),
          ),
        ),
      ),
    ),
  );
}

function componentTable(caption, components, testid) {
  return el(
    "table",
    { class: "score", "data-testid": testid },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, ["Component", "Points"].map((h) => el("th", { scope: "col", text: h })))),
    el(
      "tbody",
      {},
      components.map((c) =>
        el("tr", { class: c.known ? null : "unknown" }, el("th", { scope: "row", text: c.label }), el("td", { text: c.known ? c.points : `${c.points} (unknown)` })),
      ),
    ),
  );
}

function renderScores(view) {
  const box = $("score-tables");
  box.replaceChildren();
  if (!view.sins.length && !view.mriScores.length) {
    box.append(el("p", { text: "No SINS or MRI score findings in the record." }));
  }
  for (const s of view.sins) {
    const title = `SINS at ${s.level}${s.index ? " (index level)" : ""}: ${s.range} points, ${s.category}`;
    box.append(componentTable(title, s.components, `sins-${s.level}`));
  }
  for (const m of view.mriScores) {
    const title = `MRI malignancy score at ${m.level || "an unspecified level"}: ${m.range} points, ${m.classification}`;
    box.append(componentTable(title, m.components, `mri-${m.level || "none"}`));
  }
}

function renderFlags(view) {
  const box = $("red-flags");
  box.replaceChildren();
  const groups = [
    ["present", "Present"],
    ["unknown", "Not documented"],
    ["absent", "Absent"],
  ];
  for (const [status, heading] of groups) {
    const flags = view.redFlags.filter((f) => f.status === status);
    if (!flags.length) continue;
    box.append(
      el("h3", { text: heading }),
      el("ul", { class: `flags ${status}` }, flags.map((f) => el("li", { "data-testid": `flag-${f.id}`, text: f.label }))),
    );
  }
}

function render(view) {
  $("headline").textContent = view.headline;
  renderOrders(view);
  renderNotices(view);
  renderForm(view);
  renderVariants(view);
  renderAcr(view);
  renderFindings(view);
  renderScores(view);
  renderFlags(view);
  $("citations").replaceChildren(...view.citations.map((c) => el("li", {}, el("strong", { text: `${c.topic}: ` }), c.text)));
  $("version").textContent = `Knowledge version ${view.knowledgeVersion}.`;
  $("patient-banner").textContent = view.patientName ? `Patient: ${view.patientName}` : "";
  $("content").hidden = false;
  $("section-nav").hidden = false;
}

// ---- write-back --------------------------------------------------------------------------

async function postResource(type, resource) {
  const r = await fetch(`${state.session.iss}/${type}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/fhir+json",
      Accept: "application/fhir+json",
      Authorization: `Bearer ${state.session.accessToken}`,
    },
    body: JSON.stringify(resource),
  });
  return r.status;
}

function downloadQuestionnaire() {
  const qr = state.view && state.view.writeBack.questionnaireResponse;
  if (!qr) return;
  const blob = new Blob([JSON.stringify(qr, null, 2)], { type: "application/fhir+json" });
  const link = el("a", { href: URL.createObjectURL(blob), download: "vcf-missing-findings.json" });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
}

async function writeBack() {
  const status = $("write-status");
  const { observations, questionnaireResponse } = state.view.writeBack;
  const writable = new Set(state.view.questions.filter((q) => q.writable).map((q) => q.id));
  let written = 0;
  let refused = !canCreate(state.session, "Observation");
  if (!refused) {
    for (const obs of observations) {
      const code = await postResource("Observation", obs);
      if (code === 201 || code === 200) written += 1;
      else if (code === 401 || code === 403) {
        refused = true;
        break;
      } else {
        status.textContent = `The EHR did not store an answer (HTTP ${code}); ${written} written.`;
        return;
      }
    }
  }
  const onlyInQuestionnaire = [...state.answers.keys()].some((id) => !writable.has(id) && state.answers.get(id) !== null);
  let message = written ? `${written} answer${written === 1 ? "" : "s"} written to the record as observations.` : "";
  if ((refused || onlyInQuestionnaire) && questionnaireResponse) {
    if (canCreate(state.session, "QuestionnaireResponse") && (await postResource("QuestionnaireResponse", questionnaireResponse)) === 201) {
      message += " The answers were saved in the record as a questionnaire.";
    } else {
      downloadQuestionnaire();
      message += " The EHR does not accept them from this app: the questionnaire was downloaded instead.";
    }
  }
  status.textContent = message.trim();
  if (written) {
    for (const id of writable) state.answers.delete(id); // now read from the record itself
    await refresh(false);
  }
}

// ---- start -------------------------------------------------------------------------------

async function main() {
  $("print-button").addEventListener("click", () => window.print());
  window.addEventListener("beforeprint", () => {
    for (const d of document.querySelectorAll("details")) d.open = true; // print everything
  });
  $("download-qr").addEventListener("click", downloadQuestionnaire);
  $("write-back").addEventListener("click", () => {
    writeBack().catch(() => {
      $("write-status").textContent = "The answers could not be written: the EHR could not be reached.";
    });
  });
  try {
    state.config = await loadConfig();
    const params = new URLSearchParams(window.location.search);
    state.session = params.has("code") || params.has("error") ? await completeAuthorization(window.location.search) : currentSession();
  } catch (e) {
    setStatus(e.message, true);
    return;
  }
  if (!state.session) {
    setStatus("");
    $("app-status").append(
      "The app is not launched. Open it from the patient's chart in the EHR, or ",
      el("a", { href: "launch.html", text: "start a standalone launch" }),
      ".",
    );
    return;
  }
  setStatus("Reading the patient's record…");
  await refresh(false);
}

main();

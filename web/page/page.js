// The page's own script: the controls, the loss curve, the heatmaps, the tables. Every number it
// shows comes from the worker (worker.js), which runs zl-core in WebAssembly. Text from the
// reader only ever reaches the page as textContent or an attribute value, never as markup.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const cfg = JSON.parse($("zl-config").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  let worker = null;
  let last = null; // the last result: {result, untrained, ...}
  let losses = [];
  let drawPending = false;

  const sig4 = (x) => Number(x).toPrecision(4);
  function el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }

  function b64(id) {
    const s = atob($(id).textContent.trim());
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  function startWorker() {
    const src = new Blob([$("zl-worker").textContent], { type: "text/javascript" });
    worker = new Worker(URL.createObjectURL(src));
    worker.onmessage = onMessage;
    worker.onerror = (e) => fail("the worker failed: " + e.message);
    worker.postMessage({ type: "init", seedText: cfg.seed_text, defaults: cfg.cli_defaults, wasm: { simd: b64("zl-wasm-simd"), scalar: b64("zl-wasm-scalar") } });
  }

  function fail(msg) {
    $("message").textContent = msg;
    $("status").textContent = "error";
    $("train").disabled = false;
    $("stop").disabled = true;
  }

  // The controls as typed: the module checks them as zl checks its flags (web/src/lib.rs).
  function readControls() {
    const v = (id) => $(id).value;
    return {
      text: v("text"), max_chars: cfg.limits.max_chars, epochs: v("epochs"), d_model: v("d-model"),
      seed: v("seed"), lr: v("lr"), weight_decay: v("weight-decay"),
    };
  }

  // The training flags that give the same model (those at zl's defaults left out), from the
  // settings as the module read them.
  function cliFlags(c, epochs) {
    const d = cfg.cli_defaults;
    const flags = [];
    if (!c.seed_text) flags.push("--corpus FILE");
    if (epochs !== d.epochs) flags.push("--epochs " + epochs);
    if (c.d_model !== d.d_model) flags.push("--d-model " + c.d_model);
    if (c.seed !== d.seed) flags.push("--seed " + c.seed);
    if (c.lr !== d.lr) flags.push("--lr " + c.lr);
    if (c.weight_decay !== d.weight_decay) flags.push("--weight-decay " + c.weight_decay);
    return flags;
  }
  const fileNote = (c) => !c.seed_text ? "   (FILE holding this text as UTF-8, with nothing added)" : "";

  // The command that prints the same checksum line.
  function cliLine(c, epochs) {
    return ["zl train", ...cliFlags(c, epochs), "--checksum"].join(" ") + fileNote(c);
  }

  let current = null;
  function train() {
    $("message").textContent = "";
    $("status").textContent = "training";
    $("train").disabled = true;
    $("stop").disabled = false;
    for (const id of ["checksum", "train-ms", "loss"]) $(id).textContent = "–";
    $("isa").textContent = "";
    $("cli").textContent = "";
    losses = [];
    drawCurve();
    worker.postMessage({ type: "train", controls: readControls() });
  }

  function onMessage(ev) {
    const m = ev.data;
    if (m.type === "ready") {
      $("status").textContent = "ready";
      $("train").disabled = false;
      $("isa").textContent = m.simd ? "" : "(this browser has no WebAssembly SIMD128: the scalar build runs)";
    } else if (m.type === "started") {
      current = { setup: m.settings, epochs: m.settings.epochs };
      $("cli").textContent = cliLine(current.setup, current.epochs);
    } else if (m.type === "progress") {
      for (const l of m.losses) losses.push(l);
      $("epoch").textContent = m.epoch;
      if (m.losses.length) $("loss").textContent = m.losses[m.losses.length - 1].toFixed(6);
      if (!drawPending) {
        drawPending = true;
        requestAnimationFrame(() => {
          drawPending = false;
          drawCurve();
        });
      }
    } else if (m.type === "result") {
      last = m;
      $("train").disabled = false;
      $("stop").disabled = true;
      $("train-ms").textContent = m.ms.toFixed(1);
      $("isa").textContent = `(wasm ${m.isa === "simd128" ? "SIMD128" : "scalar"}, ${m.epochs} epochs; ${m.loopMs.toFixed(1)} ms of it in the training loop)`;
      $("checksum").textContent = m.result.checksum;
      if (m.stopped) $("cli").textContent = cliLine(current.setup, m.epochs);
      $("status").textContent = m.stopped ? "stopped" : "done";
      drawCurve();
      showEvidence(m.result, m.untrained);
    } else if (m.type === "ablation") {
      showAblation(m.result);
    } else if (m.type === "sample") {
      showSample(m.result);
    } else if (m.type === "error") {
      fail(m.message);
      if (m.during !== "setup" && m.during !== "train") {
        worker.terminate();
        startWorker();
      }
    }
  }

  function drawCurve() {
    const cv = $("curve");
    const g = cv.getContext("2d");
    const W = cv.width, H = cv.height, L = 48, B = 24;
    g.clearRect(0, 0, W, H);
    g.strokeStyle = "#888";
    g.strokeRect(L, 4, W - L - 4, H - B - 4);
    g.fillStyle = "#333";
    g.font = "11px sans-serif";
    if (!losses.length) return;
    let lo = Infinity, hi = -Infinity;
    for (const l of losses) { if (l < lo) lo = l; if (l > hi) hi = l; }
    if (hi === lo) hi = lo + 1;
    g.fillText(hi.toFixed(3), 2, 12);
    g.fillText(lo.toFixed(3), 2, H - B);
    const total = Math.max(losses.length, current ? current.epochs : 1);
    g.fillText("epoch " + total, W - 80, H - 6);
    g.fillText("loss", 2, H / 2);
    g.strokeStyle = "#1f77b4";
    g.beginPath();
    const step = Math.max(1, Math.floor(losses.length / (W - L)));
    for (let k = 0; k < losses.length; k += step) {
      const x = L + (W - L - 4) * (k / total);
      const y = 4 + (H - B - 4) * (1 - (losses[k] - lo) / (hi - lo));
      if (k === 0) g.moveTo(x, y); else g.lineTo(x, y);
    }
    g.stroke();
  }

  function agreement(r) {
    const a = r.agreement;
    return `${a.agree} of ${a.followed} (single maximum: ${a.single_max_agree} of ${a.single_max})`;
  }

  function showEvidence(r, u) {
    for (const [id, k] of [["model-loss", "model_loss"], ["floor", "floor"], ["gap", "gap"], ["uniform", "uniform"]]) {
      $(id).textContent = r[k].toFixed(6);
      $(id + "-0").textContent = u[k].toFixed(6);
    }
    $("agree").textContent = agreement(r);
    $("agree-0").textContent = agreement(u);
    const v = r.vocab.length;
    $("hidden-note").textContent = r.shown.length < v
      ? `showing the ${r.shown.length} most frequent of ${v} characters; ${v - r.shown.length} less frequent ones are hidden` : "";
    heatmap($("p-map"), r, "p", "P (data)");
    heatmap($("q-map"), r, "q", "Q (model)");
    const tb = $("rows").tBodies[0];
    tb.replaceChildren();
    const label = (t) => r.labels[t];
    for (const row of r.rows) {
      const tr = el("tr");
      tr.append(el("td", label(row.token)), el("td", String(row.n)));
      const next = row.data_top.map((t) => `${label(t.token)} ${t.p.toFixed(3)}/${t.q.toFixed(3)}`).join("  ");
      const more = row.successors - row.data_top.length;
      tr.append(el("td", next + (more > 0 ? `  +${more}` : "")));
      tr.append(el("td", row.n > 0 ? row.kl.toFixed(5) : "–"));
      tr.append(el("td", `${label(row.model_top)} ${row.model_top_q.toFixed(3)} ${row.n > 0 ? (row.argmax_agrees ? "✓" : "✗") : ""}`));
      tb.append(tr);
    }
    for (const id of ["evidence", "sampling", "ablation"]) $(id).hidden = false;
    $("ablation-result").hidden = true;
    $("ablation-none").hidden = false;
    $("sample-model").textContent = "";
    $("sample-table").textContent = "";
    $("sample-note").textContent = "";
  }

  // The report's colour for a probability x: linear between the stops zl wrote (cfg.colours),
  // as render/heatmap_figure.rs mixes them.
  function colour(x) {
    const st = cfg.colours, t = Math.min(1, Math.max(0, x)) * (st.length - 1);
    const k = Math.min(Math.floor(t), st.length - 2), f = t - k;
    const mix = (a, b) => Math.round(a + (b - a) * f);
    return `rgb(${mix(st[k][0], st[k + 1][0])},${mix(st[k][1], st[k + 1][1])},${mix(st[k][2], st[k + 1][2])})`;
  }

  // Rows labelled as zl labels a character, columns with the report's one-character glyphs. A
  // label's text is at most cell - 3 px high, so that rows of labels never overlap; the left
  // margin fits the longest label (monospace: about 0.62 em a character).
  function heatmap(box, r, which, title) {
    const ids = r.shown, n = ids.length, cell = Math.max(10, Math.min(16, Math.floor(560 / n)));
    const font = Math.min(11, cell - 3);
    const widest = Math.max(...ids.map((i) => [...r.labels[i]].length));
    const left = Math.ceil(widest * font * 0.62) + 8, top = font + 8;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", left + n * cell + 4);
    svg.setAttribute("height", top + n * cell + 22);
    svg.setAttribute("role", "img");
    const text = (parent, x, y, size, content, attrs) => {
      const t = document.createElementNS(SVG, "text");
      t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("font-size", size);
      for (const k in attrs || {}) t.setAttribute(k, attrs[k]);
      t.textContent = content;
      parent.append(t);
    };
    text(svg, left, 12, 11, title);
    const g = document.createElementNS(SVG, "g");
    g.setAttribute("transform", `translate(0, 18)`);
    svg.append(g);
    ids.forEach((i, a) => {
      text(g, left - 4, top + a * cell + cell / 2, font, r.labels[i],
        { "text-anchor": "end", "dominant-baseline": "central", "data-testid": `${which}-row-${i}` });
      text(g, left + a * cell + cell / 2, top - 4, font, r.glyphs[i],
        { "text-anchor": "middle", "data-testid": `${which}-col-${i}` });
      ids.forEach((j, b) => {
        const x = r[which][i][j];
        const rect = document.createElementNS(SVG, "rect");
        rect.setAttribute("x", left + b * cell); rect.setAttribute("y", top + a * cell);
        rect.setAttribute("width", cell); rect.setAttribute("height", cell);
        rect.setAttribute("fill", colour(x));
        rect.setAttribute("data-testid", `${which}-cell-${i}-${j}`);
        if (which === "q") {
          rect.setAttribute("data-row", i);
          rect.classList.add("clickable");
        }
        const tt = document.createElementNS(SVG, "title");
        tt.textContent = `${r.labels[i]}→${r.labels[j]} count ${r.counts[i][j]}, P ${sig4(r.p[i][j])}, Q ${sig4(r.q[i][j])}`;
        rect.append(tt);
        g.append(rect);
      });
    });
    if (which === "q") {
      svg.addEventListener("click", (e) => {
        const row = e.target.getAttribute && e.target.getAttribute("data-row");
        // While a new model trains, these cells belong to the last one: wait for its result.
        if ($("status").textContent === "training") return;
        if (row !== null && row !== undefined) worker.postMessage({ type: "ablate", token: Number(row) });
      });
    }
    box.replaceChildren(svg);
  }

  function showAblation(a) {
    if (a.error) return fail(a.error);
    const r = last.result;
    $("ablation-none").hidden = true;
    $("ablation-result").hidden = false;
    $("ablation-char").textContent = r.labels[a.token];
    $("ablation-there").textContent = `${a.changed_with} of ${a.positions_with}`;
    $("ablation-elsewhere").textContent = String(a.changed_without);
    $("ablation-elsewhere").title = `${a.changed_without} of ${a.positions_without}`;
    $("ablation-delta").textContent = (a.delta_with >= 0 ? "+" : "") + a.delta_with.toFixed(6);
    $("ablation-delta-else").textContent = a.delta_without === 0 ? "0 (exact)" : a.delta_without.toExponential(3);
    $("ablation-means").textContent = a.positions_with > 0
      ? `${a.mean_before.toFixed(4)} → ${a.mean_after.toFixed(4)}` : "(never current)";
  }

  function showSample(s) {
    if (s.error) return fail(s.error);
    $("message").textContent = "";
    $("sample-model").textContent = s.model_text;
    $("sample-table").textContent = s.table_text;
    let note = s.first_divergence === null ? "The two texts are identical."
      : `They first differ at generated character ${s.first_divergence}.`;
    if (s.table_stopped_at !== null)
      note += ` The table's text stops at ${s.table_stopped_at_label}: the text never continues it.`;
    note += " The same from the command line: " +
      ["zl sample", ...cliFlags(current.setup, last.epochs), "--sample-seed", s.seed].join(" ") + fileNote(current.setup);
    $("sample-note").textContent = note;
  }

  $("text").value = cfg.text;
  $("epochs").value = cfg.defaults.epochs;
  $("d-model").value = cfg.defaults.d_model;
  $("seed").value = cfg.defaults.seed;
  $("lr").value = cfg.defaults.lr;
  $("weight-decay").value = cfg.defaults.weight_decay;
  $("train").disabled = true;
  $("train").addEventListener("click", train);
  $("stop").addEventListener("click", () => worker.postMessage({ type: "stop" }));
  $("sample").addEventListener("click", () => {
    if ($("status").textContent === "training") return;
    worker.postMessage({ type: "sample", seed: $("sample-seed").value });
  });
  startWorker();
})();

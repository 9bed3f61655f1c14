// The page's own script: the controls, the loss curve, the verdict, the heatmaps, the tables.
// Every number it shows comes from the worker (worker.js), which runs zl-core in WebAssembly;
// every sentence of the verdict is written here from the typed verdict zl-core decided, with
// the numbers and the rule it was decided by, and claims a regime only where it holds. Text from the
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
  const TITLE = document.title;

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
    $("verdict").hidden = true;
    document.title = TITLE;
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
      // A run not stopped goes on to the runs its verdict needs: Train waits for them.
      $("train").disabled = !m.stopped;
      $("stop").disabled = m.stopped;
      $("train-ms").textContent = m.ms.toFixed(1);
      $("isa").textContent = `(wasm ${m.isa === "simd128" ? "SIMD128" : "scalar"}, ${m.epochs} epochs; ${m.loopMs.toFixed(1)} ms of it in the training loop)`;
      $("checksum").textContent = m.result.checksum;
      if (m.stopped) $("cli").textContent = cliLine(current.setup, m.epochs);
      $("status").textContent = m.stopped ? "stopped" : "checking";
      drawCurve();
      showEvidence(m.result, m.untrained);
      startVerdict(m);
    } else if (m.type === "beside") {
      showBeside(m);
    } else if (m.type === "verdict") {
      $("train").disabled = false;
      $("stop").disabled = true;
      if (m.stopped) {
        $("status").textContent = "stopped";
        noVerdict("Stopped before the runs the verdict needs were trained: no verdict.");
      } else {
        showVerdict(m.verdict, m.runs, m.ms);
        $("status").textContent = "done";
      }
    } else if (m.type === "ablation") {
      showAblation(m.result);
    } else if (m.type === "sample") {
      showSample(m.result);
    } else if (m.type === "error") {
      fail(m.message);
      if (!["setup", "train", "verdict"].includes(m.during)) {
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

  // A number beside the threshold that decided it, as zl's render/against.rs writes it: from the
  // usual digits up, the fewest at which the printed pair orders as the exact pair does (printed
  // equal only where exactly equal), and a share short of 1 never reads "100%".
  const FORMS = {
    fixed: (x, d) => x.toFixed(d),
    sci: (x, d) => x.toExponential(d).replace("e+", "e"), // as Rust writes {:.de}
    percent: (x, d) => (100 * x).toFixed(d) + "%",
  };
  const firstDigits = (d0, ok) => {
    for (let d = d0; d <= 100; d++) if (ok(d)) return d;
    return d0;
  };
  function reads(form, x, t, limit, d) {
    const shown = parseFloat(FORMS[form](x, d));
    const whole = form !== "percent" || x >= 1 || shown < 100;
    return whole && Math.sign(shown - limit) === Math.sign(x - t);
  }
  // Values judged by one threshold, each written, and the threshold written once with the digits
  // at which every value orders against it as it does exactly.
  function against(xs, t, form, d0) {
    const w = FORMS[form];
    const order = (x, d, limit) => Math.sign(parseFloat(w(x, d)) - limit) === Math.sign(x - t);
    const dt = firstDigits(d0, (d) => xs.every((x) => order(x, d, parseFloat(w(t, d)))));
    const limit = parseFloat(w(t, dt));
    return [xs.map((x) => w(x, firstDigits(dt, (d) => reads(form, x, t, limit, d)))), w(t, dt)];
  }
  // A value beside a threshold the page writes exactly (a rule's constant).
  function beside(x, t, form, d0) {
    const limit = form === "percent" ? 100 * t : t;
    return FORMS[form](x, firstDigits(d0, (d) => reads(form, x, t, limit, d)));
  }
  const pct = (x, rule) => against([x], rule, "percent", 2);
  const e2 = (x) => FORMS.sci(Number(x), 2);
  const times = (r, rule) => r === null || r === undefined ? "∞" : `${beside(r, rule, "fixed", r >= 100 ? 0 : 1)}×`;
  const REGIMES = ["bigram_table", "rank_limited", "undertrained", "not_learned"];
  const NAMES = {
    bigram_table: "learned its text's bigram table", not_learned: "has not learned its text's bigram table",
    rank_limited: "is rank-limited", undertrained: "was still learning when training stopped",
  };

  function startVerdict(m) {
    $("verdict").hidden = false;
    $("regimes").replaceChildren();
    $("gap-site").textContent = "";
    $("verdict-how").textContent = "";
    $("verdict-title").textContent = "What this model is";
    if (m.stopped) {
      noVerdict(`Training stopped at epoch ${m.epochs}: no verdict. The runs it is decided from train like this model, for as many epochs; let a run finish for one.`);
    } else {
      $("summary").textContent = "";
      $("summary").removeAttribute("data-regimes");
      $("verdict-progress").textContent = "Training the runs beside this model that its verdict needs…";
    }
  }

  function noVerdict(text) {
    $("summary").textContent = text;
    $("summary").setAttribute("data-regimes", "");
    $("verdict-progress").textContent = "";
  }

  function describeRun(run) {
    return run.kind === "shuffled" ? `shuffled text ${run.shuffle + 1}` : `wider model (d_model ${run.d_model})`;
  }

  function showBeside(m) {
    $("verdict-progress").textContent = `Training the runs beside this model that its verdict needs: ${describeRun(m.runs[m.run])}, run ${m.run + 1} of ${m.runs.length}, epoch ${m.epoch} of ${m.epochs}`;
  }

  // Why no wider model was trained (the module's NotRetrained), in words.
  function notRetrained(w) {
    if (w.reason === "full_rank") return `d_model ${w.d_model} ≥ V = ${w.vocab}: W_E·W_U can have full rank, so no width limits it`;
    if (w.reason === "widest_already") return `d_model ${w.d_model} is the widest zl trains`;
    if (w.reason === "over_budget") return `at ${w.epochs} epochs the work budget allows retraining up to d_model ${w.widest} only`;
    return w.reason;
  }

  // Every regime with whether it holds and the sentence, with its numbers and rule, that says
  // why or why not (zl's render/verdict.rs: regimes).
  function regimeLines(e) {
    const v = e.verdict, rules = e.rules;
    const holds = (r) => v.regimes.includes(r);
    const isSmall = e.small;
    const [[gap], smallGap] = against([v.gap], v.small_gap, "sci", 2);
    const small = `small: at most ${smallGap}, ${100 * rules.small_gap_fraction}% of ln V − floor`;
    const ratio = e.controls_ratio !== null ? `${beside(e.controls_ratio, rules.control_factor, "fixed", 1)}×` : "∞";
    const controls = `${ratio} the model's (rule: at least ${rules.control_factor}×)`;
    const bigram = isSmall
      ? `the gap, ${gap} nats, is small (${small}), ${v.controls_told_apart ? "and" : "but"} the controls' gaps are ${v.controls_told_apart ? "" : "only "}${controls}`
      : `the gap, ${gap} nats, is not small (${small})`;
    const notLearned = v.controls_told_apart
      ? `the controls are told apart: their gaps are ${controls}`
      : `the controls' gaps are only ${controls}: not told apart`;
    let rank;
    if (v.wider_model) {
      const w = v.wider_model, full = w.d_model === e.vocab ? ", the full rank V" : "";
      const model = `a wider model (d_model ${w.d_model}${full}) trained with the same settings and budget gets ${e2(w.gap)} nats`;
      const less = times(v.wider_ratio, rules.wider_factor);
      rank = holds("rank_limited") ? `${model}, ${less} less (rule: at least ${rules.wider_factor}×)`
        : isSmall ? `the gap is small; ${model} (${less} less), but a small gap is not a rank limit`
        : `${model}, only ${less} less (rule: at least ${rules.wider_factor}×)`;
    } else {
      // A small gap is decided before any wider model is looked at.
      rank = isSmall ? "the gap is small, and a small gap is not a rank limit"
        : v.wider_not_trained ? `no wider model: ${notRetrained(v.wider_not_trained)}` : "no wider model was trained";
    }
    const t = v.gap_trend;
    let under;
    if ((!t || t.drop === null || t.falling === null) && isSmall) {
      under = "the gap is small, and a small gap is not undertraining";
    } else if (!t || t.drop === null || t.falling === null) {
      under = "not decided: the gap at half this model's epochs was not measured (a run of fewer than 2 epochs)";
    } else {
      const [[drop], rule] = pct(t.drop, rules.still_falling_drop);
      const over = `${drop} over the last doubling, ${Math.floor(t.at / 2)} to ${t.at} epochs (rule: more than ${rule})`;
      under = isSmall ? (t.falling ? `the gap is small, so its fall of ${over} is not called undertraining` : `the gap is small, and it fell ${over}`)
        : (t.falling ? `the gap is not small and still falling: ${over}` : `the gap is flat: it fell ${over}`);
    }
    const why = { bigram_table: bigram, rank_limited: rank, undertrained: under, not_learned: notLearned };
    return REGIMES.map((r) => ({ regime: r, holds: holds(r), why: why[r] }));
  }

  // Where the gap lives, with the share that decides it (render/verdict.rs: gap_site).
  function gapSite(e) {
    const v = e.verdict;
    const [[leak, misfit], m] = against([v.gap_share_leak, 1 - v.gap_share_leak], e.rules.mostly_share, "percent", 2);
    if (v.gap_site === "leak") return `${leak} of the gap is leak onto pairs the text never has (mostly leak: at least ${m}).`;
    if (v.gap_site === "misfit") return `The gap is mostly misfit on the pairs that occur (${misfit} misfit, ${leak} leak; mostly: at least ${m}).`;
    if (v.gap_site === "both") return `The gap is split: ${leak} leak, ${misfit} misfit (neither holds ${m}).`;
    return "There is no gap to split.";
  }

  function showVerdict(e, runs, ms) {
    const v = e.verdict;
    const says = v.regimes.map((r) => NAMES[r]);
    const summary = says.length ? `This zero-layer transformer ${says.join(" and ")}`
      : "This zero-layer transformer is short of its text's bigram table";
    const [[gapNats], smallGap] = against([v.gap], v.small_gap, "sci", 2);
    const gap = `gap ${gapNats} nats to the floor ${e.floor.toFixed(4)} (small: at most ${smallGap})`;
    const ctl = `controls ${v.controls_told_apart ? "told apart" : "not told apart"}`;
    const wider = v.wider_model ? `; a wider model (d_model ${v.wider_model.d_model}) gets ${e2(v.wider_model.gap)}` : "";
    $("summary").textContent = `${summary}: ${gap}, ${ctl}${wider}.`;
    $("summary").setAttribute("data-regimes", v.regimes.join(" "));
    $("verdict-title").textContent = `What this model is: it ${says.length ? says.join(" and ") : "is short of its text's bigram table"}`;
    document.title = "zl: " + summary.charAt(0).toLowerCase() + summary.slice(1);
    $("verdict-progress").textContent = "";
    const ul = $("regimes");
    ul.replaceChildren();
    for (const line of regimeLines(e)) {
      const li = el("li", undefined, { "data-regime": line.regime, "data-holds": String(line.holds) });
      li.append(el("strong", `${line.holds ? "✓" : "✗"} ${line.regime}`), document.createTextNode(`: ${line.why}.`));
      ul.append(li);
    }
    $("gap-site").textContent = "Where the gap lives: " + gapSite(e);
    $("gap-site").setAttribute("data-site", v.gap_site);
    const range = (xs) => xs.length ? `${e2(Math.min(...xs))} to ${e2(Math.max(...xs))}` : "none";
    const shuffles = runs.filter((r) => r.kind === "shuffled").length;
    $("verdict-how").textContent = `Decided by zl's rules from: the untrained model at seeds ${e.untrained_seeds[0]} to ${e.untrained_seeds[1]} (gaps ${range(e.untrained_gaps)} nats), ` +
      `${shuffles} shuffled texts (the same characters, bigrams destroyed) trained like this model (gaps ${range(e.shuffled_gaps)}), ` +
      (v.wider_model ? `a model of d_model ${v.wider_model.d_model} trained like it, ` : "") +
      `all evaluated on this text${v.gap_trend ? ", and this run's own gap at half its epochs" : ""}. The runs beside it took ${(ms / 1000).toFixed(1)} s.`;
  }

  function agreement(r) {
    const a = r.agreement;
    return `${a.agree} of ${a.followed} (single maximum: ${a.single_max_agree} of ${a.single_max})`;
  }

  function showEvidence(r, u) {
    for (const [id, k] of [["model-loss", "model_loss"], ["floor", "bigram_entropy"], ["gap", "kl_weighted"], ["uniform", "uniform_loss"]]) {
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
    $("ablation-delta").textContent = (a.delta_loss_with >= 0 ? "+" : "") + a.delta_loss_with.toFixed(6);
    $("ablation-delta-else").textContent = a.delta_loss_without === 0 ? "0 (exact)" : a.delta_loss_without.toExponential(3);
    $("ablation-means").textContent = a.positions_with > 0
      ? `${a.mean_loss_with_before.toFixed(4)} → ${a.mean_loss_with_after.toFixed(4)}` : "(never current)";
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

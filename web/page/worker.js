// The page's Web Worker: it holds the WebAssembly module (web/src/lib.rs) and runs every call to
// it, so that training never blocks the page. Messages in: {type: "init", wasm: {simd, scalar}}
// (gzipped module bytes), {type: "train", controls} (as typed: the module checks them),
// {type: "stop"}, {type: "ablate", token}, {type: "sample", seed}. Messages out: "ready",
// "started" (the settings as the module read them), "progress", "result", then, for a run not
// stopped, "beside" (progress of the runs the verdict needs) and "verdict"; "ablation", "sample"
// and "error".
"use strict";
let zl = null;
let stopRequested = false;
// Epochs per call into wasm. V8 runs a wasm function in its baseline compiler until it has run
// for a while, and swaps in optimised code only between calls, so training is many short calls
// (docs/PERFORMANCE.md); between them the worker yields, so that Stop is heard.
const CHUNK = 100;

// The smallest module that uses a SIMD128 instruction (wasm-feature-detect's probe): true where
// the browser runs SIMD128.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1,
  0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

async function gunzip(bytes) {
  const s = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

function call(req) {
  const e = zl.exports;
  const bytes = new TextEncoder().encode(JSON.stringify(req));
  const ptr = e.zl_alloc(bytes.length);
  new Uint8Array(e.memory.buffer, ptr, bytes.length).set(bytes);
  e.zl_call(ptr, bytes.length);
  const out = new Uint8Array(e.memory.buffer, e.zl_reply_ptr(), e.zl_reply_len());
  return JSON.parse(new TextDecoder().decode(out));
}

// Lets queued messages (Stop) in: a message through a channel is a new task, without setTimeout's
// clamping.
function yieldNow() {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(0);
  });
}

// V8 first runs wasm in its baseline compiler, and optimises a function only after it has run
// for a while, swapping the optimised code in between calls. So at load the worker trains the
// seed model for 3,000 epochs in short calls and throws it away: the reader's first Train
// already runs optimised code (about 2× faster on the seed run). Other sizes run other copies
// of the loop (the capacity tiers), which warm up during their own first run.
function warmUp(seedText, defaults) {
  call(Object.assign({ op: "setup", text: seedText }, defaults));
  for (let k = 0; k < 60; k++) call({ op: "train", epochs: 50 });
}

async function train(controls) {
  const r = call(Object.assign({ op: "setup" }, controls));
  if (r.error) return postMessage({ type: "error", during: "setup", message: r.error });
  const epochs = r.epochs;
  postMessage({ type: "started", settings: r.settings });
  // The untrained model (epoch 0): the control beside the trained model's numbers.
  const untrained = call({ op: "result" });
  stopRequested = false;
  let done = 0;
  let loopMs = 0; // inside the wasm calls only
  let pending = [];
  let last = performance.now();
  const t0 = last;
  while (done < epochs && !stopRequested) {
    const k = Math.min(CHUNK, epochs - done);
    const c0 = performance.now();
    const s = call({ op: "train", epochs: k });
    loopMs += performance.now() - c0;
    done = s.epoch;
    for (const l of s.losses) pending.push(l);
    if (s.error) {
      postMessage({ type: "progress", epoch: done, losses: pending });
      return postMessage({ type: "error", during: "train", message: s.error });
    }
    // The page hears of progress, and the worker of Stop, every 25 ms or so: often enough for a
    // live curve, seldom enough not to take the page's time from training.
    if (performance.now() - last > 25) {
      postMessage({ type: "progress", epoch: done, losses: pending });
      pending = [];
      await yieldNow();
      last = performance.now();
    }
  }
  postMessage({ type: "progress", epoch: done, losses: pending });
  const ms = performance.now() - t0;
  const result = call({ op: "result" });
  const stopped = stopRequested;
  postMessage({ type: "result", ms, loopMs, stopped, epochs: done, isa: r.isa, result, untrained });
  if (!stopped) await verdict(done);
}

// The runs the verdict needs beside the model (the module plans them: shuffled texts and a
// wider model, each trained like the model for its epochs), then the verdict. Stop ends them,
// with no verdict.
async function verdict(epochs) {
  const t0 = performance.now();
  const plan = call({ op: "beside" });
  if (plan.error) return postMessage({ type: "error", during: "verdict", message: plan.error });
  const runs = plan.runs;
  let last = performance.now();
  for (let k = 0; k < runs.length; k++) {
    const r = call({ op: "beside_setup", run: k });
    if (r.error) return postMessage({ type: "error", during: "verdict", message: r.error });
    let done = 0;
    postMessage({ type: "beside", runs, run: k, epoch: 0, epochs });
    while (done < epochs) {
      if (stopRequested) return postMessage({ type: "verdict", stopped: true });
      const s = call({ op: "beside_train", epochs: Math.min(CHUNK, epochs - done) });
      if (s.error) break; // a run beside the model that diverged: its gap is what it reached
      done = s.epoch;
      if (performance.now() - last > 25) {
        postMessage({ type: "beside", runs, run: k, epoch: done, epochs });
        await yieldNow();
        last = performance.now();
      }
    }
    call({ op: "beside_done" });
  }
  const v = call({ op: "verdict" });
  if (v.error) return postMessage({ type: "error", during: "verdict", message: v.error });
  postMessage({ type: "verdict", runs, ms: performance.now() - t0, verdict: v });
}

onmessage = async (ev) => {
  const m = ev.data;
  try {
    if (m.type === "init") {
      const simd = WebAssembly.validate(SIMD_PROBE);
      const bytes = await gunzip(simd ? m.wasm.simd : m.wasm.scalar);
      zl = (await WebAssembly.instantiate(bytes, {})).instance;
      warmUp(m.seedText, m.defaults);
      postMessage({ type: "ready", simd });
    } else if (m.type === "stop") {
      stopRequested = true;
    } else if (m.type === "train") {
      await train(m.controls);
    } else if (m.type === "ablate") {
      postMessage({ type: "ablation", result: call({ op: "ablate", token: m.token }) });
    } else if (m.type === "sample") {
      postMessage({ type: "sample", result: call({ op: "sample", seed: m.seed, chars: 200 }) });
    }
  } catch (e) {
    postMessage({ type: "error", during: m.type, message: String(e && e.message || e) });
  }
};

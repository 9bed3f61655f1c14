//! The browser page's WebAssembly module: zl-core's model, trained by zl-lanes' loop (SIMD128
//! where the build has it, zl-core's own loop otherwise), and zl-core's analysis of it, behind
//! a few C-ABI exports that take and return JSON. `zl report --interactive` embeds two builds
//! of it (web/build.sh) in the page; the page's Web Worker (web/page/worker.js) calls it.
//!
//! Every number the page shows comes from here, computed by the same zl-core functions as
//! `zl train`, `zl interpret` and `zl sample`: the vocabulary rule, the bigram counts, the
//! capacity tiers, the training loop, the checksum line, the decomposition, the per-token rows,
//! the ablation, the heatmap's characters, the characters' labels and the sampler.
//!
//! The interface: [`zl_alloc`] a buffer, write a JSON request into it, [`zl_call`] it; the
//! reply is JSON at [`zl_reply_ptr`], [`zl_reply_len`] bytes. A request is one of
//! `{"op": "setup", "text", "max_chars", "epochs", "d_model", "seed", "lr", "weight_decay"}`
//! (the controls as typed, checked here as `zl train` checks its flags),
//! `{"op": "train", "epochs"}`, `{"op": "result"}`, `{"op": "ablate", "token"}`,
//! `{"op": "sample", "seed", "chars"}`, and the verdict's: `{"op": "beside"}` (the runs trained
//! beside the model), `{"op": "beside_setup", "run"}`, `{"op": "beside_train", "epochs"}`,
//! `{"op": "beside_done"}` and `{"op": "verdict"}`. A reply with an `"error"` key is one line
//! for the reader.
//!
//! The verdict is zl-core's ([`zl_core::verdict`]), decided from the evidence `zl interpret`
//! decides it from, measured the same way: the untrained model at
//! [`verdict::UNTRAINED_SEEDS`] seeds, [`verdict::shuffles`] shuffled texts (each the sorted
//! text shuffled by [`zl_core::rng::shuffle`], trained like the model from seed + k), the wider
//! model of [`verdict::wider_width`], all evaluated on the model's text, and the exact gap at
//! half the model's epochs and at all of them (recorded from the model's own run as it passes
//! them). The page writes its sentences from the typed verdict. There is no wasm-bindgen: five functions of bytes and integers need no generated
//! glue, and the page stays one file with no build tool (docs/ARCHITECTURE.md).

use std::{cell::RefCell, collections::BTreeSet};

use rand::{rngs::ChaCha8Rng, RngExt, SeedableRng};
use serde_json::{json, Value};
use zl_core::{
    capacity::{self, AtCapacity, MAX_D_MODEL, MAX_VOCAB},
    checksum, flags, glyph,
    interpret::{self as zi, Counts, Summary, Table, Weights},
    verdict::{self, Evidence, GapTrend, NotRetrained, Wider},
    AdamWConfig, Bigrams, Csr, Label, Model, Trainer, Vocab, SEED_TEXT, SEED_VOCAB,
};
use zl_lanes::Isa;

/// The data's most frequent next characters listed per row, as `zl train` lists them.
const TOP: usize = 3;

/// A model being trained on one text, at one capacity tier.
trait Session {
    fn train(&mut self, epochs: u32) -> Value;
    fn result(&mut self) -> Value;
    fn ablate(&self, token: usize) -> Value;
    fn sample(&self, seed: u64, chars: usize) -> Value;
    /// The model's weights, for the analysis.
    fn weights(&self) -> Weights;
    /// The runs the verdict needs beside this model: `(shuffles, the wider width or why none)`.
    fn beside(&self) -> (usize, Result<usize, NotRetrained>);
    /// A run beside this one: the text shuffled with seed `k` (`Some(k)`), or this text at
    /// `d_model` (the wider model), with this model's settings.
    fn beside_setup(
        &self,
        shuffle: Option<u64>,
        d_model: usize,
    ) -> Result<Box<dyn Session>, String>;
    /// The gap on this model's text of a model beside it.
    fn gap_of(&self, w: &Weights) -> f64;
    /// The verdict from this model's numbers, its untrained seeds and the runs beside it.
    fn verdict(&self, shuffled: &[f64], wider: Result<Wider, NotRetrained>) -> Value;
}

struct State<const V: usize, const D: usize> {
    trainer: Box<Trainer<V, D>>,
    bigrams: Box<Bigrams<V>>,
    /// The same counts at their own size, for the analysis, and as sparse rows (checked).
    counts: Counts,
    pairs: (Vec<usize>, Vec<u32>, Vec<u64>),
    vocab: Vec<char>,
    tokens: Vec<usize>,
    isa: Isa,
    epochs: u32,
    /// The loss after the last update of the last `train` call (what the checksum line holds).
    final_loss: Option<f32>,
    diverged: Option<zl_core::Diverged>,
    /// How it was set up, for the runs beside it.
    setup: Settings,
    /// The exact gap at half the epochs it was set up for, once training passes them.
    half_gap: Option<(u32, f64)>,
}

/// The settings a model was set up with: the runs beside it take them.
#[derive(Clone, Copy)]
struct Settings {
    seed_vocab: bool,
    seed: u64,
    adamw: AdamWConfig,
    epochs: u32,
}

struct Setup {
    text: String,
    vocab: Vec<char>,
    d_model: usize,
    settings: Settings,
}

impl AtCapacity for Setup {
    type Output = Result<Box<dyn Session>, String>;
    fn at<const V: usize, const D: usize>(self) -> Self::Output {
        let chars: &[char] = if self.settings.seed_vocab {
            &SEED_VOCAB
        } else {
            &self.vocab
        };
        let vocab = Vocab::<V>::from_chars(chars).map_err(|e| e.to_string())?;
        let bigrams = Box::new(Bigrams::from_text(&vocab, &self.text).map_err(|e| e.to_string())?);
        let tokens = vocab
            .encode(&self.text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let model = Model::<V, D>::init_torch(self.settings.seed, vocab.len(), self.d_model)
            .map_err(|e| e.to_string())?;
        let counts = Counts::of_bigrams(&bigrams);
        let pairs = counts.sparse();
        Csr::new(vocab.len(), &pairs.0, &pairs.1, &pairs.2).map_err(|e| format!("{e:?}"))?;
        Ok(Box::new(State {
            trainer: Box::new(Trainer::new(model, self.settings.adamw)),
            counts,
            pairs,
            bigrams,
            vocab: vocab.chars().to_vec(),
            tokens,
            isa: Isa::best(),
            epochs: 0,
            final_loss: None,
            diverged: None,
            setup: self.settings,
            half_gap: None,
        }))
    }
}

impl<const V: usize, const D: usize> State<V, D> {
    fn v(&self) -> usize {
        self.vocab.len()
    }
    fn log_q(&self) -> Table {
        zi::log_softmax(&zi::logit_table(&self.weights()))
    }
    fn count(&self, i: usize, j: usize) -> f64 {
        self.counts.count(i, j)
    }
    fn csr(&self) -> Csr<'_> {
        let (r, c, n) = &self.pairs;
        Csr::new(self.v(), r, c, n).expect("checked when the state was set up")
    }
    /// The weights `w` against this text, row by row: zl-core's one comparison.
    fn summary(&self, w: &Weights) -> (Vec<zi::RowFacts>, Summary) {
        let b = self.csr();
        let (facts, sums) = zi::rows(w, &b);
        let s = zi::summarise(&facts, &sums, &b);
        (facts, s)
    }
}

impl<const V: usize, const D: usize> Session for State<V, D> {
    fn train(&mut self, epochs: u32) -> Value {
        if self.diverged.is_some() {
            return json!({"error": "the model diverged; change the settings and train again"});
        }
        let mut losses = Vec::with_capacity(epochs as usize);
        let start = self.epochs;
        // The run stops at half the epochs it was set up for, where the gap's trend starts
        // (the same bits: training is the same in any number of calls).
        let half = self.setup.epochs / 2;
        let parts = match half.checked_sub(start) {
            Some(h) if h > 0 && h < epochs => [h, epochs - h],
            _ => [epochs, 0],
        };
        let (mut done, mut r) = (0u32, Ok(0.0));
        for n in parts.into_iter().filter(|&n| n > 0) {
            r = self
                .isa
                .run(&mut self.trainer, &self.bigrams, n, |_, l| losses.push(l))
                .map_err(|d| zl_core::Diverged {
                    epoch: done + d.epoch,
                    ..d
                });
            if r.is_err() {
                break;
            }
            done += n;
            if start + done == half {
                let gap = zi::decompose(&self.weights(), &self.csr()).kl_weighted;
                self.half_gap = Some((half, gap));
            }
        }
        match r {
            Ok(f) => {
                self.epochs += epochs;
                self.final_loss = Some(f);
                json!({"epoch": self.epochs, "losses": losses, "final_loss": f})
            }
            Err(zl_core::Diverged { epoch: e, loss: l }) => {
                self.diverged = Some(zl_core::Diverged {
                    epoch: start + e,
                    loss: l,
                });
                self.epochs = start + e;
                json!({"error": format!(
                    "the loss became {l} at epoch {}: training diverged; lower the learning rate",
                    start + e
                ), "epoch": self.epochs, "losses": losses})
            }
        }
    }

    fn result(&mut self) -> Value {
        let v = self.v();
        let m = &self.trainer.model;
        let mut line = String::new();
        if let Some(f) = self.final_loss {
            let _ = checksum::write_line(&mut line, self.epochs, f, m);
        }
        let (facts, summary) = self.summary(&self.weights());
        let d = summary.decomposition;
        let log_q = self.log_q();
        let mut shown = [0usize; zi::MAX_SHOWN];
        let k = zi::most_frequent(&self.csr(), &mut shown);
        let token_rows: Vec<_> = facts.iter().map(|f| f.token).collect();
        let rows: Vec<Value> = (0..v)
            .map(|i| {
                let r = &token_rows[i];
                let mut top = [0usize; TOP];
                let k = zi::ranked(|j| self.count(i, j), v, &mut top);
                let seen = (0..v).filter(|&j| self.count(i, j) > 0.0).count();
                let n = r.count;
                let data_top: Vec<Value> = top[..k]
                    .iter()
                    .filter(|&&j| self.count(i, j) > 0.0)
                    .map(|&j| {
                        json!({"token": j, "p": self.count(i, j) / n,
                               "q": libm::exp(log_q[(i, j)])})
                    })
                    .collect();
                json!({
                    "token": i, "n": n, "kl": r.kl, "successors": seen, "data_top": data_top,
                    "model_top": r.model_top, "model_top_q": r.model_top_q,
                    "argmax_agrees": r.argmax_agrees,
                })
            })
            .collect();
        let table = |f: &dyn Fn(usize, usize) -> f64| -> Vec<Vec<f64>> {
            (0..v).map(|i| (0..v).map(|j| f(i, j)).collect()).collect()
        };
        let p = table(&|i, j| {
            let n = self.counts.row_total(i);
            if n > 0.0 {
                self.count(i, j) / n
            } else {
                0.0
            }
        });
        let q = table(&|i, j| libm::exp(log_q[(i, j)]));
        let counts = table(&|i, j| self.count(i, j));
        json!({
            "checksum": line,
            "epochs": self.epochs,
            "isa": self.isa.name(),
            "vocab": self.vocab.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            // By token id: each character as zl labels it in its tables, and as its heatmaps
            // show it along their axes.
            "labels": self.vocab.iter().map(|&c| Label(c).to_string()).collect::<Vec<_>>(),
            "glyphs": self.vocab.iter().map(|&c| glyph(c).to_string()).collect::<Vec<_>>(),
            "d_model": m.d_model(),
            // The decomposition's keys as `zl interpret --json` names them, and this module's
            // older names for them (kept for one release).
            "model_loss": d.model_loss,
            "bigram_entropy": d.bigram_entropy,
            "kl_weighted": d.kl_weighted,
            "uniform_loss": d.uniform_loss,
            "floor": d.bigram_entropy,
            "gap": d.kl_weighted,
            "uniform": d.uniform_loss,
            "rows": rows,
            "agreement": summary.agreement,
            "shown": &shown[..k],
            "counts": counts, "p": p, "q": q,
        })
    }

    fn ablate(&self, token: usize) -> Value {
        match zi::ablate_embedding_row(&self.weights(), &self.tokens, token) {
            Ok(a) => {
                let mut v = json!(a);
                // This module's older names for the same numbers, kept for one release.
                v["delta_with"] = json!(a.delta_with);
                v["delta_without"] = json!(a.delta_without);
                v["mean_before"] = json!(a.mean_before);
                v["mean_after"] = json!(a.mean_after);
                v
            }

            Err(e) => json!({"error": e.to_string()}),
        }
    }

    fn sample(&self, seed: u64, chars: usize) -> Value {
        let v = self.v();
        let log_q = self.log_q();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut model, mut table) = (String::new(), String::new());
        let start = self.tokens[0];
        let end = zl_core::sample::sample(
            |i, j| log_q[(i, j)],
            |i, j| self.bigrams.counts[(i, j)] as u64,
            v,
            start,
            chars,
            || rng.random(),
            |_, m, t| {
                model.push(self.vocab[m]);
                table.extend(t.map(|t| self.vocab[t]));
            },
        );
        json!({
            "prompt": self.vocab[start].to_string(),
            "model_text": model, "table_text": table,
            "first_divergence": end.first_divergence,
            "table_stopped_at": end.table_stopped_at.map(|t| self.vocab[t].to_string()),
            "table_stopped_at_label": end.table_stopped_at.map(|t| Label(self.vocab[t]).to_string()),
            "seed": seed.to_string(),
        })
    }

    fn weights(&self) -> Weights {
        Weights::of_model(&self.trainer.model)
    }

    fn beside(&self) -> (usize, Result<usize, NotRetrained>) {
        let (v, d) = (self.v(), self.trainer.model.d_model());
        (
            verdict::shuffles(v, d, self.epochs),
            // The page trains within the capacity tiers.
            verdict::wider_width(v, d, self.epochs, &|w| w <= MAX_D_MODEL),
        )
    }

    fn beside_setup(
        &self,
        shuffle: Option<u64>,
        d_model: usize,
    ) -> Result<Box<dyn Session>, String> {
        let mut tokens = self.tokens.clone();
        let settings = match shuffle {
            // The text's characters in id order, shuffled, as `zl interpret` shuffles them.
            Some(k) => {
                tokens.sort_unstable();
                zl_core::rng::shuffle(&mut tokens, k);
                Settings {
                    seed: self.setup.seed.wrapping_add(k),
                    ..self.setup
                }
            }
            None => self.setup,
        };
        let s = Setup {
            text: tokens.iter().map(|&t| self.vocab[t]).collect(),
            vocab: self.vocab.clone(),
            d_model,
            settings: Settings {
                epochs: self.epochs,
                ..settings
            },
        };
        capacity::dispatch(self.v(), d_model, s)
    }

    fn gap_of(&self, w: &Weights) -> f64 {
        zi::decompose(w, &self.csr()).kl_weighted
    }

    fn verdict(&self, shuffled: &[f64], wider: Result<Wider, NotRetrained>) -> Value {
        let (v, d) = (self.v(), self.trainer.model.d_model());
        let (_, s) = self.summary(&self.weights());
        let (dec, leak, misfit) = (s.decomposition, s.gap_leak, s.gap_seen_misfit);
        let untrained: Vec<f64> = (0..verdict::UNTRAINED_SEEDS)
            .map(|k| {
                let seed = self.setup.seed.wrapping_add(k);
                let m = Model::<V, D>::init_torch(seed, v, d).expect("the model's own shape");
                self.gap_of(&Weights::of_model(&m))
            })
            .collect();
        // The gap at half the epochs and at all of them, where the run passed both.
        let at = self.epochs;
        let trend = self
            .half_gap
            .filter(|&(h, _)| at >= 2 && h == at / 2)
            .map(|(h, g)| GapTrend::new(vec![h, at], vec![g, dec.kl_weighted], at));
        let verdict = verdict::decide(Evidence {
            gap: dec.kl_weighted,
            leak,
            misfit,
            floor: dec.bigram_entropy,
            uniform: dec.uniform_loss,
            control_gaps: untrained.iter().chain(shuffled).copied().collect(),
            wider,
            trend,
        });
        json!({
            // The comparisons zl's render reads from the verdict, which its JSON leaves out.
            "small": verdict.small,
            "controls_ratio": verdict.controls_ratio,
            "verdict": verdict,
            "epochs": at,
            "d_model": d,
            "vocab": v,
            "floor": dec.bigram_entropy,
            "uniform": dec.uniform_loss,
            "leak": leak,
            "misfit": misfit,
            "untrained_gaps": untrained,
            "shuffled_gaps": shuffled,
            "untrained_seeds": [self.setup.seed.to_string(),
                self.setup.seed.wrapping_add(verdict::UNTRAINED_SEEDS - 1).to_string()],
            "rules": {
                "small_gap_fraction": verdict::SMALL_GAP_FRACTION,
                "wider_factor": verdict::WIDER_FACTOR,
                "control_factor": verdict::CONTROL_FACTOR,
                "mostly_share": verdict::MOSTLY_SHARE,
                "still_falling_drop": verdict::STILL_FALLING_DROP,
            },
        })
    }
}

/// A control's value as typed (a string), or a number the worker sends as one.
fn typed(req: &Value, k: &str) -> String {
    req[k]
        .as_str()
        .map_or_else(|| req[k].to_string(), str::to_owned)
}

/// Parses and checks a control with zl-core's check of the flag of the same name; a refusal
/// names the control.
fn control<T>(
    req: &Value,
    k: &str,
    name: &str,
    check: fn(&str) -> Result<T, flags::Refused<'_>>,
) -> Result<T, String> {
    let s = typed(req, k);
    check(&s).map_err(|e| format!("{name}: {e}"))
}

/// Checks the page's controls, as typed, as `zl train` checks its flags, and sets up the model:
/// `(session, epochs, the settings as zl reads them)`.
fn setup(req: &Value) -> Result<(Box<dyn Session>, u32, Value), String> {
    let text = req["text"].as_str().ok_or("no text")?.to_string();
    let n = text.chars().count();
    let max_chars = req["max_chars"].as_u64().unwrap_or(u64::MAX);
    if n as u64 > max_chars {
        return Err(format!("the text has {n} characters, more than the {max_chars} this page trains on; paste a shorter text, or use zl train --corpus FILE"));
    }
    let distinct: BTreeSet<char> = text.chars().collect();
    if distinct.len() > MAX_VOCAB {
        return Err(format!(
            "the text has {} distinct characters, more than the {MAX_VOCAB} a zl model supports; use a smaller alphabet (for example, lower-case the text)",
            distinct.len()
        ));
    }
    let epochs = control(req, "epochs", "epochs", flags::epochs)?;
    let d_model = control(req, "d_model", "d_model", flags::d_model_in_tiers)?;
    let seed = control(req, "seed", "seed", flags::seed)?;
    let adamw = AdamWConfig {
        lr: control(req, "lr", "learning rate", flags::lr)?,
        weight_decay: control(req, "weight_decay", "weight decay", flags::weight_decay)?,
        ..AdamWConfig::default()
    };
    // The seed notebook's text keeps its printed ids, as `zl train` without --corpus does; any
    // other text gets nanoGPT's sorted(set(text)), as `zl train --corpus FILE` does.
    let seed_vocab = text == SEED_TEXT;
    let settings = json!({
        "seed_text": seed_vocab, "epochs": epochs, "d_model": d_model, "seed": seed.to_string(),
        "lr": adamw.lr, "weight_decay": adamw.weight_decay,
    });
    let vocab: Vec<char> = distinct.into_iter().collect();
    let v = vocab.len().max(1);
    let s = Setup {
        text,
        vocab,
        d_model,
        settings: Settings {
            seed_vocab,
            seed,
            adamw,
            epochs,
        },
    };
    Ok((capacity::dispatch(v, d_model, s)?, epochs, settings))
}

/// A run the verdict needs beside the model.
#[derive(Clone, Copy)]
enum Run {
    /// The text shuffled with this seed, trained from the model's seed plus it.
    Shuffled(u64),
    /// The model's text at this width.
    Wider(usize),
}

/// The runs beside the model: those planned, the one training, and the gaps of those done.
#[derive(Default)]
struct Beside {
    runs: Vec<Run>,
    training: Option<(Run, Box<dyn Session>)>,
    shuffled: Vec<f64>,
    wider: Option<Result<Wider, NotRetrained>>,
    done: usize,
}

impl Beside {
    /// The runs `model` needs, and their description for the worker.
    fn plan(model: &dyn Session) -> (Beside, Value) {
        let (n, wider) = model.beside();
        let mut runs: Vec<Run> = (0..n as u64).map(Run::Shuffled).collect();
        runs.extend(wider.ok().map(Run::Wider));
        let described: Vec<Value> = runs
            .iter()
            .map(|r| match *r {
                Run::Shuffled(k) => json!({"kind": "shuffled", "shuffle": k}),
                Run::Wider(d) => json!({"kind": "wider", "d_model": d}),
            })
            .collect();
        let b = Beside {
            runs,
            wider: wider.err().map(Err),
            ..Beside::default()
        };
        (b, json!({"runs": described}))
    }

    fn op(&mut self, model: &dyn Session, op: &str, req: &Value) -> Value {
        match op {
            "beside_setup" => {
                let Some(&run) = self
                    .runs
                    .get(req["run"].as_u64().unwrap_or(u64::MAX) as usize)
                else {
                    return json!({"error": "no such run beside the model"});
                };
                let s = match run {
                    Run::Shuffled(k) => model.beside_setup(Some(k), model.weights().d_model()),
                    Run::Wider(d) => model.beside_setup(None, d),
                };
                match s {
                    Ok(s) => {
                        self.training = Some((run, s));
                        json!({"ok": true})
                    }
                    Err(e) => json!({"error": e}),
                }
            }
            "beside_train" => match self.training.as_mut() {
                Some((_, s)) => s.train(req["epochs"].as_u64().unwrap_or(0) as u32),
                None => json!({"error": "no run beside the model is set up"}),
            },
            "beside_done" => match self.training.take() {
                Some((run, s)) => {
                    let gap = model.gap_of(&s.weights());
                    match run {
                        Run::Shuffled(_) => self.shuffled.push(gap),
                        Run::Wider(d_model) => self.wider = Some(Ok(Wider { d_model, gap })),
                    }
                    self.done += 1;
                    json!({"gap": gap})
                }
                None => json!({"error": "no run beside the model is set up"}),
            },
            "verdict" => match &self.wider {
                Some(w) if self.done == self.runs.len() => model.verdict(&self.shuffled, *w),
                _ => json!({"error": "the runs beside the model are not all trained"}),
            },
            _ => json!({"error": format!("unknown request {op:?}")}),
        }
    }
}

thread_local! {
    static SESSION: RefCell<Option<Box<dyn Session>>> = const { RefCell::new(None) };
    static BESIDE: RefCell<Option<Beside>> = const { RefCell::new(None) };
    static REPLY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn handle(req: &Value) -> Value {
    let op = req["op"].as_str().unwrap_or("");
    if op == "setup" {
        return match setup(req) {
            Ok((s, epochs, settings)) => {
                SESSION.with(|c| *c.borrow_mut() = Some(s));
                BESIDE.with(|b| *b.borrow_mut() = None);
                json!({"ok": true, "isa": Isa::best().name(), "epochs": epochs, "settings": settings})
            }
            Err(e) => json!({"error": e}),
        };
    }
    SESSION.with(|c| {
        let mut c = c.borrow_mut();
        let Some(s) = c.as_mut() else {
            return json!({"error": "train a model first"});
        };
        match op {
            "train" => s.train(req["epochs"].as_u64().unwrap_or(0) as u32),
            "result" => s.result(),
            "ablate" => s.ablate(req["token"].as_u64().unwrap_or(u64::MAX) as usize),
            "sample" => match control(req, "seed", "sample seed", flags::seed) {
                Ok(seed) => s.sample(seed, req["chars"].as_u64().unwrap_or(200) as usize),
                Err(e) => json!({"error": e}),
            },
            "beside" => {
                let (b, reply) = Beside::plan(s.as_ref());
                BESIDE.with(|c| *c.borrow_mut() = Some(b));
                reply
            }
            _ => BESIDE.with(|b| match b.borrow_mut().as_mut() {
                Some(b) => b.op(s.as_ref(), op, req),
                None => json!({"error": format!("unknown request {op:?}, or no runs planned")}),
            }),
        }
    })
}

/// A buffer of `len` bytes for a request (the page writes into it, then calls [`zl_call`]).
#[no_mangle]
pub extern "C" fn zl_alloc(len: usize) -> *mut u8 {
    let mut b = Vec::<u8>::with_capacity(len);
    let p = b.as_mut_ptr();
    std::mem::forget(b);
    p
}

/// Runs the JSON request in the buffer of `len` bytes at `ptr` (from [`zl_alloc`], freed here)
/// and keeps the reply for [`zl_reply_ptr`] and [`zl_reply_len`].
///
/// # Safety
/// `ptr` must come from `zl_alloc(len)` and hold `len` written bytes.
#[no_mangle]
pub unsafe extern "C" fn zl_call(ptr: *mut u8, len: usize) {
    // SAFETY: the caller's contract above: zl_alloc's buffer of capacity `len`, now written.
    let bytes = unsafe { Vec::from_raw_parts(ptr, len, len) };
    let reply = match serde_json::from_slice::<Value>(&bytes) {
        Ok(req) => handle(&req),
        Err(e) => json!({"error": format!("a request that is not JSON: {e}")}),
    };
    let out = serde_json::to_vec(&reply).expect("a JSON value serialises");
    REPLY.with(|r| *r.borrow_mut() = out);
}

/// Where the last reply starts.
#[no_mangle]
pub extern "C" fn zl_reply_ptr() -> *const u8 {
    REPLY.with(|r| r.borrow().as_ptr())
}

/// The last reply's length in bytes.
#[no_mangle]
pub extern "C" fn zl_reply_len() -> usize {
    REPLY.with(|r| r.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trains with zl's default settings as the page's worker does (in calls of 100 epochs, then the runs beside the
    /// model) and returns the verdict's reply.
    fn verdict_of(text: &str, epochs: u32, d_model: usize) -> Value {
        let a = zl_core::TrainConfig::default().adamw;
        let r = handle(
            &json!({"op": "setup", "text": text, "epochs": epochs.to_string(),
            "d_model": d_model.to_string(), "seed": "0", "lr": a.lr, "weight_decay": a.weight_decay}),
        );
        assert!(r["error"].is_null(), "{r}");
        let train = |op: &str, epochs: u32| {
            let mut done = 0;
            while done < epochs {
                let r = handle(&json!({"op": op, "epochs": (epochs - done).min(100)}));
                assert!(r["error"].is_null(), "{r}");
                done += (epochs - done).min(100);
            }
        };
        train("train", epochs);
        let plan = handle(&json!({"op": "beside"}));
        for (k, _) in plan["runs"].as_array().unwrap().iter().enumerate() {
            assert!(handle(&json!({"op": "beside_setup", "run": k}))["error"].is_null());
            train("beside_train", epochs);
            assert!(handle(&json!({"op": "beside_done"}))["gap"].is_f64());
        }
        handle(&json!({"op": "verdict"}))
    }

    fn regimes(r: &Value) -> Vec<&str> {
        let v = r["verdict"]["regimes"].as_array().unwrap();
        v.iter().map(|x| x.as_str().unwrap()).collect()
    }

    #[test]
    fn the_seed_run_is_a_bigram_table_by_zl_cores_rule_and_its_controls() {
        let r = verdict_of(SEED_TEXT, 10_000, 16);
        assert_eq!(regimes(&r), ["bigram_table"], "{r}");
        let v = &r["verdict"];
        assert_eq!(v["gap_site"], "leak");
        // Measured beside it: 8 untrained seeds, 4 shuffles, the wider model at V = 30, and the
        // trend over the last doubling.
        assert_eq!(r["untrained_gaps"].as_array().unwrap().len(), 8);
        assert_eq!(r["shuffled_gaps"].as_array().unwrap().len(), 4);
        assert_eq!(v["wider_model"]["d_model"], 30);
        assert_eq!(v["gap_trend"]["epochs"], json!([5000, 10_000]));
        assert!(v["gap"].as_f64().unwrap() < v["small_gap"].as_f64().unwrap());
        // The comparisons the page words, as the verdict made them.
        assert_eq!(r["small"], true);
        let ratio = v["best_control_gap"].as_f64().unwrap() / v["gap"].as_f64().unwrap();
        assert_eq!(r["controls_ratio"].as_f64(), Some(ratio));
    }

    #[test]
    fn one_epoch_is_not_learned_and_has_no_trend() {
        let r = verdict_of(SEED_TEXT, 1, 16);
        assert_eq!(regimes(&r), ["not_learned"], "{r}");
        assert!(r["verdict"]["gap_trend"].is_null());
        assert_eq!(r["verdict"]["controls_told_apart"], false);
        assert_eq!(r["small"], false);
    }

    #[test]
    fn d_model_3_on_the_seed_text_is_rank_limited() {
        let r = verdict_of(SEED_TEXT, 10_000, 3);
        let got = regimes(&r);
        assert!(
            got.contains(&"rank_limited") && !got.contains(&"bigram_table"),
            "{r}"
        );
        assert!(r["verdict"]["wider_ratio"].as_f64().unwrap() >= verdict::WIDER_FACTOR);
    }

    #[test]
    fn the_runs_beside_a_model_at_full_rank_leave_out_the_wider_model_and_say_why() {
        let r = verdict_of("abcabd", 100, 8);
        assert_eq!(
            r["verdict"]["wider_not_trained"]["reason"], "full_rank",
            "{r}"
        );
        assert!(!regimes(&r).contains(&"rank_limited"));
    }

    #[test]
    fn a_verdict_before_its_runs_are_trained_is_refused() {
        handle(
            &json!({"op": "setup", "text": "abcab", "epochs": "10", "d_model": "1",
            "seed": "0", "lr": "1e-2", "weight_decay": "0"}),
        );
        handle(&json!({"op": "train", "epochs": 10}));
        handle(&json!({"op": "beside"}));
        assert!(handle(&json!({"op": "verdict"}))["error"].is_string());
    }
}

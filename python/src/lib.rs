//! `zl._zl`: the native half of the `zl` Python package. It converts between Python values and
//! [`bridge`]'s, runs long work without the GIL, and turns errors into Python exceptions; the
//! API itself (names, numpy arrays, TransformerLens) is `zl/__init__.py`'s.

mod bridge;

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Condvar, Mutex,
    },
    time::Duration,
};

use pyo3::{
    exceptions::{
        PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyPermissionError, PyRuntimeError,
        PyValueError,
    },
    prelude::*,
    types::{PyBytes, PyDict},
};

/// How often a training run wakes the calling thread to check for Ctrl-C and move the
/// progress bar while it waits.
const POLL: Duration = Duration::from_millis(50);

/// An error as a Python exception: the message is the CLI's one line (the context chain,
/// outermost first); the type follows the cause (a missing file, a refused permission, Ctrl-C),
/// and is `ValueError` for everything the caller gave wrong.
fn py_err(e: anyhow::Error) -> PyErr {
    let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    let msg = msg.join(": ");
    if e.downcast_ref::<bridge::Interrupted>().is_some() {
        return PyKeyboardInterrupt::new_err(msg);
    }
    let io = e.chain().find_map(|c| c.downcast_ref::<std::io::Error>());
    match io.map(|io| io.kind()) {
        Some(std::io::ErrorKind::NotFound) => PyFileNotFoundError::new_err(msg),
        Some(std::io::ErrorKind::PermissionDenied) => PyPermissionError::new_err(msg),
        Some(_) => PyOSError::new_err(msg),
        None => PyValueError::new_err(msg),
    }
}

/// Runs `f`, with a panic (a bug in zl) as a `RuntimeError` rather than pyo3's
/// `PanicException`, which is not an `Exception`.
fn guard<T>(f: impl FnOnce() -> anyhow::Result<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(py_err),
        Err(p) => {
            let what = p
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| p.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            Err(PyRuntimeError::new_err(format!(
                "zl: internal error ({what}); please report it"
            )))
        }
    }
}

/// [`guard`] without the GIL, for work that takes long.
fn detached<T: Send>(py: Python<'_>, f: impl FnOnce() -> anyhow::Result<T> + Send) -> PyResult<T> {
    py.detach(|| guard(f))
}

/// A text's vocabulary and bigram counts (zl's `Corpus`), opaque to Python.
#[pyclass(frozen, module = "zl._zl")]
struct Corpus(bridge::Corpus);

#[pymethods]
impl Corpus {
    /// The characters, in token-id order.
    #[getter]
    fn vocab(&self) -> String {
        bridge::vocab(&self.0).iter().collect()
    }

    /// The V×V next-token counts, row-major, as little-endian u64 bytes.
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let b: Vec<u8> = guard(|| bridge::counts(&self.0))?
            .iter()
            .flat_map(|c| c.to_le_bytes())
            .collect();
        Ok(PyBytes::new(py, &b))
    }

    #[getter]
    fn floor(&self) -> f64 {
        bridge::floor(&self.0)
    }

    #[getter]
    fn chars(&self) -> u64 {
        bridge::chars(&self.0)
    }

    #[getter]
    fn documents(&self) -> u64 {
        bridge::documents(&self.0)
    }

    #[getter]
    fn source(&self) -> String {
        bridge::source_name(&self.0)
    }
}

#[pyfunction]
#[pyo3(signature = (text=None, path=None, counts=None))]
fn corpus(
    py: Python<'_>,
    text: Option<String>,
    path: Option<PathBuf>,
    counts: Option<PathBuf>,
) -> PyResult<Corpus> {
    detached(py, || {
        bridge::corpus(text.as_deref(), path.as_deref(), counts.as_deref())
    })
    .map(Corpus)
}

type Flags = Vec<(String, String)>;

fn settings(flags: &Flags) -> PyResult<bridge::Settings> {
    let f: Vec<(&str, String)> = flags.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    guard(|| bridge::settings(&f))
}

/// Checks the settings alone, before any counting or training.
#[pyfunction]
fn check(flags: Flags) -> PyResult<()> {
    settings(&flags).map(drop)
}

fn f32_bytes<'py>(py: Python<'py>, x: &[f32]) -> Bound<'py, PyBytes> {
    let b: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    PyBytes::new(py, &b)
}

fn f64_bytes<'py>(py: Python<'py>, x: &[f64]) -> Bound<'py, PyBytes> {
    let b: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    PyBytes::new(py, &b)
}

fn f32_vec(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn weights_dict<'py>(py: Python<'py>, w: &bridge::Weights) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("vocab", bridge::weights_vocab(w).iter().collect::<String>())?;
    d.set_item("d_model", bridge::weights_d_model(w))?;
    d.set_item("W_E", f32_bytes(py, bridge::w_e(w)))?;
    d.set_item("W_U", f32_bytes(py, bridge::w_u(w)))?;
    Ok(d)
}

/// `zl train` on `corpus` with `flags`, without the GIL: the calling thread waits, checks for
/// Ctrl-C (a `KeyboardInterrupt` stops the run at the end of its segment) and calls
/// `progress(epochs_done)` every [`POLL`] while it runs.
#[pyfunction]
#[pyo3(signature = (corpus, flags, progress=None))]
fn train<'py>(
    py: Python<'py>,
    corpus: &Corpus,
    flags: Flags,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let s = settings(&flags)?;
    let done = AtomicU32::new(0);
    let stop = AtomicBool::new(false);
    let finished = (Mutex::new(false), Condvar::new());
    let mut interrupt: Option<PyErr> = None;
    let run = std::thread::scope(|scope| -> PyResult<_> {
        let worker = scope.spawn(|| {
            let r = guard(|| {
                bridge::train(&corpus.0, &s, &|e| {
                    done.store(e, Ordering::Relaxed);
                    !stop.load(Ordering::Relaxed)
                })
            });
            *finished.0.lock().unwrap() = true;
            finished.1.notify_all();
            r
        });
        loop {
            let over = py.detach(|| {
                let g = finished.0.lock().unwrap();
                *finished.1.wait_timeout_while(g, POLL, |f| !*f).unwrap().0
            });
            if over {
                break;
            }
            if interrupt.is_none() {
                let callback = match &progress {
                    Some(p) => p.call1(py, (done.load(Ordering::Relaxed),)).map(drop),
                    None => Ok(()),
                };
                if let Err(e) = py.check_signals().and(callback) {
                    stop.store(true, Ordering::Relaxed);
                    interrupt = Some(e);
                }
            }
        }
        worker.join().expect("guard catches the worker's panics")
    });
    if let Some(e) = interrupt {
        return Err(e);
    }
    let run = run?;
    let d = weights_dict(py, &run.weights)?;
    d.set_item("losses", f32_bytes(py, &run.losses))?;
    d.set_item("final_loss", run.final_loss)?;
    d.set_item("seconds", run.seconds)?;
    d.set_item("checksum", run.checksum)?;
    d.set_item("backend", run.backend)?;
    d.set_item("held_out", run.held_out)?;
    Ok(d)
}

fn weights(vocab: &str, d_model: usize, w_e: &[u8], w_u: &[u8]) -> PyResult<bridge::Weights> {
    guard(|| bridge::weights(vocab.chars().collect(), d_model, f32_vec(w_e), f32_vec(w_u)))
}

/// Checks weights from arrays as `--load` checks a file, and returns them as zl holds them.
#[pyfunction]
fn check_weights<'py>(
    py: Python<'py>,
    vocab: &str,
    d_model: usize,
    w_e: &[u8],
    w_u: &[u8],
) -> PyResult<Bound<'py, PyDict>> {
    weights_dict(py, &weights(vocab, d_model, w_e, w_u)?)
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn save(
    py: Python<'_>,
    vocab: &str,
    d_model: usize,
    w_e: &[u8],
    w_u: &[u8],
    path: PathBuf,
    meta: Vec<(String, String)>,
) -> PyResult<()> {
    let w = weights(vocab, d_model, w_e, w_u)?;
    detached(py, || bridge::save(&w, &path, &meta))
}

/// `--load PATH`, beside `corpus` (the seed text when `None`).
#[pyfunction]
#[pyo3(signature = (path, corpus=None))]
fn load<'py>(
    py: Python<'py>,
    path: PathBuf,
    corpus: Option<&Corpus>,
) -> PyResult<Bound<'py, PyDict>> {
    let seed;
    let (c, given) = match corpus {
        Some(c) => (&c.0, true),
        None => {
            seed = guard(|| bridge::corpus(None, None, None))?;
            (&seed, false)
        }
    };
    let (w, note, meta) = detached(py, || bridge::load(&path, c, given))?;
    let d = weights_dict(py, &w)?;
    d.set_item("note", note)?;
    d.set_item("meta", meta)?;
    Ok(d)
}

/// `zl interpret --json` and `zl report` for a model trained with `flags` (`load` = None) or
/// for the weights in the file `load`, on the corpus or count file given.
#[pyfunction]
#[pyo3(signature = (flags, load=None, corpus=None, counts=None))]
fn interpret(
    py: Python<'_>,
    flags: Flags,
    load: Option<PathBuf>,
    corpus: Option<PathBuf>,
    counts: Option<PathBuf>,
) -> PyResult<(String, String)> {
    let s = settings(&flags)?;
    detached(py, || {
        let m = match &load {
            Some(p) => bridge::Model::Loaded(p),
            None => bridge::Model::Trained(&s),
        };
        bridge::interpret(&s, m, corpus.as_deref(), counts.as_deref())
    })
}

/// `zl sample --json` for these weights beside `corpus`, with `zl sample`'s `flags`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn sample(
    vocab: &str,
    d_model: usize,
    w_e: &[u8],
    w_u: &[u8],
    corpus: &Corpus,
    what: &str,
    flags: Flags,
) -> PyResult<String> {
    let w = weights(vocab, d_model, w_e, w_u)?;
    let f: Vec<(&str, String)> = flags.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    guard(|| bridge::sample(&w, &corpus.0, what, &bridge::sampling(&f)?))
}

#[pyfunction]
fn run<'py>(
    py: Python<'py>,
    vocab: &str,
    d_model: usize,
    w_e: &[u8],
    w_u: &[u8],
    text: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let w = weights(vocab, d_model, w_e, w_u)?;
    let p = guard(|| bridge::run(&w, text))?;
    let d = PyDict::new(py);
    d.set_item("tokens", p.tokens)?;
    d.set_item("hook_embed", f32_bytes(py, &p.hook_embed))?;
    d.set_item("logits", f32_bytes(py, &p.logits))?;
    d.set_item("log_q", f64_bytes(py, &p.log_q))?;
    d.set_item("loss", p.loss)?;
    Ok(d)
}

/// `zl sweep --json` (a fixed budget) over the widths `sizes`, each checked as `zl train`'s
/// `--d-model`.
#[pyfunction]
fn sweep(py: Python<'_>, corpus: &Corpus, sizes: Vec<usize>, flags: Flags) -> PyResult<String> {
    let mut s = settings(&flags)?;
    for d in &sizes {
        let mut f = flags.clone();
        f.push(("d_model".into(), d.to_string()));
        s = settings(&f)?;
    }
    detached(py, || bridge::sweep(&corpus.0, &sizes, &s))
}

/// The keyword arguments' defaults, from zl's own flags (`bridge::defaults`).
#[pyfunction]
fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let (t, sweep, s) = bridge::defaults();
    let d = PyDict::new(py);
    let backend = clap::ValueEnum::to_possible_value(&t.backend).expect("every backend is named");
    d.set_item("backend", backend.get_name())?;
    d.set_item("d_model", t.d_model)?;
    d.set_item("epochs", t.config.epochs)?;
    d.set_item("lr", t.config.adamw.lr)?;
    d.set_item("weight_decay", t.config.adamw.weight_decay)?;
    d.set_item("seed", t.config.seed)?;
    d.set_item("sweep_d_model", sweep)?;
    d.set_item("chars", s.chars)?;
    d.set_item("temperature", s.temperature)?;
    d.set_item("sample_seed", s.sample_seed)?;
    Ok(d)
}

#[pymodule]
fn _zl(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Corpus>()?;
    m.add_function(wrap_pyfunction!(corpus, m)?)?;
    m.add_function(wrap_pyfunction!(defaults, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(check_weights, m)?)?;
    m.add_function(wrap_pyfunction!(save, m)?)?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(interpret, m)?)?;
    m.add_function(wrap_pyfunction!(sample, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    Ok(())
}

//! The backends: one training interface that every command and every cross-backend test uses.
//!
//! A backend is chosen once, by name ([`Choice`], the `--backend` flag), and opened into a
//! [`Backend`], which says which one actually runs ([`Backend::name`]). It trains a batch of one
//! or more models for some epochs from given states ([`Backend::train_states`], generic over
//! the core's capacities), or, for the commands, from `init_torch` seeds on a corpus
//! ([`Backend::train`], which meets the capacities in [`capacity::dispatch`]). Every backend
//! applies one divergence rule, zl-core's `Trainer::run`'s ([`Diverged`]). Where to add a
//! backend: docs/ARCHITECTURE.md.

pub mod capacity;
mod cpu;
mod cuda;

use std::{fmt, ops::ControlFlow};

use anyhow::{Context, Result};
use zl_core::{Bigrams, Model, TrainConfig, Trainer};
use zl_lanes::Isa;

use crate::data::{corpus::Corpus, files::Weights};

/// The backends by name, as `--backend` takes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Choice {
    // Plain comments, so that help lists the names on one line.
    // The fastest instruction set this CPU has (cpu-avx512, cpu-avx2, cpu-neon or cpu-simd128
    // where it has them, else cpu-portable).
    #[default]
    Cpu,
    // The target's baseline (zl-lanes): SSE2 on x86-64, elsewhere zl-core's own loop.
    CpuPortable,
    // The AVX2 loop (zl-lanes, 8 lanes); refused where the CPU lacks AVX2.
    CpuAvx2,
    // The NEON loop (zl-lanes, 4 lanes); in aarch64 builds only.
    CpuNeon,
    // The WebAssembly SIMD128 loop (zl-lanes, 4 lanes); in wasm32 +simd128 builds only.
    CpuSimd128,
    // The AVX-512F loop (zl-lanes, 16 lanes); refused where the CPU lacks AVX-512F.
    CpuAvx512,
    // The hand-written PTX kernel on an NVIDIA GPU (zl-cuda). With ZL_CUDA_SIMULATOR=1 it
    // means ptxsim.
    Cuda,
    // The same kernel and host code in the PTX interpreter (kernels/sim/ptxsim.py; needs
    // python3; about half a second an epoch).
    Ptxsim,
}

/// Set to 1, `--backend cuda` means `--backend ptxsim` (kept from before that name existed).
pub const SIMULATOR_ENV: &str = "ZL_CUDA_SIMULATOR";

/// An opened backend.
pub enum Backend {
    /// zl-core's training loop on this CPU, in one instruction set, models in parallel across
    /// cores.
    Cpu(Isa),
    /// zl-cuda's kernel on a GPU or in the PTX interpreter, many models in one launch.
    Cuda(zl_cuda::Device),
}

/// A model of a batch whose loss stopped being finite, by zl-core's rule ([`zl_core::Diverged`]),
/// with what the error line names: which model, the last finite loss and the learning rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Diverged {
    /// Which model of the batch (its index).
    pub model: usize,
    /// The epoch and its loss, as zl-core's rule found them.
    pub at: zl_core::Diverged,
    /// The loss of the epoch before, the last finite one, if there was one.
    pub previous: Option<f32>,
    /// The model's learning rate.
    pub lr: f64,
}

impl fmt::Display for Diverged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = match self.previous {
            Some(l) => format!(
                "the last finite loss was {} at epoch {}",
                l as f64,
                self.at.epoch - 1
            ),
            None => "no epoch had a finite loss".to_string(),
        };
        write!(
            f,
            "training diverged at epoch {}: the loss became {} ({last}); nothing was saved; try a smaller --lr than {:?}",
            self.at.epoch, self.at.loss, self.lr
        )
    }
}

impl std::error::Error for Diverged {}

/// One model's run on any backend, in the core's types.
#[derive(Clone, Debug)]
pub struct Run<const V: usize, const D: usize> {
    /// The final weights, AdamW moments and step count.
    pub trainer: Trainer<V, D>,
    /// The loss of each epoch before its update (the notebook's `train_losses`); empty when
    /// the batch was trained without recording them.
    pub losses: Vec<f32>,
    /// The loss after the last update.
    pub final_loss: f32,
    /// Seconds of training: the loop alone on the CPU, the launch alone on a GPU (which every
    /// model of one launch shares).
    pub seconds: f64,
}

/// What [`Backend::train_segments`] calls after each segment of each job: `(job, state so far)`
/// to `Continue` or `Break` (that job stops there), or an error, which ends the whole run.
pub type After<'a> = dyn Fn(usize, &Trained) -> Result<ControlFlow<()>> + Sync + 'a;

/// A model for [`Backend::train`]: its width and its settings (seed, epochs, AdamW).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Job {
    /// Width of the residual stream.
    pub d_model: usize,
    /// `init_torch(config.seed)`, then `config.epochs` AdamW steps.
    #[serde(flatten)]
    pub config: TrainConfig,
}

/// One model trained by [`Backend::train`]: a [`Run`] out of the core's generic types.
#[derive(Clone, Debug)]
pub struct Trained {
    /// What was asked.
    pub job: Job,
    /// The final weights, row-major, with the corpus's vocabulary.
    pub weights: Weights,
    /// As [`Run::losses`].
    pub losses: Vec<f32>,
    /// As [`Run::final_loss`].
    pub final_loss: f32,
    /// As [`Run::seconds`].
    pub seconds: f64,
    /// The cross-target checksum line (zl_core::checksum).
    pub checksum: String,
}

impl Backend {
    /// Opens the backend `choice` names, or says in one line why it cannot run here.
    pub fn open(choice: Choice) -> Result<Backend> {
        let cpu = |name: &str| {
            Isa::by_name(name).map(Backend::Cpu).map_err(|e| {
                anyhow::anyhow!(
                    "--backend cpu-{}: {}; use --backend cpu (the fastest this CPU has) or cpu-portable",
                    name,
                    e.why
                )
            })
        };
        match choice {
            Choice::Cpu => Ok(Backend::Cpu(Isa::best())),
            Choice::CpuPortable => cpu("portable"),
            Choice::CpuAvx2 => cpu("avx2"),
            Choice::CpuNeon => cpu("neon"),
            Choice::CpuSimd128 => cpu("simd128"),
            Choice::CpuAvx512 => cpu("avx512"),
            Choice::Cuda if simulator_alias()? => cuda::open_simulator(),
            Choice::Cuda => cuda::open_gpu(),
            Choice::Ptxsim => cuda::open_simulator(),
        }
    }

    /// The backend that actually runs: `cpu-` and an instruction set (`cpu-avx512`,
    /// `cpu-portable`, …), `cuda` or `ptxsim`.
    pub fn name(&self) -> String {
        match self {
            Backend::Cpu(isa) => format!("cpu-{isa}"),
            Backend::Cuda(dev) => cuda::name(dev).into(),
        }
    }

    /// Whether this backend interprets the kernel rather than running it on a device (ptxsim:
    /// correct but about half a second an epoch, so the commands skip optional retraining).
    pub fn is_simulator(&self) -> bool {
        matches!(self, Backend::Cuda(dev) if dev.is_simulated())
    }

    /// Whether a model of `vocab_len` tokens × `d_model` fits (this machine's memory, and a GPU
    /// block's shared memory).
    pub fn check_size(&self, vocab_len: usize, d_model: usize) -> Result<()> {
        crate::data::memory::check_training(vocab_len, d_model)?;
        match self {
            Backend::Cpu(_) => Ok(()),
            Backend::Cuda(dev) => cuda::check_size(dev, vocab_len, d_model),
        }
    }

    /// Trains every model for `epochs` epochs from its state (weights, moments, step count,
    /// AdamW settings), all on `b`, and returns each one's run in order. With `record` false the
    /// runs' `losses` are empty. The first model that diverges, in order, is the error
    /// ([`Diverged`], or a failure of the backend itself).
    pub fn train_states<const V: usize, const D: usize>(
        &self,
        b: &Bigrams<V>,
        trainers: Vec<Trainer<V, D>>,
        epochs: u32,
        record: bool,
    ) -> Result<Vec<Run<V, D>>> {
        match self {
            Backend::Cpu(isa) => cpu::train_states(*isa, b, trainers, epochs, record),
            Backend::Cuda(dev) => cuda::train_states(dev, b, trainers, epochs, record),
        }
    }

    /// Trains one model per job from `init_torch` on the corpus's counts, on this backend: the
    /// commands' entry. Jobs of one width and epoch count train as one batch (one launch on a
    /// GPU, in parallel on the CPU); each width is a batch of its own. A diverged model's error
    /// names its seed and width where the batch has several.
    pub fn train(&self, corpus: &Corpus, jobs: &[Job], record: bool) -> Result<Vec<Trained>> {
        let groups = jobs.iter().map(|j| (j.d_model, j.config.epochs)).collect();
        let go_on = |_: usize, _: &Trained| Ok(ControlFlow::Continue(()));
        self.train_groups(corpus, jobs, groups, record, &go_on, |g| vec![g.1])
    }

    /// Trains one model per job from `init_torch` in segments: each job runs to the epoch counts
    /// `ends` (ascending; each job's `config.epochs` is ignored), and after each segment
    /// `after(job, trained)` sees its state so far (`trained.job.config.epochs` is the epochs
    /// done); a job whose `after` breaks stops there, and an error from it is the run's.
    /// Returns each job's last state.
    /// Jobs of one width train as one batch per segment, as in [`Backend::train`].
    pub fn train_segments(
        &self,
        corpus: &Corpus,
        jobs: &[Job],
        ends: &[u32],
        record: bool,
        after: &After<'_>,
    ) -> Result<Vec<Trained>> {
        let groups = jobs.iter().map(|j| (j.d_model, 0)).collect();
        self.train_groups(corpus, jobs, groups, record, after, |_| ends.to_vec())
    }

    /// [`Backend::train`] and [`Backend::train_segments`]: the jobs grouped by `groups[n]`
    /// (a width and a key), each group trained through its segment ends.
    fn train_groups(
        &self,
        corpus: &Corpus,
        jobs: &[Job],
        of_job: Vec<(usize, u32)>,
        record: bool,
        after: &After<'_>,
        ends: impl Fn((usize, u32)) -> Vec<u32> + Sync,
    ) -> Result<Vec<Trained>> {
        let mut groups = of_job.clone();
        groups.sort_unstable();
        groups.dedup();
        let train_group = |&g: &(usize, u32)| -> Result<Vec<(usize, Trained)>> {
            let index: Vec<usize> = (0..jobs.len()).filter(|&n| of_job[n] == g).collect();
            self.check_size(corpus.vocab.len(), g.0)?;
            let batch = Batch {
                backend: self,
                corpus,
                jobs,
                index: &index,
                ends: &ends(g),
                record,
                after,
            };
            let (v, d) = (corpus.vocab.len(), g.0);
            let trained = if v > capacity::MAX_VOCAB || d > capacity::MAX_D_MODEL {
                batch.beyond_the_tiers()
            } else {
                capacity::dispatch(v, d, batch)
            }
            .map_err(|e| name_model(e, jobs, &index))?;
            Ok(index.into_iter().zip(trained).collect())
        };
        // On the CPU the widths train side by side too (each its own capacity), each from a
        // thread of its own rather than a rayon worker: capacity::dispatch blocks its caller
        // until the width's models, trained on rayon's pool, are done, and a worker that blocks
        // so takes itself from that pool (with as many widths as workers, nothing would run). A
        // GPU takes one launch after another. Either way the first failing width, in order, is
        // reported.
        let results: Vec<Result<Vec<(usize, Trained)>>> = match self {
            Backend::Cpu(_) if groups.len() > 1 => std::thread::scope(|s| {
                let handles: Vec<_> = groups
                    .iter()
                    .map(|g| s.spawn(move || train_group(g)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            }),
            _ => groups.iter().map(train_group).collect(),
        };
        let mut out: Vec<Option<Trained>> = vec![None; jobs.len()];
        for group in results {
            for (n, t) in group? {
                out[n] = Some(t);
            }
        }
        Ok(out
            .into_iter()
            .map(|t| t.expect("every job trained"))
            .collect())
    }
}

/// Whether `ZL_CUDA_SIMULATOR=1` turns `--backend cuda` into ptxsim.
fn simulator_alias() -> Result<bool> {
    match std::env::var(SIMULATOR_ENV).as_deref() {
        Ok("1") => Ok(true),
        Ok("0") | Err(std::env::VarError::NotPresent) => Ok(false),
        Ok(other) => anyhow::bail!(
            "{SIMULATOR_ENV}={other}: set it to 1 (the PTX interpreter, as --backend ptxsim) or 0"
        ),
        Err(e) => anyhow::bail!("{SIMULATOR_ENV}: {e}; set it to 1 or 0"),
    }
}

/// Names the seed (and the width, where widths differ) of a diverged model of `jobs`.
fn name_model(e: anyhow::Error, jobs: &[Job], index: &[usize]) -> anyhow::Error {
    let Some(d) = e.downcast_ref::<Diverged>() else {
        return e;
    };
    let job = jobs[index[d.model]];
    let seeds_differ = jobs.iter().any(|j| j.config.seed != job.config.seed);
    let widths_differ = jobs.iter().any(|j| j.d_model != job.d_model);
    match (seeds_differ, widths_differ) {
        (false, false) => e,
        (true, false) => e.context(format!("seed {}", job.config.seed)),
        (false, true) => e.context(format!("d_model {}", job.d_model)),
        (true, true) => e.context(format!("seed {}, d_model {}", job.config.seed, job.d_model)),
    }
}

/// One width's jobs (`jobs[index[..]]`), at the capacity that fits them, trained through the
/// segment ends.
struct Batch<'a> {
    backend: &'a Backend,
    corpus: &'a Corpus,
    jobs: &'a [Job],
    index: &'a [usize],
    ends: &'a [u32],
    record: bool,
    after: &'a After<'a>,
}

/// One model's segment, whatever trained it: its losses, the end, the seconds and the weights.
struct Segment {
    losses: Vec<f32>,
    final_loss: f32,
    seconds: f64,
    weights: Weights,
}

impl Batch<'_> {
    /// The segment loop: `train(active, epochs)` trains the models `active` (indices into the
    /// batch) for `epochs` more epochs from where they are and returns their segments in order;
    /// after each segment `after` sees each model's state so far, and those it stops drop out.
    fn segments(
        self,
        mut train: impl FnMut(&[usize], u32) -> Result<Vec<Segment>>,
    ) -> Result<Vec<Trained>> {
        anyhow::ensure!(
            !self.ends.is_empty() && self.ends.windows(2).all(|w| w[0] < w[1]),
            "the segments must end at ascending epoch counts"
        );
        let mut last: Vec<Option<Trained>> = vec![None; self.index.len()];
        let mut active: Vec<usize> = (0..self.index.len()).collect();
        let mut done = 0u32;
        for &end in self.ends {
            if active.is_empty() {
                break;
            }
            let epochs = end.saturating_sub(done);
            let runs = train(&active, epochs).map_err(|e| match e.downcast::<Diverged>() {
                // The model's index within the group, and the epoch within the whole run.
                Ok(d) => Diverged {
                    model: active[d.model],
                    at: zl_core::Diverged {
                        epoch: d.at.epoch + done,
                        ..d.at
                    },
                    ..d
                }
                .into(),
                Err(e) => e,
            })?;
            done = end;
            let mut still = vec![];
            for (&k, run) in active.iter().zip(runs) {
                let mut checksum = String::new();
                let w = &run.weights;
                zl_core::big::write_checksum_line(
                    &mut checksum,
                    done,
                    run.final_loss,
                    &w.w_e,
                    &w.w_u,
                )?;
                let job = self.jobs[self.index[k]];
                let seconds = last[k].as_ref().map_or(0.0, |t| t.seconds) + run.seconds;
                let mut losses = last[k].take().map(|t| t.losses).unwrap_or_default();
                losses.extend(run.losses);
                let t = Trained {
                    job: Job {
                        config: zl_core::TrainConfig {
                            epochs: done,
                            ..job.config
                        },
                        ..job
                    },
                    weights: run.weights,
                    losses,
                    final_loss: run.final_loss,
                    seconds,
                    checksum,
                };
                if (self.after)(self.index[k], &t)?.is_continue() {
                    still.push(k);
                }
                last[k] = Some(t);
            }
            active = still;
        }
        Ok(last
            .into_iter()
            .map(|t| t.expect("every model ran at least one segment"))
            .collect())
    }

    /// The batch beyond the capacity tiers: zl-core's tiled trainer at run-time size
    /// (`zl_core::big`) over the counts that occur, on the CPU (zl-lanes' `Big`, every core) or
    /// the GPU (kernels/big.ptx), one model after another.
    fn beyond_the_tiers(self) -> Result<Vec<Trained>> {
        let c = self.corpus;
        let b = c.csr();
        let mut models: Vec<zl_lanes::BigModel> = self
            .index
            .iter()
            .map(|&n| {
                let j = &self.jobs[n];
                zl_lanes::BigModel::init_torch(
                    j.config.seed,
                    c.vocab.len(),
                    j.d_model,
                    j.config.adamw,
                )
            })
            .collect();
        let (backend, record) = (self.backend, self.record);
        self.segments(|active, epochs| {
            let mut out = Vec::with_capacity(active.len());
            for (n, &k) in active.iter().enumerate() {
                let m = &mut models[k];
                let (losses, final_loss, seconds) = match backend {
                    Backend::Cpu(isa) => cpu::train_big(*isa, &b, m, epochs, record),
                    Backend::Cuda(dev) => cuda::train_big(dev, &b, m, epochs, record),
                }
                .map_err(|e| match e.downcast::<Diverged>() {
                    Ok(d) => Diverged { model: n, ..d }.into(),
                    Err(e) => e,
                })?;
                out.push(Segment {
                    losses,
                    final_loss,
                    seconds,
                    weights: Weights {
                        vocab: c.vocab.clone(),
                        d_model: m.d_model,
                        w_e: m.w_e.clone(),
                        w_u: m.w_u.clone(),
                    },
                });
            }
            Ok(out)
        })
    }
}

impl capacity::AtCapacity for Batch<'_> {
    type Output = Result<Vec<Trained>>;

    fn at<const V: usize, const D: usize>(self) -> Self::Output {
        let c = self.corpus;
        let b = Bigrams::<V>::from_count_table(c.vocab.len(), &c.dense_counts()?)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        // Per model of the group: its trainer.
        let mut trainers = Vec::with_capacity(self.index.len());
        for &n in self.index {
            let j = &self.jobs[n];
            let m = Model::<V, D>::init_torch(j.config.seed, c.vocab.len(), j.d_model)
                .context("the initial weights")?;
            trainers.push(Trainer::new(m, j.config.adamw));
        }
        let (backend, record) = (self.backend, self.record);
        self.segments(|active, epochs| {
            let states = active.iter().map(|&k| trainers[k].clone()).collect();
            let runs = backend.train_states(&b, states, epochs, record)?;
            Ok(active
                .iter()
                .zip(runs)
                .map(|(&k, run)| {
                    let weights = Weights::of(&run.trainer.model, &c.vocab);
                    trainers[k] = run.trainer;
                    Segment {
                        losses: run.losses,
                        final_loss: run.final_loss,
                        seconds: run.seconds,
                        weights,
                    }
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::corpus::Source;

    /// A corpus of `v` tokens (characters from U+0100 on) with random counts, some rows empty.
    fn corpus(v: usize) -> Corpus {
        let mut g = zl_core::rng::TorchGenerator::new(v as u64);
        let counts: Vec<u64> = (0..v * v)
            .map(|n| {
                if n / v % 7 == 3 {
                    0
                } else {
                    (g.next_u32() % 13).saturating_sub(10) as u64
                }
            })
            .collect();
        let vocab: Vec<char> = (0..v as u32)
            .map(|n| char::from_u32(0x100 + n).unwrap())
            .collect();
        Corpus {
            source: Source::Seed,
            first: 0,
            last: v - 1,
            vocab: crate::data::vocab::Vocab::chars(&vocab),
            chars: counts.iter().sum::<u64>() + 1,
            documents: 1,
            pairs: crate::data::pairs::Pairs::from_dense(v, &counts),
            count_seconds: None,
        }
    }

    /// Beyond the tiers (V = 300, or d_model 80), every instruction set trains zl-core's
    /// reference run, in one go and in segments: the same losses and checksum line.
    #[test]
    fn beyond_the_tiers_every_cpu_path_trains_the_reference() {
        for (v, d) in [(300, 12), (40, 80)] {
            beyond_the_tiers(v, d);
        }
    }

    fn beyond_the_tiers(v: usize, d: usize) {
        let epochs = 4;
        let c = corpus(v);
        let config = TrainConfig {
            seed: 3,
            epochs,
            adamw: zl_core::AdamWConfig {
                lr: 1e-2,
                ..Default::default()
            },
        };
        let b = c.csr();
        let mut m = zl_lanes::BigModel::init_torch(3, v, d, config.adamw);
        let mut buf = vec![0.0; zl_core::big::Scratch::len(v, d, 16)];
        let mut scratch = zl_core::big::Scratch::new(&mut buf, v, d, 16).unwrap();
        let mut want_losses = vec![];
        let end = zl_core::big::run(&mut m.state(), &b, &mut scratch, epochs, |_, l| {
            want_losses.push(l)
        })
        .unwrap();
        let mut want = String::new();
        zl_core::big::write_checksum_line(&mut want, epochs, end, &m.w_e, &m.w_u).unwrap();
        let jobs = [Job { d_model: d, config }];
        for isa in Isa::available() {
            let backend = Backend::Cpu(isa);
            let t = backend.train(&c, &jobs, true).unwrap();
            assert_eq!(t[0].checksum, want, "{isa}");
            assert_eq!(t[0].losses, want_losses, "{isa}");
            assert_eq!(
                (t[0].weights.w_e.clone(), t[0].weights.w_u.clone()),
                (m.w_e.clone(), m.w_u.clone())
            );
            let go_on = |_: usize, _: &Trained| Ok(ControlFlow::Continue(()));
            let s = backend
                .train_segments(&c, &jobs, &[1, 3, epochs], true, &go_on)
                .unwrap();
            assert_eq!(s[0].checksum, want, "{isa} in segments");
            assert_eq!(s[0].losses, want_losses, "{isa} in segments");
        }
    }

    /// A diverging rate beyond the tiers is the same error as within them.
    #[test]
    fn beyond_the_tiers_divergence_is_reported() {
        let c = corpus(260);
        let config = TrainConfig {
            seed: 0,
            epochs: 30,
            adamw: zl_core::AdamWConfig {
                lr: 1e30,
                ..Default::default()
            },
        };
        let e = Backend::Cpu(Isa::best())
            .train(&c, &[Job { d_model: 4, config }], false)
            .unwrap_err();
        let d = e.downcast_ref::<Diverged>().expect("a divergence");
        assert_eq!(d.model, 0);
        assert!(d.at.epoch < 30 && !d.at.loss.is_finite(), "{d:?}");
    }
}

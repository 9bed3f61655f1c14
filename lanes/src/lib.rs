//! zl-lanes: zl-core's training loop on this CPU's vector units, with zl-core's exact bits.
//!
//! zl-core (`core/`) is the reference: portable, safe, `no_std`, and what every target runs
//! when nothing faster is known. The fast versions of the same [`Trainer::step`] and
//! [`Trainer::run`] live here, and each must match the core bit for bit (the tests below, and
//! every cross-backend property in `tests/backends/main.rs`): the same f32 operations in the same
//! order, no FMA, no reordered sum.
//!
//! The loop is written once, over a register of lanes (`wide.rs`), and instantiated per
//! instruction set; each instruction set is a few lines there (its register type and eight
//! intrinsics) and one `instance!`. An [`Isa`] names one of the instances and can only be had
//! where the CPU runs it, so that calling it is safe. Adding an instruction set is a `lanes!`
//! and an `instance!` in `wide.rs` and one [`Kind`] variant with its arms below.
//!
//! [`Big`] is zl-core's large-V trainer (`zl_core::big`: any vocabulary, sparse counts, tiles
//! of rows) on the same lanes and on threads, with its bits (`big.rs`).
//!
//! | name | lanes | chosen |
//! |---|---|---|
//! | `portable` | x86-64: 4 (SSE2, the baseline of every x86-64 CPU); elsewhere zl-core's own loop as the target's baseline compiles it | always available |
//! | `neon` | 4 | by compile target: every aarch64 build |
//! | `simd128` | 4 | by compile target: wasm32 built with `-C target-feature=+simd128` |
//! | `avx2` | 8 | at run time, on x86-64 CPUs with AVX2 |
//! | `avx512` | 16 | at run time, on x86-64 CPUs with AVX-512F |

use core::fmt;

use zl_core::{Bigrams, Diverged, Trainer};

// Where no instruction set has an instance (wasm32 without +simd128, RISC-V, …), only the
// portable arm (zl-core) remains and the generic loop is unused.
#[cfg_attr(
    not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )),
    allow(dead_code, unused_macros)
)]
mod wide;

// The large-V trainer, for the targets with an instance of the lanes.
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
mod big;
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
pub use big::{Big, Model as BigModel};

/// The instruction sets, fastest last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Portable,
    #[cfg(target_arch = "aarch64")]
    Neon,
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    Simd128,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// The instruction sets of the compile target: NEON in every aarch64 build, SIMD128 in wasm32
/// builds with `+simd128`.
#[cfg(target_arch = "aarch64")]
const NEON: Option<Kind> = Some(Kind::Neon);
#[cfg(not(target_arch = "aarch64"))]
const NEON: Option<Kind> = None;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const SIMD128: Option<Kind> = Some(Kind::Simd128);
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
const SIMD128: Option<Kind> = None;

/// The x86-64 instruction set called `name`, where this CPU has it.
#[cfg(target_arch = "x86_64")]
fn x86_detected(name: &str) -> Option<Kind> {
    match name {
        "avx2" if std::is_x86_feature_detected!("avx2") => Some(Kind::Avx2),
        "avx512" if std::is_x86_feature_detected!("avx512f") => Some(Kind::Avx512),
        _ => None,
    }
}

/// An instruction set this CPU runs, for the training loop. Only [`Isa::portable`],
/// [`Isa::by_name`] and [`Isa::best`] make one, each after checking the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Isa(Kind);

/// Every instruction-set name, in the order [`Isa::available`] lists them.
pub const NAMES: &[&str] = &["portable", "neon", "simd128", "avx2", "avx512"];

/// An instruction set this CPU (or this build's target) cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// The name asked for.
    pub name: String,
    /// Why it cannot run here.
    pub why: &'static str,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.why)
    }
}

impl std::error::Error for Unsupported {}

impl Isa {
    /// The target's baseline, which runs on every CPU of it: on x86-64 the lanes loop in SSE2,
    /// elsewhere zl-core's own loop (on aarch64 and wasm32 +simd128 the baseline is `neon` or
    /// `simd128`).
    pub const fn portable() -> Isa {
        Isa(Kind::Portable)
    }

    /// The instruction set called `name` (one of [`NAMES`]), if this CPU runs it.
    pub fn by_name(name: &str) -> Result<Isa, Unsupported> {
        let no = |why| {
            Err(Unsupported {
                name: name.to_string(),
                why,
            })
        };
        match name {
            "portable" => Ok(Isa::portable()),
            "neon" => match NEON {
                Some(k) => Ok(Isa(k)),
                None => no("NEON runs in aarch64 builds only (this build is for another CPU)"),
            },
            "simd128" => match SIMD128 {
                Some(k) => Ok(Isa(k)),
                None => no(
                    "WebAssembly SIMD128 runs in wasm32 builds with -C target-feature=+simd128 only",
                ),
            },
            "avx2" | "avx512" => {
                #[cfg(target_arch = "x86_64")]
                if let Some(k) = x86_detected(name) {
                    return Ok(Isa(k));
                }
                no(match (name, cfg!(target_arch = "x86_64")) {
                    ("avx2", true) => "this CPU has no AVX2",
                    ("avx2", false) => "AVX2 exists only on x86-64 CPUs",
                    (_, true) => "this CPU has no AVX-512F",
                    (_, false) => "AVX-512 exists only on x86-64 CPUs",
                })
            }
            _ => no("no such instruction set"),
        }
    }

    /// Every instruction set this CPU runs, slowest first (portable first).
    pub fn available() -> Vec<Isa> {
        NAMES.iter().filter_map(|n| Isa::by_name(n).ok()).collect()
    }

    /// The fastest instruction set this CPU runs.
    pub fn best() -> Isa {
        *Isa::available()
            .last()
            .expect("portable is always available")
    }

    /// Its name: one of [`NAMES`].
    pub fn name(self) -> &'static str {
        match self.0 {
            Kind::Portable => "portable",
            #[cfg(target_arch = "aarch64")]
            Kind::Neon => "neon",
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Kind::Simd128 => "simd128",
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512 => "avx512",
        }
    }

    /// [`Trainer::step`]: one epoch (the loss before the update; no update after a non-finite
    /// loss).
    pub fn step<const V: usize, const D: usize>(
        self,
        t: &mut Trainer<V, D>,
        b: &Bigrams<V>,
    ) -> f32 {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Kind::Portable => wide::sse2::step(t, b),
            #[cfg(not(target_arch = "x86_64"))]
            Kind::Portable => t.step(b),
            #[cfg(target_arch = "aarch64")]
            Kind::Neon => wide::neon::step(t, b),
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Kind::Simd128 => wide::simd128::step(t, b),
            // SAFETY: an `Isa` of this kind exists only where the CPU has AVX2 (by_name).
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2 => unsafe { wide::avx2::step(t, b) },
            // SAFETY: an `Isa` of this kind exists only where the CPU has AVX-512F (by_name).
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512 => unsafe { wide::avx512::step(t, b) },
        }
    }

    /// [`Trainer::run`]: `epochs` epochs, `on_epoch(epoch, loss)` after each; [`Diverged`] at the
    /// first loss that is not finite, or at the end for a non-finite final loss or weight. Returns the loss after the last update.
    pub fn run<const V: usize, const D: usize>(
        self,
        t: &mut Trainer<V, D>,
        b: &Bigrams<V>,
        epochs: u32,
        on_epoch: impl FnMut(u32, f32),
    ) -> Result<f32, Diverged> {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Kind::Portable => wide::sse2::run(t, b, epochs, on_epoch),
            #[cfg(not(target_arch = "x86_64"))]
            Kind::Portable => t.run(b, epochs, on_epoch),
            #[cfg(target_arch = "aarch64")]
            Kind::Neon => wide::neon::run(t, b, epochs, on_epoch),
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Kind::Simd128 => wide::simd128::run(t, b, epochs, on_epoch),
            // SAFETY: as in `step`.
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2 => unsafe { wide::avx2::run(t, b, epochs, on_epoch) },
            // SAFETY: as in `step`.
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512 => unsafe { wide::avx512::run(t, b, epochs, on_epoch) },
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zl_core::{AdamWConfig, Model, SeedModel, Vocab, SEED_TEXT};

    fn bits<const V: usize, const D: usize>(t: &Trainer<V, D>) -> Vec<u32> {
        t.model
            .w_e
            .iter()
            .chain(t.model.w_u.iter())
            .chain(t.opt.m.w_e.iter())
            .chain(t.opt.m.w_u.iter())
            .chain(t.opt.v.w_e.iter())
            .chain(t.opt.v.w_u.iter())
            .map(|x| x.to_bits())
            .collect()
    }

    /// Runs `isa` and the core on the same trainer and checks every loss, the final loss, the
    /// weights, both moments and the last gradient bit for bit; then one `step` of each.
    fn check<const V: usize, const D: usize>(
        isa: Isa,
        b: &Bigrams<V>,
        start: Trainer<V, D>,
        epochs: u32,
        what: &str,
    ) {
        let (mut a, mut c) = (start.clone(), start);
        let (mut la, mut lc) = (Vec::new(), Vec::new());
        let ra = isa.run(&mut a, b, epochs, |_, l| la.push(l.to_bits()));
        let rc = c.run(b, epochs, |_, l| lc.push(l.to_bits()));
        assert_eq!(ra.map(f32::to_bits), rc.map(f32::to_bits), "{isa} {what}");
        assert_eq!(la, lc, "{isa} {what}: losses");
        assert!(bits(&a) == bits(&c), "{isa} {what}: weights or moments");
        assert_eq!(a.grads, c.grads, "{isa} {what}: last gradient");
        let (sa, sc) = (isa.step(&mut a, b), c.step(b));
        assert_eq!(sa.to_bits(), sc.to_bits(), "{isa} {what}: step");
        assert!(bits(&a) == bits(&c), "{isa} {what}: state after step");
    }

    /// Every instruction set this CPU runs against the core, bit for bit, for several seeds
    /// and hyperparameters (a large rate included, for peaked softmax rows).
    #[test]
    fn every_isa_matches_the_core_bit_for_bit() {
        let b = Bigrams::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
        for isa in Isa::available() {
            for (seed, lr, wd, epochs) in [
                (0u64, 1e-3, 0.01, 300u32),
                (3, 3e-3, 0.1, 300),
                (7, 1e-2, 0.0, 300),
                (42, 0.3, 0.01, 200),
            ] {
                let cfg = AdamWConfig {
                    lr,
                    weight_decay: wd,
                    ..AdamWConfig::default()
                };
                let t = Trainer::new(SeedModel::init_torch(seed, 30, 16).unwrap(), cfg);
                check(isa, &b, t, epochs, &format!("seed {seed}"));
            }
            eprintln!("compared the {isa} loop with the core's");
        }
    }

    /// A padded model (capacity 32×20, 30 tokens × 16 dims used) and one smaller than a
    /// register (7×3), against the core.
    #[test]
    fn every_isa_matches_the_core_for_other_sizes() {
        let vocab = Vocab::seed();
        let tokens: Vec<usize> = vocab.encode(SEED_TEXT).map(|t| t.unwrap()).collect();
        let b32 = Bigrams::<32>::from_tokens(30, tokens.iter().copied()).unwrap();
        let small: Vec<usize> = tokens.iter().map(|t| t % 7).collect();
        let b7 = Bigrams::<7>::from_tokens(7, small.iter().copied()).unwrap();
        let cfg = AdamWConfig {
            lr: 1e-2,
            ..AdamWConfig::default()
        };
        for isa in Isa::available() {
            let m32 = Model::<32, 20>::init_torch(5, 30, 16).unwrap();
            check(
                isa,
                &b32,
                Trainer::new(m32, AdamWConfig::default()),
                100,
                "32×20",
            );
            let m7 = Model::<7, 3>::init_torch(1, 7, 3).unwrap();
            check(isa, &b7, Trainer::new(m7, cfg), 100, "7×3");
        }
    }

    /// A run that diverges stops at the same epoch with the same loss on every instruction set.
    #[test]
    fn every_isa_diverges_as_the_core_does() {
        let b = Bigrams::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
        let cfg = AdamWConfig {
            lr: 1e30,
            ..AdamWConfig::default()
        };
        for isa in Isa::available() {
            let t = Trainer::new(SeedModel::init_torch(0, 30, 16).unwrap(), cfg);
            let (mut a, mut c) = (t.clone(), t);
            let ra = isa.run(&mut a, &b, 50, |_, _| {});
            let rc = c.run(&b, 50, |_, _| {});
            assert!(ra.is_err(), "{isa}: lr 1e30 must diverge");
            // The epoch, and the loss's bits, except that every NaN counts as one: IEEE 754
            // leaves a NaN result's sign and payload open, and x86's vector units make the
            // negative default NaN where the core's scalar code returns f32::NAN.
            let bits = |r: Result<f32, Diverged>| {
                r.map_err(|Diverged { epoch, loss: l }| {
                    (epoch, if l.is_nan() { u32::MAX } else { l.to_bits() })
                })
            };
            assert_eq!(bits(ra), bits(rc), "{isa}");
        }
    }

    #[test]
    fn names_resolve_or_say_why_not() {
        assert_eq!(Isa::by_name("portable"), Ok(Isa::portable()));
        assert_eq!(Isa::available()[0], Isa::portable());
        for isa in Isa::available() {
            assert_eq!(Isa::by_name(isa.name()), Ok(isa));
        }
        let e = Isa::by_name("avx3000").unwrap_err();
        assert_eq!(e.to_string(), "avx3000: no such instruction set");
        // Under CI on x86-64 the machine's AVX-512 must be found where /proc/cpuinfo has it.
        if let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") {
            let has = info.split_whitespace().any(|w| w == "avx512f");
            assert_eq!(
                Isa::by_name("avx512").is_ok(),
                has && cfg!(target_arch = "x86_64")
            );
            let has = info.split_whitespace().any(|w| w == "avx2");
            assert_eq!(
                Isa::by_name("avx2").is_ok(),
                has && cfg!(target_arch = "x86_64")
            );
        }
        // The instruction sets of the compile target are there exactly on it.
        assert_eq!(Isa::by_name("neon").is_ok(), cfg!(target_arch = "aarch64"));
        assert_eq!(
            Isa::by_name("simd128").is_ok(),
            cfg!(all(target_arch = "wasm32", target_feature = "simd128"))
        );
        if !cfg!(target_arch = "aarch64") {
            assert_eq!(
                Isa::by_name("neon").unwrap_err().to_string(),
                "neon: NEON runs in aarch64 builds only (this build is for another CPU)"
            );
        }
    }
}

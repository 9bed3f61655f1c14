//! The large-V trainer on every instruction set, thread count and tile size against zl-core's
//! reference (`zl_core::big`), bit for bit: losses, the end, weights, moments, step count and
//! gradient.

use zl_core::{
    big::{self, Pair, Scratch, State},
    rng::TorchGenerator,
    AdamWConfig, Csr, Diverged,
};
use zl_lanes::{Big, Isa};

/// A model, its moments and step count.
#[derive(Clone, PartialEq)]
struct Owned {
    d: usize,
    w: [Vec<f32>; 6],
    step: u32,
}

impl Owned {
    fn new(v: usize, d: usize, seed: u64) -> Self {
        let mut w: [Vec<f32>; 6] = std::array::from_fn(|_| vec![0.0; v * d]);
        let [e, u, ..] = &mut w;
        big::init_torch(seed, d, e, u);
        Owned { d, w, step: 0 }
    }

    fn state(&mut self, adamw: AdamWConfig) -> State<'_> {
        let [e, u, me, mu, ve, vu] = &mut self.w;
        State {
            d_model: self.d,
            weights: Pair { w_e: e, w_u: u },
            m: Pair { w_e: me, w_u: mu },
            v: Pair { w_e: ve, w_u: vu },
            step: &mut self.step,
            adamw,
        }
    }

    fn bits(&self) -> Vec<u32> {
        self.w.iter().flatten().map(|x| x.to_bits()).collect()
    }
}

/// Random sparse counts over `v` tokens: rows `zero_rows` and columns `zero_cols` empty.
fn counts(
    v: usize,
    seed: u64,
    zero_rows: &[usize],
    zero_cols: &[usize],
) -> (Vec<usize>, Vec<u32>, Vec<u64>) {
    let mut g = TorchGenerator::new(seed);
    let (mut rs, mut col, mut count) = (vec![0], vec![], vec![]);
    for i in 0..v {
        for j in 0..v {
            let c = (g.next_u32() % 9).saturating_sub(6) as u64;
            if c > 0 && !zero_rows.contains(&i) && !zero_cols.contains(&j) {
                col.push(j as u32);
                count.push(c);
            }
        }
        rs.push(col.len());
    }
    if col.is_empty() {
        col.push(0);
        count.push(1);
        rs.iter_mut().skip(1).for_each(|r| *r = 1);
    }
    (rs, col, count)
}

/// The end of a run, every NaN as one (IEEE leaves a NaN's sign and payload open).
fn end(r: Result<f32, Diverged>) -> Result<u32, (u32, u32)> {
    r.map(f32::to_bits).map_err(|e| {
        (
            e.epoch,
            if e.loss.is_nan() {
                u32::MAX
            } else {
                e.loss.to_bits()
            },
        )
    })
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|x| x.to_bits()).collect()
}

/// Every instruction set × thread count × tile size against the reference on one problem.
fn check(v: usize, d: usize, seed: u64, adamw: AdamWConfig, epochs: u32, tiles: &[Option<usize>]) {
    let (rs, col, count) = counts(v, seed, &[1, v / 2], &[0, v / 3]);
    let b = Csr::new(v, &rs, &col, &count).unwrap();
    let mut reference = Owned::new(v, d, seed);
    let mut buf = vec![0.0; Scratch::len(v, d, 5)];
    let mut scratch = Scratch::new(&mut buf, v, d, 5).unwrap();
    let mut want_losses = vec![];
    let want = big::run(
        &mut reference.state(adamw),
        &b,
        &mut scratch,
        epochs,
        |_, l| want_losses.push(l.to_bits()),
    );
    let (want_ge, want_gu) = (bits(scratch.grad.w_e), bits(scratch.grad.w_u));
    for isa in Isa::available() {
        for threads in [1, 2, 3] {
            for &tile in tiles {
                let what = format!("{isa}, {threads} threads, tile {tile:?}: {v}×{d} seed {seed}");
                let mut ours = Owned::new(v, d, seed);
                let mut t = Big::new(isa, threads, tile, v, d);
                let mut losses = vec![];
                let got = t.run(&mut ours.state(adamw), &b, epochs, |_, l| {
                    losses.push(l.to_bits())
                });
                assert_eq!(end(got), end(want), "{what}: end");
                assert_eq!(losses, want_losses, "{what}: losses");
                assert!(
                    ours.bits() == reference.bits(),
                    "{what}: weights or moments"
                );
                assert_eq!(ours.step, reference.step, "{what}: steps");
                if want.is_ok() && epochs > 0 {
                    let (ge, gu) = t.grad();
                    assert!(bits(ge) == want_ge, "{what}: ∂W_E");
                    assert!(bits(gu) == want_gu, "{what}: ∂W_U");
                }
            }
        }
    }
}

#[test]
fn every_isa_thread_count_and_tile_gives_the_references_bits() {
    let adamw = AdamWConfig::default();
    let tiles = [None, Some(1), Some(7), Some(48), Some(10_000)];
    for (v, d, seed) in [
        (1, 1, 0),
        (5, 3, 1),
        (17, 16, 2),
        (64, 20, 3),
        (97, 64, 4),
        (300, 7, 5),
    ] {
        check(v, d, seed, adamw, 3, &tiles);
    }
    let fast = AdamWConfig {
        lr: 0.3,
        weight_decay: 0.1,
        ..adamw
    };
    check(130, 33, 6, fast, 8, &[None, Some(13)]);
}

/// A rate that diverges stops at the reference's epoch with its loss.
#[test]
fn every_path_diverges_as_the_reference() {
    let adamw = AdamWConfig {
        lr: 1e30,
        ..AdamWConfig::default()
    };
    check(40, 8, 7, adamw, 20, &[None, Some(3)]);
}

/// Larger: V = 1,000, every path's loss and weights equal after two epochs.
#[test]
fn a_thousand_tokens_on_every_path() {
    check(1000, 64, 8, AdamWConfig::default(), 2, &[None, Some(100)]);
}

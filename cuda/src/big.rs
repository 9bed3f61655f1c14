//! Training at any vocabulary size: kernels/big.ptx's launches, planned here once for the whole
//! run and executed by a GPU (kernels.rs) or by the PTX interpreter (sim.rs).
//!
//! Per pass (each epoch, then one more for the final loss), for each tile of `rows` rows of the
//! logits (a `rows × v` tile in global memory): logits, rows (softmax, the row's loss sum, G),
//! and, in an epoch, dW_E and dW_U; then the loss and, in an epoch, AdamW. kernels/big.ptx's
//! header gives each launch's arguments and the order of every sum (zl-core's).

use std::time::Duration;

use zl_core::{big::State, Csr};

use crate::CudaError;

/// kernels/big.ptx: the tiled step (its header documents every entry and layout).
pub const BIG_PTX: &str = include_str!("../../kernels/big.ptx");

/// The largest tile of logits, in f32 elements (2 GiB): at V = 50,257 a tile holds 10,683 rows.
const TILE_ELEMENTS: usize = 1 << 29;
/// Threads per block of the elementwise entries.
const BLOCK: u32 = 256;
/// Threads per block of `zl_big_rows` (one thread a row; small blocks spread few rows over many
/// SMs).
const ROWS_BLOCK: u32 = 32;

/// What [`crate::Device::step_big`] returns besides the updated state.
#[derive(Clone, Debug)]
pub struct BigRun {
    /// The loss of each epoch before its update.
    pub losses: Vec<f32>,
    /// The loss after the last update.
    pub final_loss: f32,
    /// Every launch of the run, from CUDA events (the simulator: its wall time).
    pub kernel_time: Duration,
    /// Rows of the logits per tile.
    pub tile_rows: usize,
}

/// The device buffers of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Buf {
    W,
    M,
    Sq,
    Grad,
    Tile,
    RowStart,
    Col,
    Count,
    RowTotals,
    RowLoss,
    Losses,
}

impl Buf {
    pub fn name(self) -> &'static str {
        match self {
            Buf::W => "w",
            Buf::M => "m",
            Buf::Sq => "sq",
            Buf::Grad => "grad",
            Buf::Tile => "tile",
            Buf::RowStart => "row_start",
            Buf::Col => "col",
            Buf::Count => "count",
            Buf::RowTotals => "row_totals",
            Buf::RowLoss => "row_loss",
            Buf::Losses => "losses",
        }
    }
}

/// One kernel argument.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Arg {
    Buf(Buf),
    U32(u32),
    F32(f32),
}

/// One launch: an entry of kernels/big.ptx, a 1-D grid of 1-D blocks, its arguments in order.
#[derive(Clone, Debug)]
pub(crate) struct Launch {
    pub entry: &'static str,
    pub grid: u32,
    pub block: u32,
    pub args: Vec<Arg>,
}

/// The host side of a run: its inputs in the kernels' layouts and its launches in order.
#[derive(Clone, Debug)]
pub(crate) struct BigJob {
    pub weights: Vec<f32>,
    pub m: Vec<f32>,
    pub sq: Vec<f32>,
    pub row_start: Vec<u32>,
    pub col: Vec<u32>,
    pub count: Vec<f32>,
    pub row_totals: Vec<f32>,
    /// Elements of each buffer the kernels only write: grad, tile, row_loss, losses.
    pub grad_len: usize,
    pub tile_len: usize,
    pub v: usize,
    pub epochs: u32,
    pub tile_rows: usize,
    pub launches: Vec<Launch>,
}

/// What a run gives back.
#[derive(Clone, Debug)]
pub(crate) struct BigOutput {
    pub weights: Vec<f32>,
    pub m: Vec<f32>,
    pub sq: Vec<f32>,
    /// `epochs + 1` losses: each epoch's, then the final one.
    pub losses: Vec<f32>,
    pub kernel_time: Duration,
}

fn blocks(elements: usize, block: u32) -> Result<u32, CudaError> {
    u32::try_from(elements.div_ceil(block as usize))
        .ok()
        .filter(|&g| g <= i32::MAX as u32)
        .ok_or_else(|| CudaError::Invalid(format!("{elements} elements is more than one grid")))
}

/// The tile's rows: `tile_rows` where given, else as many as [`TILE_ELEMENTS`] allows; never
/// more than v.
pub(crate) fn rows_per_tile(v: usize, tile_rows: Option<usize>) -> usize {
    tile_rows
        .unwrap_or(TILE_ELEMENTS / v.max(1))
        .clamp(1, v.max(1))
}

/// Every index the kernels form is a u32 (byte offsets are 64-bit): 2vd parameters, a tile of
/// `tile_rows × v` logits, the pairs and v + 1 row starts.
pub(crate) fn check_indices(
    v: usize,
    d: usize,
    tile_rows: usize,
    pairs: usize,
) -> Result<(), CudaError> {
    let fits = |n: Option<usize>| n.is_some_and(|n| n <= u32::MAX as usize);
    if v == 0
        || d == 0
        || !fits(v.checked_mul(d).and_then(|n| n.checked_mul(2)))
        || !fits(tile_rows.checked_mul(v))
        || !fits(Some(pairs))
        || !fits(v.checked_add(1))
    {
        return Err(CudaError::Invalid(format!(
            "{v} tokens x d_model {d} ({pairs} pairs, tiles of {tile_rows} rows) is past the \
             tiled kernels' 32-bit indices; use --backend cpu"
        )));
    }
    Ok(())
}

impl BigJob {
    /// Packs `epochs` epochs of `state` on `counts`, with tiles of `tile_rows` rows.
    pub fn new(
        counts: &Csr,
        state: &State,
        epochs: u32,
        tile_rows: usize,
    ) -> Result<BigJob, CudaError> {
        let (v, d) = (counts.vocab_len(), state.d_model);
        let vd = v * d;
        if state.check(v).is_err() {
            return Err(CudaError::Invalid(format!(
                "the counts have {v} tokens, but the state's slices do not hold a model of {v} \
                 tokens x d_model {d}"
            )));
        }
        let step = *state.step;
        if step.checked_add(epochs).is_none() {
            return Err(CudaError::Invalid(format!(
                "step {step} + {epochs} epochs overflows the u32 step count"
            )));
        }
        check_indices(v, d, tile_rows, counts.pairs())?;
        let tile_len = tile_rows * v;
        let (starts, cols, cnts) = counts.parts();
        let row_start = starts.iter().map(|&s| s as u32).collect();
        let row_totals = (0..v).map(|i| counts.row_total(i) as f32).collect();
        let total = counts.total() as f32;
        let (v32, d32) = (v as u32, d as u32);
        let mut launches = vec![];
        for pass in 0..=epochs {
            let epoch = pass < epochs;
            for r0 in (0..v).step_by(tile_rows) {
                let rows = tile_rows.min(v - r0);
                let (r0, rows32) = (r0 as u32, rows as u32);
                launches.push(Launch {
                    entry: "zl_big_logits",
                    grid: blocks(rows * v, BLOCK)?,
                    block: BLOCK,
                    args: vec![
                        Arg::Buf(Buf::W),
                        Arg::Buf(Buf::Tile),
                        Arg::U32(v32),
                        Arg::U32(d32),
                        Arg::U32(r0),
                        Arg::U32(rows32),
                    ],
                });
                launches.push(Launch {
                    entry: "zl_big_rows",
                    grid: blocks(rows, ROWS_BLOCK)?,
                    block: ROWS_BLOCK,
                    args: vec![
                        Arg::Buf(Buf::Tile),
                        Arg::Buf(Buf::RowStart),
                        Arg::Buf(Buf::Col),
                        Arg::Buf(Buf::Count),
                        Arg::Buf(Buf::RowTotals),
                        Arg::F32(total),
                        Arg::U32(v32),
                        Arg::U32(r0),
                        Arg::U32(rows32),
                        Arg::Buf(Buf::RowLoss),
                    ],
                });
                if epoch {
                    launches.push(Launch {
                        entry: "zl_big_dwe",
                        grid: blocks(rows * d, BLOCK)?,
                        block: BLOCK,
                        args: vec![
                            Arg::Buf(Buf::W),
                            Arg::Buf(Buf::Tile),
                            Arg::Buf(Buf::Grad),
                            Arg::U32(v32),
                            Arg::U32(d32),
                            Arg::U32(r0),
                            Arg::U32(rows32),
                        ],
                    });
                    launches.push(Launch {
                        entry: "zl_big_dwu",
                        grid: blocks(vd, BLOCK)?,
                        block: BLOCK,
                        args: vec![
                            Arg::Buf(Buf::W),
                            Arg::Buf(Buf::Tile),
                            Arg::Buf(Buf::Grad),
                            Arg::U32(v32),
                            Arg::U32(d32),
                            Arg::U32(r0),
                            Arg::U32(rows32),
                            Arg::U32((r0 == 0) as u32),
                        ],
                    });
                }
            }
            launches.push(Launch {
                entry: "zl_big_loss",
                grid: 1,
                block: 32,
                args: vec![
                    Arg::Buf(Buf::RowLoss),
                    Arg::U32(v32),
                    Arg::F32(total),
                    Arg::Buf(Buf::Losses),
                    Arg::U32(pass),
                ],
            });
            if epoch {
                let s = state.adamw.scalars(step + pass + 1);
                launches.push(Launch {
                    entry: "zl_big_adamw",
                    grid: blocks(2 * vd, BLOCK)?,
                    block: BLOCK,
                    args: vec![
                        Arg::Buf(Buf::W),
                        Arg::Buf(Buf::M),
                        Arg::Buf(Buf::Sq),
                        Arg::Buf(Buf::Grad),
                        Arg::U32(2 * vd as u32),
                        Arg::F32(s.decay),
                        Arg::F32(s.one_minus_beta1),
                        Arg::F32(s.beta2),
                        Arg::F32(s.one_minus_beta2),
                        Arg::F32(s.bias_correction2_sqrt),
                        Arg::F32(s.eps),
                        Arg::F32(s.neg_step_size),
                    ],
                });
            }
        }
        let both = |p: &zl_core::big::Pair| [&p.w_e[..], &p.w_u[..]].concat();
        Ok(BigJob {
            weights: both(&state.weights),
            m: both(&state.m),
            sq: both(&state.v),
            row_start,
            col: cols.to_vec(),
            count: cnts.iter().map(|&c| c as f32).collect(),
            row_totals,
            grad_len: 2 * vd,
            tile_len,
            v,
            epochs,
            tile_rows,
            launches,
        })
    }

    /// Writes the run's results into `state`'s slices and returns its losses.
    pub fn finish(&self, out: BigOutput, state: &mut State) -> BigRun {
        for (p, new) in [
            (&mut state.weights, &out.weights),
            (&mut state.m, &out.m),
            (&mut state.v, &out.sq),
        ] {
            let (e, u) = new.split_at(p.w_e.len());
            p.w_e.copy_from_slice(e);
            p.w_u.copy_from_slice(u);
        }
        *state.step += self.epochs;
        let e = self.epochs as usize;
        BigRun {
            losses: out.losses[..e].to_vec(),
            final_loss: out.losses[e],
            kernel_time: out.kernel_time,
            tile_rows: self.tile_rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TRAIN_PTX;

    /// The text of the function `name` in `ptx`, from its comment block to its closing brace.
    fn function<'a>(ptx: &'a str, name: &str) -> &'a str {
        let head = ptx
            .find(&format!(") {name}("))
            .unwrap_or_else(|| panic!("{name} is missing"));
        let start = ptx[..head].rfind("\n\n").expect("a blank line before") + 2;
        let end = head + ptx[head..].find("\n}\n").expect("a closing brace") + 3;
        &ptx[start..end]
    }

    /// PTX has no includes: big.ptx carries copies of train.ptx's exp and ln, which must stay
    /// the same text (zl-core's math, operation for operation).
    #[test]
    fn exp_and_ln_are_train_ptxs() {
        for name in ["exp_f32", "ln_f32"] {
            assert_eq!(
                function(BIG_PTX, name),
                function(TRAIN_PTX, name),
                "{name} differs"
            );
        }
    }

    #[test]
    fn tiles_cover_every_row_once() {
        let (starts, cols, counts) = (vec![0, 1, 2, 2], vec![1u32, 0], vec![3u64, 1]);
        let csr = Csr::new(3, &starts, &cols, &counts).unwrap();
        let mut w = [0.5f32, 0.25, 0.0, 0.0, 0.0, 0.0].map(|x| vec![x; 6]);
        let mut step = 0;
        let [we, wu, me, mu, ve, vu] = &mut w;
        let s = State {
            d_model: 2,
            weights: zl_core::big::Pair { w_e: we, w_u: wu },
            m: zl_core::big::Pair { w_e: me, w_u: mu },
            v: zl_core::big::Pair { w_e: ve, w_u: vu },
            step: &mut step,
            adamw: zl_core::AdamWConfig::default(),
        };
        let job = BigJob::new(&csr, &s, 2, 2).unwrap();
        let tiles: Vec<(u32, u32)> = job
            .launches
            .iter()
            .filter(|l| l.entry == "zl_big_rows")
            .map(|l| match (l.args[7], l.args[8]) {
                (Arg::U32(r0), Arg::U32(rows)) => (r0, rows),
                _ => panic!("r0 and rows are u32"),
            })
            .collect();
        // Three passes (two epochs and the final loss), each over rows 0..2 and 2..3.
        assert_eq!(tiles, [(0, 2), (2, 1)].repeat(3));
        assert_eq!(job.row_totals, [3.0, 1.0, 0.0]);
        assert_eq!(rows_per_tile(50_257, None), (1 << 29) / 50_257);
        assert_eq!(rows_per_tile(300, None), 300);
    }
}

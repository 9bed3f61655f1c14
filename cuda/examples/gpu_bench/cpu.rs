//! The CPU side of the large-vocabulary check: zl-core's reference order of every sum
//! (core/src/loss.rs) at run-time sizes, rows across threads, columns of dW_U across threads,
//! every element's sum sequential in its index.

use zl_core::{
    adamw,
    math::{exp, ln},
    Csr,
};
use zl_cuda::BigState;

/// Rows of G held at once.
const TILE_ROWS: usize = 1024;

/// The loss of `s`'s weights on `c`, and where `with_grad`, its gradient (W_E's then W_U's, as
/// `s.weights`).
fn loss_and_grad(c: &Csr, s: &BigState, grad: &mut [f32], with_grad: bool) -> f32 {
    let (v, d) = (s.vocab_len, s.d_model);
    let (we, wu) = (s.w_e(), s.w_u());
    let big_n = c.total() as f32;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (ge, gu) = grad.split_at_mut(v * d);
    gu.fill(0.0);
    let mut row_loss = vec![0f32; v];
    let mut tile = vec![0f32; TILE_ROWS.min(v) * v];
    for r0 in (0..v).step_by(TILE_ROWS) {
        let rows = TILE_ROWS.min(v - r0);
        let step = rows.div_ceil(threads);
        // Rows: logits, softmax, the row's loss sum, G and dW_E, each row by one thread.
        std::thread::scope(|sc| {
            let parts = tile[..rows * v]
                .chunks_mut(step * v)
                .zip(ge[r0 * d..(r0 + rows) * d].chunks_mut(step * d))
                .zip(row_loss[r0..r0 + rows].chunks_mut(step))
                .enumerate();
            for (n, ((l, gei), acc)) in parts {
                sc.spawn(move || {
                    let rows = l.chunks_mut(v).zip(gei.chunks_mut(d)).zip(acc);
                    for (r, ((l, gei), acc)) in rows.enumerate() {
                        let gei = if with_grad { gei } else { &mut [][..] };
                        *acc = row(c, we, wu, r0 + n * step + r, l, gei, big_n);
                    }
                });
            }
        });
        if !with_grad {
            continue;
        }
        // dW_U: each thread owns rows k of it and adds the tile's rows in ascending order.
        let kstep = d.div_ceil(threads);
        let tile = &tile;
        std::thread::scope(|sc| {
            for (n, part) in gu.chunks_mut(kstep * v).enumerate() {
                sc.spawn(move || {
                    for (kk, out) in part.chunks_mut(v).enumerate() {
                        let k = n * kstep + kk;
                        for r in 0..rows {
                            let a = we[(r0 + r) * d + k];
                            for (y, g) in out.iter_mut().zip(&tile[r * v..(r + 1) * v]) {
                                *y += *g * a;
                            }
                        }
                    }
                });
            }
        });
    }
    let mut total = 0f32;
    for a in &row_loss {
        total += *a;
    }
    total / big_n
}

/// Row `i`: its logits in `l`, then G over them; dW_E's row in `gei` (none where it is empty);
/// returns the row's loss sum.
fn row(
    c: &Csr,
    we: &[f32],
    wu: &[f32],
    i: usize,
    l: &mut [f32],
    gei: &mut [f32],
    big_n: f32,
) -> f32 {
    let (v, d) = (l.len(), we.len() / l.len());
    l.fill(0.0);
    for k in 0..d {
        let a = we[i * d + k];
        for (x, w) in l.iter_mut().zip(&wu[k * v..(k + 1) * v]) {
            *x += a * *w;
        }
    }
    let mx = l[1..].iter().fold(l[0], |m, x| m.max(*x));
    let mut sum = 0f32;
    for x in l.iter() {
        sum += exp(*x - mx);
    }
    let lse = mx + ln(sum);
    let ni = c.row_total(i) as f32;
    let (cols, counts) = c.row(i);
    let (mut q, mut acc) = (0, 0f32);
    for (j, x) in l.iter_mut().enumerate() {
        let cij = if q < cols.len() && cols[q] as usize == j {
            q += 1;
            counts[q - 1] as f32
        } else {
            0.0
        };
        acc += cij * (lse - *x);
        let p = exp(*x - mx) / sum;
        *x = (ni * p - cij) / big_n;
    }
    // dW_E's row: d sums over j, eight at a time for the CPU's sake, each still in j order. An
    // empty gei (no gradient) skips this.
    for (c8, g8) in gei.chunks_mut(8).enumerate() {
        let k0 = c8 * 8;
        let mut a = [0f32; 8];
        for (j, gj) in l.iter().enumerate() {
            for (q, aq) in a.iter_mut().enumerate().take(g8.len()) {
                *aq += *gj * wu[(k0 + q) * v + j];
            }
        }
        g8.copy_from_slice(&a[..g8.len()]);
    }
    acc
}

/// `epochs` AdamW epochs of `s` on `c`: each epoch's loss before its update, and the final loss.
pub fn cpu_epochs(c: &Csr, s: &mut BigState, epochs: u32) -> (Vec<f32>, f32) {
    let mut grad = vec![0f32; s.weights.len()];
    let mut losses = vec![];
    for _ in 0..epochs {
        losses.push(loss_and_grad(c, s, &mut grad, true));
        s.step += 1;
        let sc = s.config.scalars(s.step);
        adamw::update(&mut s.weights, &mut s.m, &mut s.v, &grad, &sc);
    }
    let final_loss = loss_and_grad(c, s, &mut grad, false);
    (losses, final_loss)
}

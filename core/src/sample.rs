//! Text drawn from the model beside text drawn from the data's bigram table, one uniform number
//! driving both at each step: what `zl sample` prints and the browser page shows. The uniform
//! numbers come from the caller (both use ChaCha8 from the `rand` crate), so that this crate
//! needs no random-number crate and the same numbers give the same texts on every target.

/// Inverse CDF in token-id order: the first `j` whose cumulative probability exceeds `u`, or the
/// last token of positive probability when rounding leaves the sum below `u`; `None` for a row
/// without any.
pub fn draw(probs: impl Iterator<Item = f64>, u: f64) -> Option<usize> {
    let mut cum = 0.0f64;
    let mut last = None;
    for (j, p) in probs.enumerate() {
        if p > 0.0 {
            cum += p;
            last = Some(j);
            if u < cum {
                return last;
            }
        }
    }
    last
}

/// How a [`sample`] ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SampleEnd {
    /// The first index into the generated characters where the two texts differ (the table's
    /// text ending counts as a difference), or `None`.
    pub first_divergence: Option<usize>,
    /// Where the table's text stopped early: the character with no successor.
    pub table_stopped_at: Option<usize>,
}

/// Draws `chars` characters after the token `start` (a zero-layer model sees only the current
/// character) from the model's rows, `log_q(i, j)` = ln Q(j | i) over `v` tokens, and from the
/// bigram counts `count(i, j)` (the table P), calling `emit(k, model_char, table_char)` for each
/// generated position `k`. Each step takes one `uniform()` number in [0, 1) for both, so the
/// texts agree until the two distributions first send it to different characters. The table's
/// text stops at a character whose row is empty (the text's last character, when it occurs
/// nowhere else): the text ended there, and the table says nothing about what follows; from then
/// on `table_char` is `None`. `exp` is zl-core's libm one, so the texts are the same on every
/// target.
pub fn sample(
    log_q: impl Fn(usize, usize) -> f64,
    count: impl Fn(usize, usize) -> u64,
    v: usize,
    start: usize,
    chars: usize,
    mut uniform: impl FnMut() -> f64,
    mut emit: impl FnMut(usize, usize, Option<usize>),
) -> SampleEnd {
    let (mut m_cur, mut t_cur) = (start, Some(start));
    let mut end = SampleEnd::default();
    for k in 0..chars {
        let u = uniform();
        let m = draw((0..v).map(|j| libm::exp(log_q(m_cur, j))), u)
            .expect("a softmax row has a positive entry");
        m_cur = m;
        let mut t_next = None;
        if let Some(t) = t_cur {
            let n: u64 = (0..v).map(|j| count(t, j)).sum();
            match draw((0..v).map(|j| count(t, j) as f64 / n as f64), u) {
                Some(next) if n > 0 => t_next = Some(next),
                _ => end.table_stopped_at = Some(t),
            }
            t_cur = t_next;
        }
        if end.first_divergence.is_none() && t_next != Some(m) {
            end.first_divergence = Some(k);
        }
        emit(k, m, t_next);
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draw_is_the_inverse_cdf_in_id_order() {
        let p = [0.25, 0.0, 0.5, 0.25];
        assert_eq!(draw(p.into_iter(), 0.0), Some(0));
        assert_eq!(draw(p.into_iter(), 0.2499), Some(0));
        assert_eq!(draw(p.into_iter(), 0.25), Some(2));
        assert_eq!(draw(p.into_iter(), 0.75), Some(3));
        // Rounding below u: the last token of positive probability.
        assert_eq!(draw([0.5, 0.3, 0.0].into_iter(), 0.9), Some(1));
        assert_eq!(draw([0.0, 0.0].into_iter(), 0.1), None);
    }

    #[test]
    fn a_table_row_without_successors_ends_the_table_text() {
        // "ab": a → b once; b has no successor. The model is uniform.
        let counts = [0u64, 1, 0, 0];
        let us = [0.7, 0.2, 0.9, 0.1, 0.5];
        let mut k_u = 0;
        let (mut model, mut table) = ([9usize; 5], [None; 5]);
        let end = sample(
            |_, _| libm::log(0.5),
            |i, j| counts[i * 2 + j],
            2,
            0,
            5,
            || {
                k_u += 1;
                us[k_u - 1]
            },
            |k, m, t| {
                model[k] = m;
                table[k] = t;
            },
        );
        assert_eq!(model, [1, 0, 1, 0, 1]);
        assert_eq!(table, [Some(1), None, None, None, None]);
        assert_eq!(end.table_stopped_at, Some(1));
        assert_eq!(end.first_divergence, Some(1));
    }
}

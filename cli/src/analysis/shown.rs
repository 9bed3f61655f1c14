//! The characters a heatmap shows: all of them up to [`MAX_SHOWN`], else the most frequent.

use zl_core::{
    interpret::{most_frequent, MAX_SHOWN},
    Csr,
};

/// How many characters the one-screen summary's heatmaps show: the two tables of 30 rows and the
/// sections after them fit about 60 lines (the seed text has 30 characters, all of them shown).
pub const SUMMARY_SHOWN: usize = 30;

/// The characters a heatmap shows, and how many it leaves out.
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    /// Token ids, ascending: every id up to [`MAX_SHOWN`] characters, else the [`MAX_SHOWN`]
    /// most frequent (zl-core's `most_frequent`, as the browser page chooses them).
    pub ids: Vec<usize>,
    /// Characters left out (0 when all are shown).
    pub hidden: usize,
    /// The largest count among the shown cells, at least 1: the top of the counts' colour scale.
    pub max_count: f64,
}

impl Shown {
    /// The characters to show for a V×V table of bigram counts (`counts[current][next]`, the
    /// same counts as `pairs`).
    pub fn of(counts: &[Vec<f64>], pairs: &Csr<'_>) -> Shown {
        Shown::at_most(counts, pairs, MAX_SHOWN)
    }

    /// The same with at most `max` characters.
    pub fn at_most(counts: &[Vec<f64>], pairs: &Csr<'_>, max: usize) -> Shown {
        let v = counts.len();
        let mut ids = vec![0; max.min(v)];
        most_frequent(pairs, &mut ids);
        let max_count = ids
            .iter()
            .flat_map(|&i| ids.iter().map(move |&j| counts[i][j]))
            .fold(1.0, f64::max);
        Shown {
            hidden: v - ids.len(),
            ids,
            max_count,
        }
    }
}

#[cfg(test)]
impl Shown {
    /// [`Shown::of`] a table of whole counts alone.
    pub(crate) fn of_table(c: &[Vec<f64>]) -> Shown {
        let v = c.len();
        let flat: Vec<u64> = c.iter().flatten().map(|&x| x as u64).collect();
        let (r, col, n) = zl_core::interpret::Counts::from_table(v, &flat)
            .unwrap()
            .sparse();
        Shown::of(c, &Csr::new(v, &r, &col, &n).unwrap())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 70 characters: character i occurs i times, except that ids 0 and 1 are the most
    /// frequent and id 12 ties with 11, at the cut.
    pub(crate) fn counts_70() -> Vec<Vec<f64>> {
        let v = 70;
        let mut c = vec![vec![0.0; v]; v];
        for (i, row) in c.iter_mut().enumerate() {
            row[i] = match i {
                0 | 1 => 500.0,
                12 => 11.0,
                _ => i as f64,
            };
        }
        c
    }

    #[test]
    fn above_the_limit_the_most_frequent_are_shown_in_id_order() {
        let c = counts_70();
        let shown = Shown::of_table(&c);
        assert_eq!(shown.hidden, 10);
        assert_eq!(shown.ids.len(), MAX_SHOWN);
        assert!(shown.ids.windows(2).all(|w| w[0] < w[1]), "token-id order");
        // Frequency (row + column total) is 2n: ids 0 and 1 are the largest.
        assert!(shown.ids.starts_with(&[0, 1]));
        assert_eq!(shown.max_count, 500.0);
        // Hidden: the nine least frequent, 2..=10, and of 11 and 12 (a tie) the higher id.
        let hidden: Vec<usize> = (0..70).filter(|i| !shown.ids.contains(i)).collect();
        assert_eq!(hidden, [2, 3, 4, 5, 6, 7, 8, 9, 10, 12]);
        let small = Shown::of_table(&c[2..4].iter().map(|r| r[2..4].to_vec()).collect::<Vec<_>>());
        assert_eq!(
            (small.ids, small.hidden, small.max_count),
            (vec![0, 1], 0, 3.0)
        );
    }
}

//! Interpretation at a large vocabulary (more than [`DENSE_MAX`] tokens): the numbers of
//! [`super::Comparison`] and the evidence against the untrained control, from the one pass over
//! the rows that both views read ([`pass`]: a row of logits at a time, O(V·d) memory per core,
//! rows across cores, pooled by `zl_core::interpret::summarise`), with top-K lists instead of
//! V×V tables. No V×V table is built here. What would cost more than V²·d (the
//! rank-k truncation curve) runs on a stated sample of rows; the models trained beside this one
//! ([`super::large_retrain`]: the shuffled control, the gap curve, a wider and narrower models)
//! are measured here by the dense view's rules, each within its stated budget; what needs every
//! pair of rows, or is past its budget, is listed as not run, with its cost.

use rayon::prelude::*;

use crate::data::pairs::Pairs;
use zl_core::{
    interpret::{self as zi, Agreement, Decomposition, RowFacts, ThinSpectrum, ThinSvd, TopList},
    Csr,
};

use super::{
    evidence_kinds, heldout,
    heldout::ALPHAS,
    large_retrain::{NotTrained, Skipped},
    verdict::{self, GapTrend, NotRetrained, Verdict, Wider},
    width::MinimumWidth,
    Evidence, EvidenceKind, Margin, MarginSummary, Told, COUNT_MARGIN, TOP,
};
use crate::data::files::Weights;

/// The largest vocabulary the dense analysis ([`super::analyse`], [`super::compare`]) takes:
/// zl-core's capacity. Above it, this module's.
pub const DENSE_MAX: usize = zl_core::capacity::MAX_VOCAB;

/// How many untrained models (the model's seed and the next ones) make the untrained control's
/// spread at large V: each costs one pass over the rows (V²·d multiply-adds and V² exps), so as
/// many as [`UNTRAINED_WORK`] allows, within 1 to 3: 3 at V = 5,000 and d_model 64, 1 at 50,257.
pub const UNTRAINED_SEEDS: (u64, u64) = (1, 3);
pub const UNTRAINED_WORK: f64 = 1e11;

/// [`UNTRAINED_SEEDS`] for `v` tokens and width `d`.
pub fn untrained_seeds(v: usize, d: usize) -> u64 {
    let per = (v as f64) * (v as f64) * (d as f64 + 16.0);
    ((UNTRAINED_WORK / per) as u64).clamp(UNTRAINED_SEEDS.0, UNTRAINED_SEEDS.1)
}

/// The in-sample floor `H(next|current)` of a text is optimistic: a row seen with few
/// predictions looks more certain than its source is. Miller and Madow's first-order estimate
/// of that bias is `(pairs that occur − rows followed) / (2N)` nats. When it is at least this
/// many nats, the held-out loss, not the in-sample gap, leads the summary.
pub const FLOOR_OPTIMISM_LEADS: f64 = 0.01;

/// Rows of the truncation sample: the most frequent rows, whose rank-k losses are computed in
/// full (each costs V·k per rank), in place of the V³·d curve over every row and rank.
pub const TRUNCATION_ROWS: usize = 64;

/// A next token in a row's top list: its id, the data's P, the model's Q and its logit.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Next {
    pub token: usize,
    pub p: f64,
    pub q: f64,
    pub logit: f64,
}

/// One current token: its row's numbers and its two top lists.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Row {
    pub token: usize,
    #[serde(flatten)]
    pub facts: RowFacts,
    /// Distinct next tokens that follow it.
    pub successors: usize,
    /// The model's [`TOP`] most likely next tokens (exact log Q, lower id among bit-equal).
    pub model_top: Vec<Next>,
    /// The data's [`TOP`] most frequent next tokens (lower id among equal counts).
    pub data_top: Vec<Next>,
}

/// One pass of a model over the rows: each row's facts and sums, and, where asked, its lists.
pub(super) struct Pass {
    /// `Σ_j H_ij (lse_i − l_ij)` over the held-out counts `H`, summed in row order (0 without).
    held_loss_sum: f64,
    pub facts: Vec<RowFacts>,
    pub sums: Vec<zi::SeenSums>,
    rows: Vec<Row>,
}

/// Rows a core computes the logits of at once ([`zi::logit_rows`]): a tile of 16 × V f64 (6.4
/// MB at V = 50,257) per core.
const TILE: usize = 16;

/// `f(logits of row i, i, top-list scratch)` for every row of `w`, tiles of rows across cores,
/// in row order.
fn each_row<T: Send>(
    w: &zi::Weights,
    f: impl Fn(&[f64], usize, &mut TopList) -> T + Sync,
) -> Vec<T> {
    let v = w.vocab_len();
    let tiles: Vec<Vec<T>> = (0..v.div_ceil(TILE))
        .into_par_iter()
        .map_init(
            || (vec![0.0; TILE * v], TopList::default()),
            |(buf, top), t| {
                let first = t * TILE;
                let rows = TILE.min(v - first);
                let l = &mut buf[..rows * v];
                zi::logit_rows(w, first, l);
                (0..rows)
                    .map(|r| f(&l[r * v..(r + 1) * v], first + r, top))
                    .collect()
            },
        )
        .collect();
    tiles.into_iter().flatten().collect()
}

/// One pass over the rows of `w` on the counts `b`; with `held`, the held-out loss from the same
/// logits (each row's held-out terms read its logits and `lse` while they are at hand).
pub(super) fn pass(w: &zi::Weights, b: &Csr<'_>, held: Option<&Csr<'_>>, lists: bool) -> Pass {
    let v = b.vocab_len();
    let top = if lists { TOP } else { 0 };
    let out = each_row(w, |l, i, tl| {
        let f = zi::row_facts(l, b, i, top, tl);
        let sums = zi::seen_sums(l, b, i, f.token.count);
        let row = lists.then(|| row(l, tl, b, i, f));
        let held = held.map_or(0.0, |h| {
            let (cols, counts) = h.row(i);
            cols.iter()
                .zip(counts)
                .map(|(&j, &c)| c as f32 as f64 * (f.lse - l[j as usize]))
                .sum::<f64>()
        });
        (f, sums, row, held)
    });
    let mut p = Pass {
        held_loss_sum: 0.0,
        facts: Vec::with_capacity(v),
        sums: Vec::with_capacity(v),
        rows: Vec::with_capacity(if lists { v } else { 0 }),
    };
    for (f, s, r, h) in out {
        p.facts.push(f);
        p.sums.push(s);
        p.rows.extend(r);
        p.held_loss_sum += h;
    }
    p
}

/// Row `i`'s top lists, from its logits and the model's top list.
fn row(l: &[f64], s: &TopList, b: &Csr<'_>, i: usize, f: RowFacts) -> Row {
    let (cols, counts) = b.row(i);
    let n = f.token.count;
    let p = |j: usize| match cols.binary_search(&(j as u32)) {
        Ok(k) if n > 0.0 => counts[k] as f32 as f64 / n,
        _ => 0.0,
    };
    let next = |j: usize| Next {
        token: j,
        p: p(j),
        q: (l[j] - f.lse).exp(),
        logit: l[j],
    };
    let mut by_count: Vec<usize> = (0..cols.len()).collect();
    by_count.sort_by(|&a, &c| counts[c].cmp(&counts[a]).then(a.cmp(&c)));
    Row {
        token: i,
        facts: f,
        successors: cols.len(),
        model_top: s.top.iter().map(|&j| next(j)).collect(),
        data_top: by_count
            .iter()
            .take(TOP)
            .map(|&k| next(cols[k] as usize))
            .collect(),
    }
}

/// The evidence of one pass, pooled over the rows in ascending order.
fn evidence(p: &Pass, b: &Csr<'_>) -> (Evidence, Decomposition, Agreement, MarginSummary) {
    let s = zi::summarise(&p.facts, &p.sums, b);
    (Evidence::of(&s), s.decomposition, s.agreement, s.margin)
}

/// A model's weights at run-time size, row-major as files hold them.
pub struct RowMajor<'a> {
    pub vocab_len: usize,
    pub d_model: usize,
    pub w_e: &'a [f32],
    pub w_u: &'a [f32],
}

impl<'a> RowMajor<'a> {
    /// A file's weights.
    pub fn of(w: &'a Weights) -> Self {
        RowMajor {
            vocab_len: w.vocab.len(),
            d_model: w.d_model,
            w_e: &w.w_e,
            w_u: &w.w_u,
        }
    }

    fn weights(&self) -> zi::Weights {
        zi::Weights::from_row_major(self.vocab_len, self.d_model, self.w_e, self.w_u)
    }
}

/// `init_torch(seed)` at run-time size (zl-core's `big::init_torch`), row-major.
pub fn untrained(seed: u64, v: usize, d: usize) -> (Vec<f32>, Vec<f32>) {
    let (mut w_e, mut w_u) = (vec![0f32; v * d], vec![0f32; d * v]);
    zl_core::big::init_torch(seed, d, &mut w_e, &mut w_u);
    (w_e, w_u)
}

/// The heatmaps' tokens: the most frequent (row total plus column total, lower id among
/// equals), at most `max`, in id order, with P and Q on those cells only.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Shown {
    pub ids: Vec<usize>,
    /// Tokens left out.
    pub hidden: usize,
    /// `p[a][b]`, `q[a][b]`: current `ids[a]`, next `ids[b]`.
    pub p: Vec<Vec<f64>>,
    pub q: Vec<Vec<f64>>,
}

/// How the untrained control (and the shuffled one, where trained) stands against the model on
/// one piece of evidence.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct EvidenceRow {
    pub kind: EvidenceKind,
    pub model: f64,
    /// The control's value at the model's own seed, and its lowest and highest over its seeds.
    pub control: f64,
    pub spread: (f64, f64),
    pub told: Told,
    /// The shuffled control: shuffle 0's value, the lowest and highest over the shuffles.
    pub shuffled: Option<ControlCell>,
    pub margin: Margin,
    /// A count of rows rather than nats or a ratio.
    pub count: bool,
}

/// One control's runs against the model on one piece of evidence.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ControlCell {
    pub control: f64,
    pub spread: (f64, f64),
    pub told: Told,
}

/// The model's held-out loss on the counts of a held-out part (tokens the training part never
/// saw as a pair are what the table cannot predict).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct HeldOut {
    pub predictions: u64,
    /// Held-out predictions of a pair the training part never has, and distinct such pairs.
    pub unseen_predictions: u64,
    pub unseen_pairs: usize,
    pub model_loss: f64,
    /// (α, the training part's count table's held-out loss with add-α smoothing).
    pub table_losses: Vec<(f64, f64)>,
    /// The lowest of those (α, loss), and whether the model's held-out loss is below it: the
    /// model generalises better than the best smoothed table.
    pub best_table: (f64, f64),
    pub model_beats_tables: bool,
}

/// Whether the held-out loss leads the summary: by [`FLOOR_OPTIMISM_LEADS`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Leads {
    /// `(pairs − rows followed) / (2N)`: the in-sample floor's estimated optimism, nats.
    pub floor_optimism: f64,
    pub threshold: f64,
    pub held_out_leads: bool,
}

impl Leads {
    fn of(b: &Csr<'_>, followed: usize) -> Leads {
        let floor_optimism = (b.pairs() - followed) as f64 / (2.0 * b.total() as f64);
        Leads {
            floor_optimism,
            threshold: FLOOR_OPTIMISM_LEADS,
            held_out_leads: floor_optimism >= FLOOR_OPTIMISM_LEADS,
        }
    }
}

/// The rank-k truncations of the row-centred table, on a sample of rows.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Truncations {
    /// The sampled rows (the most frequent [`TRUNCATION_ROWS`]) and the predictions they hold.
    pub rows: usize,
    pub predictions: f64,
    /// (k, the sample's mean cross-entropy at rank k): k = 0, 1, 2, 4, … up to d, then d.
    pub losses: Vec<(usize, f64)>,
}

/// What is not computed at this size, and why (render names each).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[serde(tag = "what")]
pub enum NotRun {
    /// The seed replicas: each costs `work` (`V²·d·epochs`, the model's own run), and their
    /// statistics compare every logit of K models, which only the dense view computes.
    SeedReplication { work: f64 },
    /// The weights' successor classes and patching compare every pair of rows (V² pairs).
    PairsOfRows,
    /// The ablation reruns the text once per token (V passes over the text).
    Ablation,
}

/// Everything the large-V commands show about a model on sparse counts.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LargeView {
    pub vocab_len: usize,
    pub d_model: usize,
    pub decomposition: Decomposition,
    pub gap_leak: f64,
    pub gap_seen_misfit: f64,
    /// `1 − gap / (ln V − floor)`.
    pub closed: Option<f64>,
    pub agreement: Agreement,
    pub margin: MarginSummary,
    pub seen_pairs: usize,
    pub unseen_pairs: u64,
    pub evidence: Evidence,
    pub rows: Vec<Row>,
    /// Every token, the most followed first (`n_i` descending, lower id among equals).
    pub frequent: Vec<usize>,
    pub shown: Shown,
    pub shown_summary: Shown,
    pub held_out: Option<HeldOut>,
    pub leads: Leads,
    /// The controls, the verdict and the spectrum (`zl interpret`; `zl train` and `zl eval`
    /// show the comparison alone).
    pub beside: Option<Beside>,
}

/// What `zl interpret` adds to the comparison at large V.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Beside {
    pub spectrum: ThinSpectrum,
    pub centred_spectrum: ThinSpectrum,
    pub truncations: Truncations,
    /// The untrained control: its seeds, and each piece of evidence against it.
    pub untrained_seeds: (u64, u64),
    pub controls: Vec<EvidenceRow>,
    /// The shuffled control: how many shuffles were trained, and why none where none.
    pub shuffles: usize,
    pub shuffles_not_trained: Option<NotTrained>,
    /// Why the gap against the epoch was not measured, where it was not (the verdict holds it
    /// where it was).
    pub curve_not_measured: Option<NotTrained>,
    /// What held the wider model back, where none was trained (the verdict holds its own
    /// reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wider_not_trained: Option<NotTrained>,
    /// What held back the narrower widths the minimum is searched among, where they were not
    /// trained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_not_measured: Option<NotTrained>,
    /// The regimes, decided by the dense view's rules from these numbers, both controls, the gap
    /// curve and the wider model.
    pub verdict: Verdict,
    /// The narrowest width, among those trained at the model's epochs (the narrower ones, the
    /// model's and the wider one), whose gap is small.
    pub minimum: MinimumWidth,
    pub not_run: Vec<NotRun>,
}

/// The models trained beside a model at large V ([`super::large_retrain`]), or why not, and the
/// model's own seed and epochs.
pub struct Alongside {
    /// The model's own seed: its untrained control's first.
    pub seed: u64,
    pub epochs: u32,
    pub shuffled: Result<Vec<Weights>, NotTrained>,
    /// The model's weights at epochs of its run (ascending; its last epoch included or not).
    pub curve: Result<Vec<(u32, Weights)>, NotTrained>,
    pub wider: Result<Weights, Skipped>,
    pub narrower: Result<Vec<Weights>, Skipped>,
}

impl Alongside {
    /// Nothing trained beside weights whose training is not known: the untrained control alone
    /// (from `seed`).
    pub fn untrained_only(seed: u64) -> Alongside {
        Alongside {
            seed,
            epochs: 0,
            shuffled: Err(NotTrained::SettingsNotRecorded),
            curve: Err(NotTrained::SettingsNotRecorded),
            wider: Err(Skipped::blocked(NotRetrained::SettingsNotRecorded)),
            narrower: Err(Skipped::blocked(NotRetrained::SettingsNotRecorded)),
        }
    }
}

impl LargeView {
    /// The rows of the `max` most followed tokens that are followed at all, most followed first.
    pub fn most_followed(&self, max: usize) -> Vec<&Row> {
        self.frequent
            .iter()
            .take(max)
            .map(|&i| &self.rows[i])
            .filter(|r| r.facts.token.count > 0.0)
            .collect()
    }

    /// The comparison of `w` on `counts` (with `held`, also on the held-out part's counts),
    /// and with `alongside` (the models trained beside it) the controls, the verdict and the
    /// spectrum.
    pub fn new(
        w: &RowMajor<'_>,
        pairs: &Pairs,
        held: Option<&Pairs>,
        alongside: Option<Alongside>,
    ) -> anyhow::Result<LargeView> {
        let no_pair = || anyhow::anyhow!("no pair of tokens to compare the model with");
        let counts = &pairs.csr().ok_or_else(no_pair)?;
        let held_csr = held.map(|h| h.csr().ok_or_else(no_pair)).transpose()?;
        let held_csr = held_csr.as_ref();
        let v = w.vocab_len;
        let m = w.weights();
        let p = pass(&m, counts, held_csr, true);
        let (e, decomposition, agreement, margin) = evidence(&p, counts);
        let mut frequent: Vec<usize> = (0..v).collect();
        frequent.sort_by(|&a, &c| p.facts[c].token.count.total_cmp(&p.facts[a].token.count));
        let reach = decomposition.uniform_loss - decomposition.bigram_entropy;
        Ok(LargeView {
            vocab_len: v,
            d_model: w.d_model,
            closed: (reach > 0.0).then(|| 1.0 - decomposition.kl_weighted / reach),
            gap_leak: e.gap_leak,
            gap_seen_misfit: e.gap_seen_misfit,
            agreement,
            margin,
            seen_pairs: counts.pairs(),
            unseen_pairs: (v as u64) * (v as u64) - counts.pairs() as u64,
            beside: alongside
                .map(|a| beside(w, &m, counts, &e, &decomposition, agreement, &frequent, a)),
            evidence: e,
            shown: shown(&m, counts, zl_core::interpret::MAX_SHOWN),
            shown_summary: shown(&m, counts, super::shown::SUMMARY_SHOWN),
            held_out: held.map(|h| held_out(pairs, h, p.held_loss_sum)),
            leads: Leads::of(counts, agreement.followed),
            rows: p.rows,
            frequent,
            decomposition,
        })
    }
}

/// The comparison alone (`zl train`, `zl eval`) of weights on a corpus above [`DENSE_MAX`]
/// tokens.
pub fn comparison(
    w: &crate::data::files::Weights,
    corpus: &crate::data::corpus::Corpus,
) -> anyhow::Result<LargeView> {
    let v = corpus.vocab.len();
    if w.vocab.len() != v {
        anyhow::bail!(
            "the model has {} tokens and the corpus {v}; they must agree",
            w.vocab.len()
        );
    }
    LargeView::new(&RowMajor::of(w), &corpus.pairs, None, None)
}

/// The in-sample decomposition of weights `w` (the corpus's width or another) on `counts`.
fn decomposition_of(w: &Weights, counts: &Csr<'_>) -> Decomposition {
    let m = zi::Weights::from_row_major(counts.vocab_len(), w.d_model, &w.w_e, &w.w_u);
    evidence(&pass(&m, counts, None, false), counts).1
}

#[allow(clippy::too_many_arguments)]
fn beside(
    w: &RowMajor<'_>,
    m: &zi::Weights,
    counts: &Csr<'_>,
    e: &Evidence,
    decomposition: &Decomposition,
    agreement: Agreement,
    frequent: &[usize],
    a: Alongside,
) -> Beside {
    let (v, d) = (w.vocab_len, w.d_model);
    let seed = a.seed;
    let seeds = untrained_seeds(v, d);
    let untrained_e: Vec<Evidence> = (seed..seed + seeds)
        .map(|s| {
            let (w_e, w_u) = untrained(s, v, d);
            let u = zi::Weights::from_row_major(v, d, &w_e, &w_u);
            evidence(&pass(&u, counts, None, false), counts).0
        })
        .collect();
    // The shuffled controls, evaluated on the model's own text.
    let shuffled_e: Vec<Evidence> = a.shuffled.as_deref().map_or(vec![], |ws| {
        ws.iter()
            .map(|s| {
                let u = zi::Weights::from_row_major(v, s.d_model, &s.w_e, &s.w_u);
                evidence(&pass(&u, counts, None, false), counts).0
            })
            .collect()
    });
    let gap_of = |w: &Weights| decomposition_of(w, counts).kl_weighted;
    let trend = a.curve.as_ref().ok().map(|points| {
        let mut points: Vec<(u32, f64)> = points.iter().map(|(k, w)| (*k, gap_of(w))).collect();
        if !points.iter().any(|p| p.0 == a.epochs) {
            points.push((a.epochs, e.kl_weighted));
        }
        points.sort_by_key(|p| p.0);
        let (epochs, gap) = points.into_iter().unzip();
        GapTrend::new(epochs, gap, a.epochs)
    });
    let wider = a.wider.as_ref().map_err(|s| s.verdict).map(|w| Wider {
        d_model: w.d_model,
        gap: gap_of(w),
    });
    let centred = ThinSvd::of(m, true);
    let verdict = verdict::decide(verdict::Evidence {
        gap: e.kl_weighted,
        leak: e.gap_leak,
        misfit: e.gap_seen_misfit,
        floor: decomposition.bigram_entropy,
        uniform: decomposition.uniform_loss,
        control_gaps: untrained_e
            .iter()
            .chain(&shuffled_e)
            .map(|u| u.kl_weighted)
            .collect(),
        wider,
        trend,
    });
    let refits = a.narrower.as_ref().map_err(|s| s.verdict).map(|ws| {
        ws.iter()
            .map(|w| (w.d_model, decomposition_of(w, counts)))
            .chain([(d, *decomposition)])
            .collect::<Vec<_>>()
    });
    let minimum = MinimumWidth::from_refits(
        &refits,
        verdict.wider_model,
        verdict.small_gap,
        Some(a.epochs),
    );
    Beside {
        controls: controls(e, &untrained_e, &shuffled_e, agreement),
        untrained_seeds: (seed, seed + seeds - 1),
        spectrum: ThinSvd::of(m, false).spectrum,
        truncations: truncations(&centred, counts, frequent),
        centred_spectrum: centred.spectrum,
        shuffles: shuffled_e.len(),
        shuffles_not_trained: a.shuffled.err(),
        curve_not_measured: a.curve.err(),
        wider_not_trained: a.wider.as_ref().err().map(|s| s.why),
        minimum_not_measured: a.narrower.as_ref().err().map(|s| s.why),
        verdict,
        minimum,
        not_run: vec![
            NotRun::SeedReplication {
                work: super::controls::work(v, d, a.epochs),
            },
            NotRun::PairsOfRows,
            NotRun::Ablation,
        ],
    }
}

fn controls(
    model: &Evidence,
    untrained: &[Evidence],
    shuffled: &[Evidence],
    a: Agreement,
) -> Vec<EvidenceRow> {
    evidence_kinds(a, model.rows_with_margin)
        .iter()
        .map(|&(kind, f, margin)| {
            let cell = |runs: &[Evidence]| {
                let c: Vec<f64> = runs.iter().map(f).collect();
                let lo = c.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                ControlCell {
                    control: c[0],
                    spread: (lo, hi),
                    told: margin.judge(f(model), &c),
                }
            };
            let u = cell(untrained);
            EvidenceRow {
                kind,
                model: f(model),
                control: u.control,
                spread: u.spread,
                told: u.told,
                shuffled: (!shuffled.is_empty()).then(|| cell(shuffled)),
                margin,
                count: matches!(margin, Margin::Beyond(m) if m == COUNT_MARGIN),
            }
        })
        .collect()
}

fn shown(m: &zi::Weights, b: &Csr<'_>, max: usize) -> Shown {
    let v = b.vocab_len();
    let mut ids = vec![0; max.min(v)];
    zi::most_frequent(b, &mut ids);
    let mut logits = vec![0.0; v];
    let (mut p, mut q) = (vec![], vec![]);
    for &i in &ids {
        zi::logit_rows(m, i, &mut logits);
        let lse = zi::log_sum_exp(logits.iter().copied());
        let (cols, counts) = b.row(i);
        let n = zi::csr_row_total(b, i);
        p.push(
            ids.iter()
                .map(|&j| match cols.binary_search(&(j as u32)) {
                    Ok(k) => counts[k] as f32 as f64 / n,
                    Err(_) => 0.0,
                })
                .collect(),
        );
        q.push(ids.iter().map(|&j| (logits[j] - lse).exp()).collect());
    }
    Shown {
        hidden: v - ids.len(),
        ids,
        p,
        q,
    }
}

/// The sample's rank-k losses of the row-centred table, from its thin SVD.
fn truncations(svd: &ThinSvd, b: &Csr<'_>, frequent: &[usize]) -> Truncations {
    let v = b.vocab_len();
    let d = svd.spectrum.singular_values.len();
    let rows: Vec<usize> = frequent
        .iter()
        .copied()
        .filter(|&i| !b.row(i).0.is_empty())
        .take(TRUNCATION_ROWS)
        .collect();
    let predictions: f64 = rows.iter().map(|&i| zi::csr_row_total(b, i)).sum();
    let mut ks = vec![0];
    let mut k = 1;
    while k < d {
        ks.push(k);
        k *= 2;
    }
    ks.push(d);
    let losses = ks
        .iter()
        .map(|&k| {
            let sums: Vec<f64> = rows
                .par_iter()
                .map_init(
                    || vec![0.0f64; v],
                    |l, &i| {
                        svd.truncated_row(i, k, l);
                        let lse = zi::log_sum_exp(l.iter().copied());
                        let (cols, counts) = b.row(i);
                        cols.iter()
                            .zip(counts)
                            .map(|(&j, &c)| c as f32 as f64 * (lse - l[j as usize]))
                            .sum::<f64>()
                    },
                )
                .collect();
            (k, sums.iter().sum::<f64>() / predictions)
        })
        .collect();
    Truncations {
        rows: rows.len(),
        predictions,
        losses,
    }
}

/// The held-out numbers, with the model's summed held-out cross-entropy from its pass.
fn held_out(train: &Pairs, held: &Pairs, loss_sum: f64) -> HeldOut {
    let (unseen_predictions, unseen_pairs) = heldout::unseen(train, held);
    let predictions = held.total().unwrap_or(0);
    let table_losses: Vec<(f64, f64)> = ALPHAS
        .iter()
        .map(|&a| (a, heldout::table_loss(train, held, a)))
        .collect();
    let best_table =
        table_losses.iter().copied().fold(
            (f64::NAN, f64::INFINITY),
            |b, t| if t.1 < b.1 { t } else { b },
        );
    let model_loss = loss_sum / predictions as f32 as f64;
    HeldOut {
        predictions,
        unseen_predictions,
        unseen_pairs,
        model_loss,
        model_beats_tables: model_loss < best_table.1,
        best_table,
        table_losses,
    }
}

/// The model's mean cross-entropy on sparse counts (zl-core's `cross_entropy` without the
/// table), the rows across cores: each row's sum alone, then added in ascending row order.
pub fn cross_entropy(m: &zi::Weights, b: &Csr<'_>) -> f64 {
    let sums = each_row(m, |l, i, tl| {
        if b.row(i).0.is_empty() {
            0.0
        } else {
            zi::row_facts(l, b, i, 0, tl).loss_sum
        }
    });
    sums.iter().sum::<f64>() / zi::csr_total(b)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{
        analysis::{compare, heldout::Split},
        data::{corpus::Corpus, files::Weights},
    };

    /// The pairs of consecutive tokens.
    pub(crate) fn pairs(v: usize, tokens: &[u32]) -> Pairs {
        Pairs::from_triples(v, tokens.windows(2).map(|p| (p[0], p[1], 1)).collect()).unwrap()
    }

    fn dense(c: &Corpus) -> Vec<u64> {
        c.dense_counts().unwrap()
    }

    /// Bit for bit: the dense view and this one read one implementation.
    fn same(a: f64, b: f64, what: &str) {
        assert_eq!(a.to_bits(), b.to_bits(), "{what}: {a} vs {b}");
    }

    fn close(a: f64, b: f64, what: &str) {
        assert!(
            (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
            "{what}: {a} vs {b}"
        );
    }

    /// Weights that hold `ln P` (and −30 where a pair never occurs) exactly: W_E = I, W_U = the
    /// table, d = V. A trained-like model, with positive margins.
    fn bigram_weights(c: &Corpus) -> Weights {
        let v = c.vocab.len();
        let mut w_u = vec![0f32; v * v];
        for i in 0..v {
            let counts = dense(c);
            let n: u64 = counts[i * v..(i + 1) * v].iter().sum();
            for j in 0..v {
                let k = counts[i * v + j];
                w_u[i * v + j] = if k > 0 {
                    (k as f64 / n as f64).ln() as f32
                } else {
                    -30.0
                };
            }
        }
        let mut w_e = vec![0f32; v * v];
        (0..v).for_each(|i| w_e[i * v + i] = 1.0);
        Weights {
            vocab: c.vocab.clone(),
            d_model: v,
            w_e,
            w_u,
        }
    }

    #[test]
    fn at_small_v_the_streamed_view_gives_the_dense_numbers() {
        let c = Corpus::seed();
        let v = c.vocab.len();
        let (w_e, w_u) = untrained(3, v, 16);
        let random = Weights {
            vocab: c.vocab.clone(),
            d_model: 16,
            w_e,
            w_u,
        };
        for w in [random, bigram_weights(&c)] {
            let rm = RowMajor {
                vocab_len: v,
                d_model: w.d_model,
                w_e: &w.w_e,
                w_u: &w.w_u,
            };
            let big =
                LargeView::new(&rm, &c.pairs, None, Some(Alongside::untrained_only(0))).unwrap();
            let small = compare(&w, &c).unwrap();
            let (a, b) = (big.decomposition, small.decomposition);
            same(a.model_loss, b.model_loss, "loss");
            same(a.bigram_entropy, b.bigram_entropy, "floor");
            same(a.kl_weighted, b.kl_weighted, "gap");
            same(a.unigram_entropy, b.unigram_entropy, "unigram");
            same(big.gap_leak, small.gap_leak, "leak");
            same(big.gap_seen_misfit, small.gap_seen_misfit, "misfit");
            assert_eq!(big.agreement, small.agreement);
            assert_eq!(big.margin, small.margin);
            assert_eq!(big.seen_pairs, small.seen_pairs);
            let (e, f) = (big.evidence, small.evidence());
            same(e.indicator_r2, f.indicator_r2, "R²");
            same(
                e.seen_logit_correlation,
                f.seen_logit_correlation,
                "correlation",
            );
            same(e.seen_spread_max, f.seen_spread_max, "spread");
            assert_eq!(big.shown.ids, small.shown.ids);
            assert_eq!(big.shown_summary.ids, small.shown_summary.ids);
            for r in &big.rows {
                let i = r.token;
                let ids: Vec<usize> = r.model_top.iter().map(|n| n.token).collect();
                assert_eq!(ids, small.model_top[i], "row {i}");
                let data: Vec<usize> = r.data_top.iter().map(|n| n.token).collect();
                assert_eq!(data[..], small.data_top[i][..data.len()], "row {i}");
                for n in r.model_top.iter().chain(&r.data_top) {
                    same(n.q, small.q[i][n.token], "Q");
                    assert_eq!(n.p, small.p[i][n.token]);
                }
            }
        }
    }

    #[test]
    fn the_untrained_control_fails_a_bigram_model_and_ties_itself() {
        let c = Corpus::seed();
        let v = c.vocab.len();
        let w = bigram_weights(&c);
        let rm = RowMajor {
            vocab_len: v,
            d_model: v,
            w_e: &w.w_e,
            w_u: &w.w_u,
        };
        let gap = |view: &LargeView| {
            view.beside
                .as_ref()
                .unwrap()
                .controls
                .iter()
                .find(|r| r.kind == EvidenceKind::Gap)
                .copied()
                .unwrap()
        };
        assert_eq!(
            gap(&LargeView::new(&rm, &c.pairs, None, Some(Alongside::untrained_only(0))).unwrap())
                .told,
            Told::Fails
        );
        // The untrained model at seed 0 against its own seeds: not told apart.
        let (w_e, w_u) = untrained(0, v, 16);
        let rm = RowMajor {
            vocab_len: v,
            d_model: 16,
            w_e: &w_e,
            w_u: &w_u,
        };
        assert_eq!(
            gap(&LargeView::new(&rm, &c.pairs, None, Some(Alongside::untrained_only(0))).unwrap())
                .told,
            Told::NotToldApart
        );
    }

    #[test]
    fn token_pairs_count_as_the_dense_table_does_and_held_out_loss_matches() {
        let c = Corpus::seed();
        let v = c.vocab.len();
        let tokens: Vec<u32> = c
            .tokens(c.chars as usize)
            .unwrap()
            .iter()
            .map(|&t| t as u32)
            .collect();
        assert_eq!(pairs(v, &tokens).parts(), c.pairs.parts());
        let split = Split::new(&c, 0.25).unwrap();
        let (train, held) = (split.train.pairs.clone(), split.held.clone());
        let (w_e, w_u) = untrained(1, v, 8);
        let w = Weights {
            vocab: c.vocab.clone(),
            d_model: 8,
            w_e,
            w_u,
        };
        let rm = RowMajor {
            vocab_len: v,
            d_model: 8,
            w_e: &w.w_e,
            w_u: &w.w_u,
        };
        let view = LargeView::new(&rm, &train, Some(&held), None).unwrap();
        let h = view.held_out.unwrap();
        close(h.model_loss, split.model_loss(&w).unwrap(), "held-out loss");
        assert_eq!((h.unseen_predictions, h.unseen_pairs), split.unseen());
        for ((a, x), (b, y)) in h
            .table_losses
            .iter()
            .zip(ALPHAS.iter().map(|&a| (a, split.table_loss(a))))
        {
            assert_eq!(*a, b);
            assert!(x == &y || (x - y).abs() < 1e-12 * y, "{x} {y}");
        }
    }

    /// A synthetic text over `v` tokens: each token is followed by one of two (a Markov chain
    /// of xorshift draws), so the pairs that occur stay near 2V however long the text.
    fn markov(v: usize, n: usize) -> Vec<u32> {
        let mut x = 0x9e3779b97f4a7c15u64;
        let mut t = 0u32;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                t = ((t as u64 * 7919 + 1 + (x & 1) * 31) % v as u64) as u32;
                t
            })
            .collect()
    }

    #[test]
    fn held_out_leads_where_the_floor_is_optimistic_and_not_where_it_is_not() {
        let v = 5_000;
        let (w_e, w_u) = untrained(0, v, 4);
        let rm = RowMajor {
            vocab_len: v,
            d_model: 4,
            w_e: &w_e,
            w_u: &w_u,
        };
        let leads = |n: usize| {
            let counts = pairs(v, &markov(v, n));
            LargeView::new(&rm, &counts, None, None).unwrap().leads
        };
        // 20k tokens over ~10k pairs: the in-sample floor is ~0.09 nats optimistic.
        let short = leads(20_000);
        assert!(
            short.held_out_leads && short.floor_optimism > 0.05,
            "{short:?}"
        );
        // The same source, 2M tokens: ~0.0013 nats; the in-sample numbers lead.
        let long = leads(2_000_000);
        assert!(
            !long.held_out_leads && long.floor_optimism < 0.005,
            "{long:?}"
        );
    }
}

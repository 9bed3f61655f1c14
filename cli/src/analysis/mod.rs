//! What zl computes about a model on a text, for every command that shows it: the per-token
//! comparison ([`Comparison`], which `zl train` prints and `zl interpret` starts from) and the
//! whole analysis ([`Analysis`], for `zl interpret` and `zl report`), and the sweep's verdict
//! ([`sweep`]). The maths is `zl_core::interpret` (f64 on the f32 weights, at the model's own
//! size); this layer gathers it into what the commands show. It never prints.

pub mod controls;
pub mod heldout;
pub mod large;
pub mod large_retrain;
pub mod mechanism;
pub mod sample;
mod shown;
pub mod sweep;
pub mod verdict;
pub mod width;

pub use shown::Shown;

use std::{path::PathBuf, time::Instant};

use anyhow::{anyhow, bail, Context, Result};
pub use zl_core::interpret::{Agreement, MarginSummary};
use zl_core::{
    interpret::{self as zi, Ablation, Counts, Decomposition, GapRow, TokenRow},
    Csr,
};

use crate::{
    backend::Job,
    data::{
        corpus::{Corpus, NoText, Source},
        files::{VocabFrom, Weights},
        vocab::Vocab,
    },
};

/// How many next tokens the model's own lists hold.
pub const TOP: usize = 3;

/// The data's next-token distributions beside the model's, token by token: the numbers behind
/// `zl train`'s table and `zl interpret`'s sections 1 and 2.
pub struct Comparison {
    /// The tokens, in id order.
    pub vocab: Vocab,
    pub d_model: usize,
    pub decomposition: Decomposition,
    /// The model's loss from its own f32 forward, as training reports it.
    pub model_loss_f32: f64,
    /// Bigram counts C, the data's P(next|cur) and the model's Q = softmax(W_E W_U), by
    /// [current][next].
    pub counts: Vec<Vec<f64>>,
    pub p: Vec<Vec<f64>>,
    pub q: Vec<Vec<f64>>,
    pub rows: Vec<TokenRow>,
    /// Per row: every next token that occurs, most frequent first (lower id first among equals).
    pub data_top: Vec<Vec<usize>>,
    /// Per row: the model's [`TOP`] most likely next tokens by its exact f64 log Q (only
    /// bit-equal values tie, lower id first): the first is `rows[i].model_top`.
    pub model_top: Vec<Vec<usize>>,
    /// Per row: the KL gap split into the leak onto unseen pairs and the misfit on seen ones.
    pub gap_rows: Vec<GapRow>,
    /// Per row: `n_i/N`, its share of the next-token predictions (the weight of its gap).
    pub row_weights: Vec<f64>,
    /// `Σ_i (n_i/N)·leak_i` and `Σ_i (n_i/N)·misfit_i`: they sum to `kl_weighted`.
    pub gap_leak: f64,
    pub gap_seen_misfit: f64,
    /// Per row: weakest seen logit − strongest unseen logit (`None`: no seen or no unseen pair).
    pub margins: Vec<Option<f64>>,
    /// The seen/unseen indicator's fit to the row-centred table: (β, R²).
    pub indicator_fit: (f64, f64),
    /// Over the seen pairs: the Pearson correlation of the row-centred logits (centred over the
    /// row's seen pairs) with ln P (centred likewise), pooled over rows with two or more.
    pub seen_logit_correlation: f64,
    /// Per row, the spread of its seen pairs about y = x in that comparison: the RMS of
    /// (centred logit − centred ln P) over the row's seen pairs, for rows with at least two
    /// (a row with one seen pair has nothing to spread: `None`).
    pub seen_spread: Vec<Option<f64>>,
    /// The largest of `seen_spread` (0 when no row has two seen pairs).
    pub seen_spread_max: f64,
    /// The rows with a `seen_spread` (two seen pairs or more).
    pub seen_spread_rows: usize,
    /// The top-1 agreement.
    pub agreement: Agreement,
    /// The margins' summary.
    pub margin: MarginSummary,
    /// Pairs (current, next) that never occur in the text, and those that do.
    pub unseen_pairs: usize,
    pub seen_pairs: usize,
    /// Per row: its part of the gap, `(n_i/N)·KL(P_i‖Q_i)`.
    pub gap_by_row: Vec<f64>,
    /// The rows followed by something, the largest part of the gap first (lower id first among
    /// equals).
    pub gap_order: Vec<usize>,
    /// The fraction of the way from uniform predictions to the floor the model has closed,
    /// `1 − gap / (ln V − H(next|current))` (`None` when uniform is the floor: one character).
    pub closed: Option<f64>,
    /// The characters the heatmaps show, and the summary's fewer ([`shown::SUMMARY_SHOWN`]).
    pub shown: Shown,
    pub shown_summary: Shown,
    evidence: Evidence,
}

impl Comparison {
    /// The pieces of evidence, by name, for the controls' side-by-side table and the JSON.
    pub fn evidence(&self) -> Evidence {
        self.evidence
    }
}

impl Evidence {
    /// The evidence in a summary of the rows.
    pub fn of(s: &zi::Summary) -> Evidence {
        let (a, m) = (s.agreement, s.margin);
        Evidence {
            model_loss: s.decomposition.model_loss,
            kl_weighted: s.decomposition.kl_weighted,
            gap_leak: s.gap_leak,
            gap_seen_misfit: s.gap_seen_misfit,
            argmax_agreement: a.agree,
            single_max_agreement: a.single_max_agree,
            positive_margins: m.positive,
            rows_with_margin: m.rows,
            indicator_r2: s.indicator_r2,
            seen_logit_correlation: s.seen_logit_correlation,
            seen_spread_max: s.seen_spread_max,
        }
    }
}

/// What is evidence about a trained model: each number an untrained model, or one trained on a
/// shuffled text, should fail (the report shows the three side by side).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Evidence {
    pub model_loss: f64,
    pub kl_weighted: f64,
    pub gap_leak: f64,
    pub gap_seen_misfit: f64,
    pub argmax_agreement: usize,
    pub single_max_agreement: usize,
    pub positive_margins: usize,
    pub rows_with_margin: usize,
    pub indicator_r2: f64,
    pub seen_logit_correlation: f64,
    /// [`Comparison::seen_spread_max`].
    pub seen_spread_max: f64,
}

/// Which number an [`EvidenceRow`] holds (render names it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// The gap `Σ_i (n_i/N)·KL(P_i‖Q_i)`, in nats.
    Gap,
    /// Its part from the leak onto unseen pairs.
    GapLeak,
    /// Its part from the misfit on seen pairs.
    GapMisfit,
    /// Rows whose top-1 is a most frequent next character, of `rows` followed.
    TopOneAgrees { rows: usize },
    /// The same among the `rows` rows with a single maximum.
    SingleMaxAgrees { rows: usize },
    /// Rows with every unseen logit below every seen one, of `rows` with a margin.
    PositiveMargins { rows: usize },
    /// R² of the row-centred table by the seen/unseen indicator.
    IndicatorR2,
    /// The correlation of seen logits with ln P (row-centred).
    SeenCorrelation,
    /// The largest row spread of seen logits about ln P (RMS, row-centred).
    SeenSpread,
}

/// How a control stands against the model on one piece of evidence, by its row's [`Margin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Told {
    /// Every run of the control does worse than the model, by the margin.
    Fails,
    /// The model is within the control's spread widened by the margin: a near-tie.
    NotToldApart,
    /// Every run of the control does better than the model, by the margin.
    DoesBetter,
}

/// The margin by which a control must do worse than the model to fail a piece of evidence.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Margin {
    /// Lower is better (a gap, a spread): the control's lowest value is at least this factor
    /// times the model's (and "does better" with the roles swapped).
    Factor(f64),
    /// Higher is better (a count, a ratio): the model is beyond the control's highest value by
    /// the control's own spread (highest − lowest), and by at least this.
    Beyond(f64),
}

impl Margin {
    /// Where the model stands against a control's values (not empty).
    fn judge(self, model: f64, control: &[f64]) -> Told {
        let lo = control.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = control.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        match self {
            Margin::Factor(f) => {
                if lo >= f * model.max(f64::MIN_POSITIVE) {
                    Told::Fails
                } else if model >= f * hi.max(f64::MIN_POSITIVE) {
                    Told::DoesBetter
                } else {
                    Told::NotToldApart
                }
            }
            Margin::Beyond(m) => {
                let widen = (hi - lo).max(m);
                if model >= hi + widen {
                    Told::Fails
                } else if model <= lo - widen {
                    Told::DoesBetter
                } else {
                    Told::NotToldApart
                }
            }
        }
    }
}

/// One line of the evidence-and-controls table: a number on the trained model and on each
/// control, each control's spread over its null distribution, and how each stands against the
/// model by the row's margin.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct EvidenceRow {
    pub kind: EvidenceKind,
    /// Trained, untrained (the model's own seed), shuffled (shuffle 0).
    pub values: [f64; 3],
    /// A count (printed as a whole number) rather than nats or a ratio.
    pub count: bool,
    /// Per control (untrained, shuffled): its lowest and highest value over its runs.
    pub spread: [(f64, f64); 2],
    /// Per control (untrained, shuffled).
    pub told: [Told; 2],
    pub margin: Margin,
}

impl EvidenceRow {
    /// Whether both controls fail it.
    pub fn controls_fail(&self) -> bool {
        self.told == [Told::Fails; 2]
    }
}

/// A control does worse on a gap-like number (lower is better) when its value is at least this
/// many times the model's: far from a close call, and clear of f64 rounding at any gap.
pub const GAP_FAIL_FACTOR: f64 = 10.0;

/// A control does worse on a count of rows when the model has at least this many rows more
/// than its best run (and at least the spread of its runs).
pub const COUNT_MARGIN: f64 = 2.0;

/// A control does worse on a ratio (R², a correlation: both at most 1) when the model is at
/// least this far above its best run (and at least the spread of its runs).
pub const RATIO_MARGIN: f64 = 0.1;

impl Analysis {
    /// The evidence beside its controls, one row a number.
    pub fn evidence_rows(&self) -> Vec<EvidenceRow> {
        let model = self.cmp.evidence();
        let all: Vec<(ControlKind, Evidence)> = self.controls.all().collect();
        let a = self.cmp.agreement;
        let row = |kind, f: &dyn Fn(&Evidence) -> f64, margin: Margin| {
            let of = |k: ControlKind| -> Vec<f64> {
                all.iter().filter(|c| c.0 == k).map(|c| f(&c.1)).collect()
            };
            let (u, s) = (of(ControlKind::Untrained), of(ControlKind::Shuffled));
            let range = |x: &[f64]| {
                let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
                (lo, x.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            };
            let m = f(&model);
            EvidenceRow {
                kind,
                values: [m, u[0], s[0]],
                count: matches!(
                    kind,
                    EvidenceKind::TopOneAgrees { .. }
                        | EvidenceKind::SingleMaxAgrees { .. }
                        | EvidenceKind::PositiveMargins { .. }
                ),
                spread: [range(&u), range(&s)],
                told: [margin.judge(m, &u), margin.judge(m, &s)],
                margin,
            }
        };
        evidence_kinds(a, model.rows_with_margin)
            .iter()
            .map(|&(kind, f, margin)| row(kind, &f, margin))
            .collect()
    }
}

/// Reads one piece of evidence.
pub type Read = fn(&Evidence) -> f64;

/// The pieces of evidence in the table's order: each with how it is read and the margin a
/// control must miss it by; `a` and `rows_with_margin` are the model's (the rows each count is
/// out of).
pub fn evidence_kinds(a: Agreement, rows_with_margin: usize) -> [(EvidenceKind, Read, Margin); 9] {
    let lower = Margin::Factor(GAP_FAIL_FACTOR);
    let (count, ratio) = (Margin::Beyond(COUNT_MARGIN), Margin::Beyond(RATIO_MARGIN));
    use EvidenceKind as K;
    [
        (K::Gap, |e| e.kl_weighted, lower),
        (K::GapLeak, |e| e.gap_leak, lower),
        (K::GapMisfit, |e| e.gap_seen_misfit, lower),
        (
            K::TopOneAgrees { rows: a.followed },
            |e| e.argmax_agreement as f64,
            count,
        ),
        (
            K::SingleMaxAgrees { rows: a.single_max },
            |e| e.single_max_agreement as f64,
            count,
        ),
        (
            K::PositiveMargins {
                rows: rows_with_margin,
            },
            |e| e.positive_margins as f64,
            count,
        ),
        (K::IndicatorR2, |e| e.indicator_r2, ratio),
        (K::SeenCorrelation, |e| e.seen_logit_correlation, ratio),
        (K::SeenSpread, |e| e.seen_spread_max, lower),
    ]
}

/// A control: a model that should fail the evidence, analysed on the same text.
pub struct Control {
    pub what: ControlWhat,
    pub cmp: Comparison,
}

/// What a control is and how it was made (render says it in words).
#[derive(Clone, Debug)]
pub enum ControlWhat {
    /// `init_torch(seed)` at epoch 0; beside it the next seeds, `beside.0` to `beside.1`.
    Untrained { seed: u64, beside: (u64, u64) },
    /// Trained with `config` on `text` (a shuffle), evaluated on the original text; beside it
    /// `more` further shuffles.
    Shuffled {
        config: zl_core::TrainConfig,
        text: crate::data::corpus::Source,
        more: usize,
    },
}

/// The two controls beside every piece of evidence, each with its null distribution.
pub struct Controls {
    /// The same model at epoch 0: its `init_torch` weights.
    pub untrained: Control,
    /// The same training on a shuffled text (the same characters, bigrams destroyed), evaluated
    /// on the original text.
    pub shuffled: Control,
    /// The evidence of the untrained model at the next seeds, and of the model trained on the
    /// other shuffles: with the two above, the controls' spread.
    pub untrained_null: Vec<Evidence>,
    pub shuffled_null: Vec<Evidence>,
}

/// Which control a number comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlKind {
    Untrained,
    Shuffled,
}

impl Controls {
    /// Every control's evidence: the untrained ones, then the shuffled ones.
    pub fn all(&self) -> impl Iterator<Item = (ControlKind, Evidence)> + '_ {
        let untrained = std::iter::once(self.untrained.cmp.evidence())
            .chain(self.untrained_null.iter().copied())
            .map(|e| (ControlKind::Untrained, e));
        let shuffled = std::iter::once(self.shuffled.cmp.evidence())
            .chain(self.shuffled_null.iter().copied())
            .map(|e| (ControlKind::Shuffled, e));
        untrained.chain(shuffled)
    }
}

/// Everything `zl interpret` and `zl report` show about one model, computed (never stored).
pub struct Analysis {
    pub cmp: Comparison,
    /// The start of the corpus (at most [`TEXT_SHOWN`] tokens), decoded for display, and how
    /// many tokens it is.
    pub text: String,
    pub text_tokens: usize,
    /// The corpus's length in characters, and N, the number of next-token predictions.
    pub corpus_chars: usize,
    pub predictions: f64,
    /// Characters the ablation reruns position by position: the whole corpus, or the first
    /// [`ablation_chars`] of a longer one.
    pub ablation_chars: usize,
    /// Where the model came from.
    pub source: Origin,
    /// Its training budget, which every quoted gap depends on.
    pub budget: Budget,
    /// Its settings, which every model trained beside it took.
    pub training: Training,
    /// The training curve (the notebook's `train_losses`), when the model was trained here.
    pub losses: Option<Vec<f32>>,
    /// The gap to the floor after each epoch of `losses`: loss − H(next|current).
    pub gaps: Option<Vec<f64>>,
    pub ablations: Vec<Ablation>,
    /// Over all ablations: the predictions that changed away from the ablated token, and the
    /// sum of the Δloss where it is current.
    pub ablation_changed_elsewhere: usize,
    pub ablation_delta_total: f64,
    /// Predictions the ablation compares (`ablation_chars − 1`), and whether those characters
    /// are the whole text.
    pub ablated_predictions: usize,
    pub ablation_whole_text: bool,
    /// Why the ablation was not run (a corpus of counts alone has no text to rerun), if so:
    /// then `ablations` and `text` are empty.
    pub ablation_not_run: Option<AblationNotRun>,
    pub substitution_loss: f64,
    /// `substitution_loss − H(next|current)` (0 but for rounding), and the model's loss above
    /// `substitution_loss` (the gap, computed the other way).
    pub substitution_minus_floor: f64,
    pub model_above_substitution: f64,
    pub singular_values: Vec<f64>,
    pub rank_threshold: f64,
    pub rank: usize,
    /// `rank_losses[k]`: the loss with W_E W_U truncated to rank k, k = 0..=vocab. Not
    /// invariant to the per-row shift softmax ignores, so not monotone in k.
    pub rank_losses: Vec<f64>,
    /// `rank_losses` from rank − 1 to rank, and from rank to V.
    pub rank_loss_steps: [f64; 2],
    /// The same for the row-centred table: its singular values, and the loss of each rank-k
    /// truncation, k = 0..=vocab.
    pub centred_singular_values: Vec<f64>,
    pub centred_rank_losses: Vec<f64>,
    /// The row-centred table's top singular directions.
    pub directions: Vec<Direction>,
    /// The weights themselves: successor classes, embedding patches, seed replication.
    pub mechanism: mechanism::Mechanism,
    /// Every seen pair as (row, ln P − its row's mean over seen pairs, logit − likewise), for the
    /// figure of logits against ln P.
    pub seen_points: Vec<(usize, f64, f64)>,
    /// The sanity checks on the untrained model (epoch 0): they hold for any weights.
    pub untrained_sanity: Sanity,
    pub controls: Controls,
    /// Models retrained at smaller d_model with the same settings: (d_model, f64 loss), where
    /// they were trained (not for a loaded model, nor on the PTX interpreter, nor past a work
    /// budget); the fair counterpart of a rank-k truncation.
    pub refit_losses: Option<Vec<(usize, f64)>>,
    /// The gap against the epoch, where it was measured (`zl interpret` and `zl report` train
    /// it; a loaded model has none, and neither has a run on the PTX interpreter).
    pub gap_curve: Option<GapCurve>,
    /// Which regimes hold and where the gap lives, decided from the numbers above.
    pub verdict: verdict::Verdict,
    /// The smallest width that reaches the small gap, the counting argument, and what a
    /// narrower model gives up.
    pub capacity: width::Capacity,
    pub analysis_seconds: f64,
    /// With `--val-fraction`: the held-out numbers (the loss curve's second line).
    pub held_out: Option<heldout::HeldOut>,
}

/// The facts of the architecture, for one model: true for any weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sanity {
    /// Predictions that changed away from the ablated token, over all ablations.
    pub ablation_changed_elsewhere: usize,
    /// The loss with ln P as logits (it reads only the counts).
    pub substitution_loss: f64,
    /// The numerical rank of W_E·W_U, and its bound.
    pub rank: usize,
    pub d_model: usize,
}

/// One singular direction of the row-centred table: `σ u vᵀ`, `u` over the current character,
/// `v` over the next.
#[derive(serde::Serialize)]
pub struct Direction {
    pub sigma: f64,
    /// The characters that load most on `u` and on `v` (largest |loading| first), with their
    /// loadings.
    #[serde(skip)]
    pub current: Vec<(usize, f64)>,
    #[serde(skip)]
    pub next: Vec<(usize, f64)>,
    /// Pearson correlations of `u` with how often each character is current (n_i), and of `v`
    /// with how often it is next; and of both with the vowel class (letters only: 1 for
    /// a e i o u in either case, 0 for other letters).
    #[serde(rename = "current_frequency_correlation")]
    pub current_frequency: f64,
    #[serde(rename = "next_frequency_correlation")]
    pub next_frequency: f64,
    #[serde(rename = "current_vowel_correlation")]
    pub current_vowel: f64,
    #[serde(rename = "next_vowel_correlation")]
    pub next_vowel: f64,
    /// The least over the seed replicas of its best match among each replica's directions
    /// ([`mechanism::matched`]), and whether that is at least [`mechanism::MATCH_COSINE`] (None
    /// without replicas).
    pub stability: Option<f64>,
    pub stable: Option<bool>,
    /// Its best match among the directions of the row-centred 0/1 seen matrix (which pairs
    /// occur, and nothing else), and whether that is at least [`mechanism::MATCH_COSINE`].
    #[serde(rename = "seen_pattern_cosine")]
    pub seen_pattern: f64,
    pub is_seen_pattern: bool,
}

/// The gap `Σ_i (n_i/N)·KL(P_i‖Q_i)` (exact f64) against the epoch, at the run's weight decay
/// and without weight decay, the rest of the run's settings kept.
pub struct GapCurve {
    pub weight_decay: f64,
    /// (epoch, gap with `weight_decay`, gap without).
    pub points: Vec<(u32, f64, f64)>,
}

/// How many singular directions the analysis describes, and characters per direction.
pub const DIRECTIONS: usize = 3;
pub const LOADINGS: usize = 5;

/// Tokens of the corpus that the text report, the JSON and the HTML page show.
pub const TEXT_SHOWN: usize = 2_000;

fn table(v: usize, f: impl Fn(usize, usize) -> f64) -> Vec<Vec<f64>> {
    (0..v).map(|i| (0..v).map(|j| f(i, j)).collect()).collect()
}

/// The `n` ids of `0..v` with the highest `score`, highest first (lower id first among
/// bit-equal scores): zl-core's one ranking.
fn ranked(score: impl Fn(usize) -> f64, v: usize, n: usize) -> Vec<usize> {
    let mut out = vec![0; n.min(v)];
    zi::ranked(score, v, &mut out);
    out
}

/// The model and the counts at their own sizes, checked to share a vocabulary.
fn subject(w: &Weights, corpus: &Corpus) -> Result<(zi::Weights, Counts)> {
    let v = corpus.vocab.len();
    let m = weights_on(w, corpus)?;
    let b = Counts::from_table(v, &corpus.dense_counts()?).map_err(|e| anyhow!("{e}"))?;
    Ok((m, b))
}

/// The comparison of a model and counts (`b` dense, `pairs` the same counts sparse);
/// `model_loss_f32` is the model's loss from its own f32 forward (the training path's).
fn compare_at(
    m: &zi::Weights,
    b: &Counts,
    pairs: &Csr<'_>,
    vocab: &Vocab,
    model_loss_f32: f64,
) -> Comparison {
    let v = b.vocab_len();
    let l = zi::logit_table(m);
    let log_q = zi::log_softmax(&l);
    let large::Pass { facts, sums, .. } = large::pass(m, pairs, None, false);
    let summary = zi::summarise(&facts, &sums, pairs);
    let decomposition = summary.decomposition;
    let row_weights: Vec<f64> = (0..v).map(|i| b.row_total(i) / b.total()).collect();
    let rows: Vec<TokenRow> = facts.iter().map(|f| f.token).collect();
    let counts = table(v, |i, j| b.count(i, j));
    let gap_by_row: Vec<f64> = (0..v).map(|i| row_weights[i] * rows[i].kl).collect();
    let mut gap_order: Vec<usize> = (0..v).filter(|&i| rows[i].count > 0.0).collect();
    gap_order.sort_by(|&a, &c| gap_by_row[c].total_cmp(&gap_by_row[a]).then(a.cmp(&c)));
    let reach = decomposition.uniform_loss - decomposition.bigram_entropy;
    let unseen_pairs = v * v - pairs.pairs();
    Comparison {
        shown: Shown::of(&counts, pairs),
        shown_summary: Shown::at_most(&counts, pairs, shown::SUMMARY_SHOWN),
        vocab: vocab.clone(),
        d_model: m.d_model(),
        closed: (reach > 0.0).then(|| 1.0 - decomposition.kl_weighted / reach),
        decomposition,
        model_loss_f32,
        agreement: summary.agreement,
        unseen_pairs,
        seen_pairs: pairs.pairs(),
        counts,
        // P in f64 (Bigrams::probability divides in f32).
        p: table(v, |i, j| {
            let n = b.row_total(i);
            if n > 0.0 {
                b.count(i, j) / n
            } else {
                0.0
            }
        }),
        rows,
        data_top: (0..v)
            .map(|i| {
                let seen = (0..v).filter(|&j| b.count(i, j) > 0.0).count();
                ranked(|j| b.count(i, j), v, seen)
            })
            .collect(),
        model_top: (0..v).map(|i| ranked(|j| log_q[(i, j)], v, TOP)).collect(),
        q: table(v, |i, j| log_q[(i, j)].exp()),
        gap_leak: summary.gap_leak,
        gap_seen_misfit: summary.gap_seen_misfit,
        gap_rows: facts.iter().map(|f| f.gap).collect(),
        row_weights,
        gap_by_row,
        gap_order,
        margin: summary.margin,
        margins: facts.iter().map(|f| f.margin).collect(),
        indicator_fit: (summary.indicator_beta, summary.indicator_r2),
        seen_logit_correlation: summary.seen_logit_correlation,
        seen_spread_max: summary.seen_spread_max,
        seen_spread: sums.iter().map(|s| s.spread).collect(),
        seen_spread_rows: sums.iter().filter(|s| s.spread.is_some()).count(),
        evidence: Evidence::of(&summary),
    }
}

/// The comparison of saved or trained weights on a corpus.
pub fn compare(w: &Weights, corpus: &Corpus) -> Result<Comparison> {
    let (m, b) = subject(w, corpus)?;
    let v = w.vocab.len();
    let f32_loss = zl_core::loss::loss_at(v, w.d_model, &w.w_e, &w.w_u, &corpus.dense_counts()?);
    Ok(compare_at(
        &m,
        &b,
        &pairs(corpus)?,
        &w.vocab,
        f32_loss as f64,
    ))
}

/// The weights `w` for the analysis of `corpus`, whose vocabulary they must share.
fn weights_on(w: &Weights, corpus: &Corpus) -> Result<zi::Weights> {
    let v = corpus.vocab.len();
    if w.vocab.len() != v {
        bail!(
            "the model has {} tokens and the corpus {v}; they must agree",
            w.vocab.len()
        );
    }
    Ok(zi::Weights::from_row_major(v, w.d_model, &w.w_e, &w.w_u))
}

/// The corpus's counts as sparse rows.
fn pairs(corpus: &Corpus) -> Result<Csr<'_>> {
    corpus
        .pairs
        .csr()
        .ok_or_else(|| anyhow!("no pair of tokens to compare the model with"))
}

/// The loss decomposition alone (no tables, no f32 forward, no lists): for loops that need one
/// number a checkpoint.
pub fn decompose(w: &Weights, corpus: &Corpus) -> Result<Decomposition> {
    let m = weights_on(w, corpus)?;
    let b = pairs(corpus)?;
    let large::Pass { facts, sums, .. } = large::pass(&m, &b, None, false);
    Ok(zi::summarise(&facts, &sums, &b).decomposition)
}

/// The most characters of a --corpus file that the position-by-position ablation reruns (the
/// decomposition, table, substitution and spectrum always use the whole text's counts).
pub const ABLATION_CHARS: usize = 1 << 22;
/// The ablation's budget, in multiply-adds: each of `v` ablations reruns every position through
/// the model and the ablated model, `v·d` multiply-adds (and `v` exps) a position each, so a text
/// of `n` characters costs about `2·n·v²·d`. 2^32 is a few seconds on one core (measured: 2.5 ns
/// per `n·v²·d`, 251 s for a 10^6-character text of 80 characters at d_model 16 uncapped).
pub const ABLATION_WORK: usize = 1 << 32;
/// The fewest characters the ablation reruns, whatever the budget says.
pub const ABLATION_MIN_CHARS: usize = 1 << 10;

/// How many characters the ablation reruns for `v` tokens and `d_model` `d`: as many as
/// [`ABLATION_WORK`] allows, from [`ABLATION_MIN_CHARS`] up to [`ABLATION_CHARS`].
pub fn ablation_chars(v: usize, d: usize) -> usize {
    (ABLATION_WORK / (2 * v * v * d).max(1)).clamp(ABLATION_MIN_CHARS, ABLATION_CHARS)
}

/// The models an analysis sets beside the one it analyses, each a small null distribution.
pub struct ControlWeights {
    /// The model at epoch 0: at its own seed first, then at the next seeds.
    pub untrained: Vec<Weights>,
    pub untrained_what: ControlWhat,
    /// The model trained the same way on shuffled texts (shuffle 0 at its own seed first).
    pub shuffled: Vec<Weights>,
    pub shuffled_what: ControlWhat,
}

/// A training setting a loaded weights file may not record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    Seed,
    Epochs,
    Lr,
    WeightDecay,
}

/// A comparison that retrains the model, and so is fair only with its own settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Retraining {
    /// The untrained control: its first seed is the model's own init.
    UntrainedControl,
    /// The shuffled control, trained like the model.
    ShuffledControl,
    /// The gap against the epoch, and every other model trained with the model's settings
    /// (refits, wider models, seed replicas): not trained without them.
    Retrained,
}

/// How the analysed model was trained, as far as known: the settings every model trained beside
/// it takes (the controls, the gap curve, the refits and any other retraining).
#[derive(Clone, Debug, PartialEq)]
pub struct Training {
    pub job: Job,
    /// The settings a loaded file does not record: the notebook's stand in for them.
    pub unrecorded: Vec<Setting>,
}

impl Training {
    /// Whether the settings are the model's own, every one.
    pub fn known(&self) -> bool {
        self.unrecorded.is_empty()
    }

    /// The comparisons that could not be made fairly, for want of the settings they need.
    pub fn unfair(&self) -> Vec<Retraining> {
        let mut out = vec![];
        if self.unrecorded.contains(&Setting::Seed) {
            out.push(Retraining::UntrainedControl);
        }
        if !self.known() {
            out.extend([Retraining::ShuffledControl, Retraining::Retrained]);
        }
        out
    }
}

impl serde::Serialize for Training {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// The settings' schema: the job's, flat, and what was not recorded and not fair.
        #[derive(serde::Serialize)]
        struct Schema<'a> {
            #[serde(flatten)]
            job: &'a Job,
            unrecorded: &'a [Setting],
            unfair: Vec<Retraining>,
        }
        Schema {
            job: &self.job,
            unrecorded: &self.unrecorded,
            unfair: self.unfair(),
        }
        .serialize(s)
    }
}

/// Where a model came from.
#[derive(Clone, Debug)]
pub enum Origin {
    /// Weights read from a file, with the corpus they are looked at on.
    Loaded {
        path: PathBuf,
        d_model: usize,
        corpus: Source,
        vocabulary: VocabFrom,
    },
    /// A model trained here: the backend's name, the corpus, the job, and its training time
    /// where it is shown (never in `zl sample` and `zl run`, whose bytes are the same from run
    /// to run).
    Trained {
        backend: String,
        corpus: Source,
        job: Job,
        seconds: Option<f64>,
    },
}

impl Origin {
    /// This origin with a trained model's training time, where it is known.
    pub fn timed(self, time: Option<f64>) -> Self {
        match self {
            Origin::Trained {
                backend,
                corpus,
                job,
                ..
            } => Origin::Trained {
                backend,
                corpus,
                job,
                seconds: time,
            },
            loaded => loaded,
        }
    }
}

/// The training budget behind a model: its epochs, or not recorded (a loaded file's).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    Epochs(u32),
    Unrecorded,
}

impl Budget {
    /// The budget `training` records.
    pub fn of(training: &Training) -> Self {
        match training.unrecorded.contains(&Setting::Epochs) {
            true => Budget::Unrecorded,
            false => Budget::Epochs(training.job.config.epochs),
        }
    }
}

/// Why the ablation was not run: it reruns the text itself, and the corpus has none.
#[derive(Clone, Debug, PartialEq)]
pub struct AblationNotRun(pub NoText);

/// Where the analysed model came from, as the command that obtained it says.
pub struct Provenance {
    /// Where the model came from.
    pub source: Origin,
    /// Its training budget.
    pub budget: Budget,
    /// Its settings, which every model trained beside it takes.
    pub training: Training,
    /// Its training curve, when it was trained here.
    pub losses: Option<Vec<f32>>,
}

/// What was trained beside the model to measure it by ([`controls`]), and its held-out numbers.
pub struct Beside {
    pub controls: ControlWeights,
    pub gap_curve: Option<GapCurve>,
    pub retrained: controls::Retrained,
    /// With `--full`: the until-gap search for the minimum width, at most this tolerance.
    pub until_gap: Option<(sweep::UntilGap, f64)>,
    pub held_out: Option<heldout::HeldOut>,
    pub replicas: Replicas,
}

/// The same run from other seeds ([`controls::replicas`]), and how many seeds were asked for
/// (the analysed model counts as one).
pub struct Replicas {
    pub requested: usize,
    pub models: Result<Vec<Weights>, mechanism::NotReplicated>,
}

/// Analyses weights on a corpus: the comparison, the ablation (over the first
/// [`ablation_chars`] characters), substitution and the spectra, the sanity checks on the
/// untrained model, and the controls.
pub fn analyse(
    w: &Weights,
    corpus: &Corpus,
    provenance: Provenance,
    beside: Beside,
) -> Result<Analysis> {
    let start = Instant::now();
    let ablation_not_run = corpus.without_text().map(AblationNotRun);
    // At most the corpus's own characters: a --val-fraction training part is the head of a text
    // whose tail it does not count.
    let tokens = match ablation_not_run {
        None => {
            corpus.tokens(ablation_chars(w.vocab.len(), w.d_model).min(corpus.chars as usize))?
        }
        Some(_) => Vec::new(),
    };
    let (m, b) = subject(w, corpus)?;
    let v = b.vocab_len();
    let ablate = |m: &zi::Weights| {
        use rayon::prelude::*;
        // Not run without a text to rerun (Analysis::ablation_not_run says why). The rows are
        // independent: one per core.
        (0..v)
            .into_par_iter()
            .filter(|_| !tokens.is_empty())
            .map(|i| zi::ablate_embedding_row(m, &tokens, i))
            .collect::<Result<Vec<_>, _>>()
            .context("running the corpus through the model")
    };
    let cmp = compare(w, corpus)?;
    let ablations = ablate(&m)?;
    let l = zi::logit_table(&m);
    let spectrum = zi::Spectrum::of(&l);
    let centred = zi::Spectrum::of(&zi::row_centred(&l));
    let ControlWeights {
        untrained: untrained_w,
        untrained_what,
        shuffled: shuffled_w,
        shuffled_what,
    } = beside.controls;
    let (untrained, _) = subject(&untrained_w[0], corpus)?;
    let replicas: Result<Vec<mechanism::Model<'_>>, _> = match &beside.replicas.models {
        Ok(ms) => Ok(ms
            .iter()
            .map(|r| mechanism::Model {
                w_e: &r.w_e,
                w_u: &r.w_u,
            })
            .collect()),
        Err(why) => Err(*why),
    };
    let spectra = match &beside.replicas.models {
        Ok(ms) => Some(
            ms.iter()
                .map(|r| {
                    let (m, _) = subject(r, corpus)?;
                    Ok(zi::Spectrum::of(&zi::row_centred(&zi::logit_table(&m))))
                })
                .collect::<Result<Vec<_>>>()?,
        ),
        Err(_) => None,
    };
    let seen = zi::Table::from_fn(v, v, |i, j| (b.count(i, j) > 0.0) as u8 as f64);
    let seen = zi::Spectrum::of(&zi::row_centred(&seen));
    let mechanism = mechanism::mechanism(
        mechanism::Model {
            w_e: &w.w_e,
            w_u: &w.w_u,
        },
        mechanism::Model {
            w_e: &untrained_w[0].w_e,
            w_u: &untrained_w[0].w_u,
        },
        w.d_model,
        &cmp.counts,
        replicas.as_deref().map_err(|e| *e),
        beside.replicas.requested,
    );
    let substitution_loss = zi::substitution_loss(&b);
    let rank_losses: Vec<f64> = (0..=v).map(|k| spectrum.loss_at_rank(k, &b)).collect();
    let r = spectrum.rank;
    let untrained_sanity = Sanity {
        ablation_changed_elsewhere: ablate(&untrained)?.iter().map(|a| a.changed_without).sum(),
        substitution_loss,
        rank: zi::Spectrum::of(&zi::logit_table(&untrained)).rank,
        d_model: untrained.d_model(),
    };
    let null = |ws: &[Weights]| -> Result<Vec<Comparison>> {
        use rayon::prelude::*;
        ws.par_iter().map(|w| compare(w, corpus)).collect()
    };
    let (mut untrained_null, mut shuffled_null) = (null(&untrained_w)?, null(&shuffled_w)?);
    let controls = Controls {
        untrained: Control {
            what: untrained_what,
            cmp: untrained_null.remove(0),
        },
        shuffled: Control {
            what: shuffled_what,
            cmp: shuffled_null.remove(0),
        },
        untrained_null: untrained_null.iter().map(Comparison::evidence).collect(),
        shuffled_null: shuffled_null.iter().map(Comparison::evidence).collect(),
    };
    let verdict = decide_verdict(
        &cmp,
        &controls,
        beside.gap_curve.as_ref(),
        provenance.training.job.config.epochs,
        beside.retrained.wider,
    );
    let refits = beside.retrained.refits;
    let minimum = match &beside.until_gap {
        Some((u, tolerance)) => width::MinimumWidth::from_until_gap(u, *tolerance),
        None => width::MinimumWidth::from_refits(
            &refits,
            verdict.wider_model,
            verdict.small_gap,
            Some(provenance.training.job.config.epochs),
        ),
    };
    Ok(Analysis {
        capacity: width::Capacity::new(&cmp, minimum),
        verdict,
        text: String::from_utf8_lossy(&w.vocab.decode(&tokens[..tokens.len().min(TEXT_SHOWN)]))
            .into_owned(),
        text_tokens: tokens.len().min(TEXT_SHOWN),
        corpus_chars: corpus.chars as usize,
        ablation_chars: tokens.len(),
        ablated_predictions: tokens.len().saturating_sub(1),
        ablation_whole_text: tokens.len() >= corpus.chars as usize,
        predictions: b.total(),
        source: provenance.source,
        budget: provenance.budget,
        training: provenance.training,
        gaps: provenance.losses.as_ref().map(|l| {
            let floor = cmp.decomposition.bigram_entropy;
            l.iter().map(|&x| x as f64 - floor).collect()
        }),
        losses: provenance.losses,
        ablation_changed_elsewhere: ablations.iter().map(|a| a.changed_without).sum(),
        ablation_delta_total: ablations.iter().map(|a| a.delta_with).sum(),
        ablations,
        ablation_not_run,
        substitution_loss,
        substitution_minus_floor: substitution_loss - cmp.decomposition.bigram_entropy,
        model_above_substitution: cmp.decomposition.model_loss - substitution_loss,
        singular_values: spectrum.singular_values.clone(),
        rank_threshold: spectrum.threshold,
        rank: r,
        rank_loss_steps: [
            rank_losses[r] - rank_losses[r.saturating_sub(1)],
            rank_losses[v] - rank_losses[r],
        ],
        rank_losses,
        centred_singular_values: centred.singular_values.clone(),
        centred_rank_losses: (0..=v).map(|k| centred.loss_at_rank(k, &b)).collect(),
        directions: directions(&centred, &b, &w.vocab, spectra.as_deref(), &seen),
        mechanism,
        seen_points: seen_points(&l, &b),
        untrained_sanity,
        controls,
        gap_curve: beside.gap_curve,
        refit_losses: refits
            .ok()
            .map(|r| r.iter().map(|(k, d)| (*k, d.model_loss)).collect()),
        held_out: beside.held_out,
        cmp,
        analysis_seconds: start.elapsed().as_secs_f64(),
    })
}

/// The verdict from the model's gap and its split, the controls' gaps, the gap curve at the
/// run's weight decay and the wider model.
fn decide_verdict(
    cmp: &Comparison,
    controls: &Controls,
    curve: Option<&GapCurve>,
    epochs: u32,
    wider: Result<verdict::Wider, verdict::NotRetrained>,
) -> verdict::Verdict {
    let d = &cmp.decomposition;
    let trend = curve.map(|g| {
        let (e, gap) = g.points.iter().map(|p| (p.0, p.1)).unzip();
        verdict::GapTrend::new(e, gap, epochs)
    });
    verdict::decide(verdict::Evidence {
        gap: d.kl_weighted,
        leak: cmp.gap_leak,
        misfit: cmp.gap_seen_misfit,
        floor: d.bigram_entropy,
        uniform: d.uniform_loss,
        control_gaps: controls.all().map(|(_, e)| e.kl_weighted).collect(),
        wider,
        trend,
    })
}

/// The top singular directions of the row-centred table, with the characters that load most
/// and the correlations with frequency and vowel class.
/// Each beside its match in the seed replicas' (`replicas`, where trained) and in the row-centred
/// seen matrix's (`seen`) spectra.
fn directions(
    sp: &zi::Spectrum,
    b: &Counts,
    vocab: &Vocab,
    replicas: Option<&[zi::Spectrum]>,
    seen: &zi::Spectrum,
) -> Vec<Direction> {
    let v = b.vocab_len();
    let current_n: Vec<f64> = (0..v).map(|i| b.row_total(i)).collect();
    let next_n: Vec<f64> = (0..v)
        .map(|j| (0..v).map(|i| b.count(i, j)).sum())
        .collect();
    let vowel = |c: char| "aeiouAEIOU".contains(c) as u8 as f64;
    let letter = |i: usize| vocab.single_char(i).filter(|c| c.is_alphabetic());
    let letters: Vec<usize> = (0..v).filter(|&i| letter(i).is_some()).collect();
    let top = |f: &dyn Fn(usize) -> f64| {
        let mut idx: Vec<usize> = (0..v).collect();
        idx.sort_by(|&a, &b| f(b).abs().total_cmp(&f(a).abs()).then(a.cmp(&b)));
        idx.into_iter().take(LOADINGS).map(|i| (i, f(i))).collect()
    };
    (0..DIRECTIONS.min(v))
        .filter(|&r| sp.singular_values[r] > sp.threshold)
        .map(|r| {
            let u: Vec<f64> = (0..v).map(|i| sp.left(r, i)).collect();
            let w: Vec<f64> = (0..v).map(|j| sp.right(r, j)).collect();
            let on = |x: &[f64], idx: &[usize]| -> Vec<f64> { idx.iter().map(|&i| x[i]).collect() };
            let vow: Vec<f64> = letters.iter().flat_map(|&i| letter(i).map(vowel)).collect();
            let stability = replicas.map(|rs| {
                rs.iter()
                    .map(|r| mechanism::matched(&u, &w, r))
                    .fold(1.0, f64::min)
            });
            let seen_pattern = mechanism::matched(&u, &w, seen);
            Direction {
                stability,
                stable: stability.map(|s| s >= mechanism::MATCH_COSINE),
                seen_pattern,
                is_seen_pattern: seen_pattern >= mechanism::MATCH_COSINE,
                sigma: sp.singular_values[r],
                current: top(&|i| u[i]),
                next: top(&|j| w[j]),
                current_frequency: pearson(&u, &current_n),
                next_frequency: pearson(&w, &next_n),
                current_vowel: pearson(&on(&u, &letters), &vow),
                next_vowel: pearson(&on(&w, &letters), &vow),
            }
        })
        .collect()
}

/// The seen pairs' logits against ln P, each centred on its row's seen pairs (the points of the
/// figure whose sums [`zi::seen_sums`] pools).
fn seen_points(l: &zi::Table, b: &Counts) -> Vec<(usize, f64, f64)> {
    let v = b.vocab_len();
    let mut out = vec![];
    for i in 0..v {
        let seen: Vec<usize> = (0..v).filter(|&j| b.count(i, j) > 0.0).collect();
        if seen.is_empty() {
            continue;
        }
        let n = b.row_total(i);
        let lp = |j: usize| (b.count(i, j) / n).ln();
        let mx = seen.iter().map(|&j| lp(j)).sum::<f64>() / seen.len() as f64;
        let my = seen.iter().map(|&j| l[(i, j)]).sum::<f64>() / seen.len() as f64;
        out.extend(seen.iter().map(|&j| (i, lp(j) - mx, l[(i, j)] - my)));
    }
    out
}

/// Pearson's correlation of two equally long series (0 when either is constant).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return 0.0;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for k in 0..n {
        let (a, b) = (x[k] - mx, y[k] - my);
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if sxx > 0.0 && syy > 0.0 {
        sxy / (sxx * syy).sqrt()
    } else {
        0.0
    }
}

/// `zl train --seeds`: the spread of the final losses over the seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeedSummary {
    /// The lowest final loss and its seed (the first such seed in order, where several tie).
    pub min: (u64, f64),
    /// The median final loss (the mean of the middle two for an even count).
    pub median: f64,
    /// The highest final loss and its seed (the first such seed in order).
    pub max: (u64, f64),
}

/// The summary of a batch's final losses; `None` for no runs. NaN losses cannot occur: a
/// diverged model is an error before this.
pub fn seed_summary(runs: &[crate::backend::Trained]) -> Option<SeedSummary> {
    let runs: Vec<(u64, f64)> = runs
        .iter()
        .map(|r| (r.job.config.seed, r.final_loss as f64))
        .collect();
    let first = *runs.first()?;
    let (mut min, mut max) = (first, first);
    for &r in &runs {
        if r.1 < min.1 {
            min = r;
        }
        if r.1 > max.1 {
            max = r;
        }
    }
    let mut sorted: Vec<f64> = runs.iter().map(|r| r.1).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(SeedSummary { min, median, max })
}

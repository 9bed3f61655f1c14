//! JSON output: one object on stdout per command (`--json`), every number as computed.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use zl_core::{
    interpret::{Ablation, GapRow},
    AdamWConfig,
};

use crate::{
    analysis::{
        heldout::HeldOut,
        mechanism::{
            ClassCosines, Counting, NearPair, Patch, PatchSummary, Replication, MATCH_COSINE,
            PATCH_ATOL, PATCH_RTOL, SEEN_SPREAD_NATS, SPREAD_FACTOR, UNSEEN_NATS,
        },
        sweep::{Checkpoint, Point, SeedRun, Size, Sweep},
        verdict::Verdict,
        width::{GivenUp, MinimumWidth},
        Agreement, Analysis, Control, Direction, Evidence, EvidenceRow, SeedSummary, Training, TOP,
    },
    backend::{Job, Trained},
    data::corpus::Corpus,
};

use super::verbs::HeldOutJson;

/// Rows of a row-major matrix with `n` columns.
fn rows(flat: &[f32], n: usize) -> Vec<Vec<f64>> {
    flat.chunks(n)
        .map(|c| c.iter().map(|&x| x as f64).collect())
        .collect()
}

/// A count, computed in f64 (exact below 2^53), as a JSON integer: `192`, not `192.0`.
fn count(x: f64) -> u64 {
    debug_assert!(x >= 0.0 && x.fract() == 0.0, "{x} is not a count");
    x as u64
}

/// `zl train --json`'s schema.
#[derive(Serialize)]
#[allow(non_snake_case)]
struct TrainJson<'a> {
    backend: &'a str,
    corpus: String,
    corpus_chars: u64,
    count_seconds: Option<f64>,
    #[serde(flatten)]
    job: &'a Job,
    vocab: Vec<String>,
    uniform_loss: f64,
    bigram_entropy: f64,
    initial_loss: f64,
    losses: Vec<f64>,
    final_loss: f64,
    model_loss: f64,
    kl_weighted: f64,
    W_E: Vec<Vec<f64>>,
    W_U: Vec<Vec<f64>>,
    train_seconds: f64,
    checksum: &'a str,
    #[serde(flatten)]
    held: Option<TrainHeld<'a>>,
}

/// `zl train --val-fraction … --json`'s held-out keys.
#[derive(Serialize)]
struct TrainHeld<'a> {
    val_losses: Vec<f64>,
    val_epochs: Vec<u32>,
    final_val_loss: f64,
    held_out: HeldOutJson<'a>,
}

/// `zl train --json`, with the held-out numbers where `--val-fraction` gave them.
pub fn train(
    backend: &str,
    corpus: &Corpus,
    run: &Trained,
    cmp: super::text::TrainComparison,
    held: Option<&HeldOut>,
) -> Value {
    let d = cmp.decomposition();
    let w = &run.weights;
    value(TrainJson {
        backend,
        corpus: corpus.source.to_string(),
        corpus_chars: corpus.chars,
        count_seconds: corpus.count_seconds,
        job: &run.job,
        vocab: (0..w.vocab.len()).map(|i| w.vocab.text(i)).collect(),
        uniform_loss: d.uniform_loss,
        bigram_entropy: d.bigram_entropy,
        initial_loss: run.losses[0] as f64,
        losses: run.losses.iter().map(|&l| l as f64).collect(),
        final_loss: run.final_loss as f64,
        model_loss: d.model_loss,
        kl_weighted: d.kl_weighted,
        W_E: rows(&w.w_e, w.d_model),
        W_U: rows(&w.w_u, w.vocab.len()),
        train_seconds: run.seconds,
        checksum: &run.checksum,
        held: held.map(|h| TrainHeld {
            val_losses: h.curve.iter().map(|&(_, l)| l).collect(),
            val_epochs: h.curve.iter().map(|&(e, _)| e).collect(),
            final_val_loss: h.model_loss,
            held_out: HeldOutJson::new(h),
        }),
    })
}

/// A schema's JSON value. The value's object keys are sorted: every command prints its keys in
/// one order, whatever the order of the struct's fields.
pub fn value(x: impl Serialize) -> Value {
    serde_json::to_value(x).expect("a schema of strings, numbers and arrays serialises")
}

/// The settings every model of a batch or a sweep shares.
#[derive(Serialize)]
struct Shared<'a> {
    backend: &'a str,
    corpus: String,
    #[serde(flatten)]
    adamw: &'a AdamWConfig,
}

impl<'a> Shared<'a> {
    fn new(backend: &'a str, corpus: &Corpus, cfg: &'a zl_core::TrainConfig) -> Self {
        Shared {
            backend,
            corpus: corpus.source.to_string(),
            adamw: &cfg.adamw,
        }
    }
}

/// `zl train --seeds … --json`'s schema.
#[derive(Serialize)]
struct BatchJson<'a> {
    #[serde(flatten)]
    shared: Shared<'a>,
    epochs: u32,
    d_model: usize,
    train_seconds: f64,
    models: Vec<SeedLoss>,
    summary: Option<SummaryJson>,
}

#[derive(Serialize)]
struct SeedLoss {
    seed: u64,
    final_loss: f64,
}

#[derive(Serialize)]
struct SummaryJson {
    min: f64,
    min_seed: u64,
    median: f64,
    max: f64,
    max_seed: u64,
}

/// `zl train --seeds … --json`.
pub fn batch(
    backend: &str,
    corpus: &Corpus,
    runs: &[Trained],
    summary: Option<SeedSummary>,
    seconds: f64,
) -> Value {
    let first = &runs[0];
    value(BatchJson {
        shared: Shared::new(backend, corpus, &first.job.config),
        epochs: first.job.config.epochs,
        d_model: first.job.d_model,
        train_seconds: seconds,
        models: runs
            .iter()
            .map(|r| SeedLoss {
                seed: r.job.config.seed,
                final_loss: r.final_loss as f64,
            })
            .collect(),
        summary: summary.map(|m| SummaryJson {
            min: m.min.1,
            min_seed: m.min.0,
            median: m.median,
            max: m.max.1,
            max_seed: m.max.0,
        }),
    })
}

/// `zl sweep --json`'s schema.
#[derive(Serialize)]
struct SweepJson<'a> {
    #[serde(flatten)]
    shared: Shared<'a>,
    vocab_size: usize,
    bigram_entropy: f64,
    uniform_loss: f64,
    #[serde(flatten)]
    runs: SweepRuns<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum SweepRuns<'a> {
    Fixed {
        seed: u64,
        epochs: u32,
        cost_threshold_nats: f64,
        within_cost: &'a [usize],
        smallest_d_model_within_cost: Option<usize>,
        summary: String,
        runs: &'a [Point],
    },
    UntilGap {
        until_gap: f64,
        max_epochs: u32,
        seeds: &'a [u64],
        checkpoints: Vec<u32>,
        still_falling_drop: f64,
        still_falling_rule: String,
        smallest_d_model_at_gap: Option<usize>,
        summary: String,
        runs: Vec<SizeJson<'a>>,
    },
}

/// One size of `zl sweep --until-gap`: its best seed's run, and every seed's.
#[derive(Serialize)]
struct SizeJson<'a> {
    #[serde(flatten)]
    size: &'a Size,
    best_gap: f64,
    best_seed: u64,
    epochs: u32,
    seeds_reached: usize,
    seeds: Vec<SeedRunJson<'a>>,
}

/// One seed's run, its last checkpoint, and (epochs, gap) at each checkpoint.
#[derive(Serialize)]
struct SeedRunJson<'a> {
    #[serde(flatten)]
    run: &'a SeedRun,
    #[serde(flatten)]
    last: Checkpoint,
    still_falling: Option<bool>,
    gaps: Vec<(u32, f64)>,
}

/// `zl sweep --json`: a fixed budget's runs, or with `--until-gap` each size's best gap, the
/// epochs it took, whether it reached EPS and was still falling, and every seed's run.
pub fn sweep(backend: &str, corpus: &Corpus, cfg: &zl_core::TrainConfig, sw: &Sweep) -> Value {
    use crate::analysis::sweep::{COST_NATS, STILL_FALLING_DROP};
    let v = corpus.vocab.len();
    let runs = match sw {
        Sweep::Fixed(f) => SweepRuns::Fixed {
            seed: cfg.seed,
            epochs: f.epochs,
            cost_threshold_nats: COST_NATS,
            within_cost: &f.within,
            smallest_d_model_within_cost: f.enough,
            summary: super::text::fixed_verdict(f),
            runs: &f.points,
        },
        Sweep::UntilGap(u) => {
            let b = &u.budget;
            SweepRuns::UntilGap {
                until_gap: b.eps,
                max_epochs: b.max_epochs,
                seeds: &b.seeds,
                checkpoints: b.checkpoints(),
                still_falling_drop: STILL_FALLING_DROP,
                still_falling_rule: super::text::still_falling_rule(b),
                smallest_d_model_at_gap: u.smallest,
                summary: super::text::until_verdict(u),
                runs: u
                    .sizes
                    .iter()
                    .map(|z| {
                        let best = z.best();
                        SizeJson {
                            size: z,
                            best_gap: best.last().gap,
                            best_seed: best.seed,
                            epochs: best.last().epochs,
                            seeds_reached: z.seeds_reached(),
                            seeds: z
                                .seeds
                                .iter()
                                .map(|r| SeedRunJson {
                                    run: r,
                                    last: r.last(),
                                    still_falling: r.still_falling(),
                                    gaps: r.checkpoints.iter().map(|c| (c.epochs, c.gap)).collect(),
                                })
                                .collect(),
                        }
                    })
                    .collect(),
            }
        }
    };
    value(SweepJson {
        shared: Shared::new(backend, corpus, cfg),
        vocab_size: v,
        bigram_entropy: sw.floor(),
        uniform_loss: zl_core::interpret::uniform_loss(v),
        runs,
    })
}

/// A token, by id and character.
#[derive(Serialize)]
struct Token {
    token: usize,
    /// The token's text (a character, or a tokenizer's token).
    char: String,
}

/// A next token with the data's P and the model's Q of it.
#[derive(Serialize)]
struct Next {
    #[serde(flatten)]
    at: Token,
    p: f64,
    q: f64,
}

#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    at: Token,
    count: u64,
    kl: f64,
    data_top: Vec<Next>,
    model_top: Vec<Next>,
    argmax_agrees: bool,
    /// Null where the ablation was not run (the top-level `ablation_not_run` says why).
    ablation: Option<&'a Ablation>,
}

#[derive(Serialize)]
struct Leak {
    #[serde(flatten)]
    at: Token,
    #[serde(flatten)]
    gap: GapRow,
    weight: f64,
}

#[derive(Serialize)]
struct ControlRow {
    #[serde(flatten)]
    evidence: Evidence,
    what: String,
    agreement: Agreement,
}

/// A sanity check: a fact of the architecture, its value on the model and on the untrained one,
/// and one more key beside them.
#[derive(Serialize)]
struct Sanity<T, E> {
    name: &'static str,
    holds_for_any_weights: bool,
    why: &'static str,
    trained: T,
    untrained: T,
    #[serde(flatten)]
    extra: BTreeMap<&'static str, E>,
}

#[derive(Serialize)]
struct Loading {
    #[serde(flatten)]
    at: Token,
    loading: f64,
}

#[derive(Serialize)]
struct DirectionJson<'a> {
    #[serde(flatten)]
    direction: &'a Direction,
    current: Vec<Loading>,
    next: Vec<Loading>,
}

#[derive(Serialize)]
struct Refit {
    d_model: usize,
    loss: f64,
}

#[derive(Serialize)]
struct GapCurveJson {
    weight_decay: f64,
    epochs: Vec<u32>,
    gap: Vec<f64>,
    gap_without_weight_decay: Vec<f64>,
}

/// Two tokens' characters and a number between them.
#[derive(Serialize)]
struct PairCosine {
    a: String,
    b: String,
    cosine: f64,
}

#[derive(Serialize)]
struct NearJson<'a> {
    a: String,
    b: String,
    #[serde(flatten)]
    pair: &'a NearPair,
}

#[derive(Serialize)]
struct CosinesJson<'a> {
    within: Vec<PairCosine>,
    #[serde(flatten)]
    cosines: &'a ClassCosines,
}

/// A patch pair: the trained model's numbers beside the pair, the untrained one's nested (an
/// infinite `predicted` is JSON's null).
#[derive(Serialize)]
struct PatchPairJson<'a> {
    #[serde(flatten)]
    trained: &'a Patch,
    from: String,
    into: String,
    in_class: bool,
    untrained: &'a Patch,
}

#[derive(Serialize)]
struct AbsDiff {
    abs_diff: f64,
    tolerance: f64,
}

#[derive(Serialize)]
struct PatchSummaryJson<'a> {
    #[serde(flatten)]
    summary: &'a PatchSummary,
    finite_worst: Option<AbsDiff>,
    atol_per_prediction: f64,
    rtol: f64,
    unseen_nats: f64,
}

/// The weights' interpretation without a chosen basis: successor classes, embedding patches and
/// seed replication.
#[derive(Serialize)]
struct MechanismJson<'a> {
    successor_classes: Vec<Vec<String>>,
    successor_nearest: Vec<NearJson<'a>>,
    class_cosines: CosinesJson<'a>,
    class_cosines_untrained: CosinesJson<'a>,
    patching: Vec<PatchPairJson<'a>>,
    patching_summary: PatchSummaryJson<'a>,
    seed_replication: Option<&'a Replication>,
    seed_replication_not_run: Option<String>,
    direction_match_cosine: f64,
    seed_replication_rule: ReplicationRule,
}

/// The seeds' rule: the unseen logits spread at least `spread_factor` times the seen ones, and
/// the seen ones at most `seen_spread_nats`.
#[derive(Serialize)]
struct ReplicationRule {
    spread_factor: f64,
    seen_spread_nats: f64,
}

impl<'a> MechanismJson<'a> {
    fn new(an: &'a Analysis) -> Self {
        let m = &an.mechanism;
        let ch = |i: usize| an.cmp.vocab.text(i);
        let cosines = |c: &'a ClassCosines| CosinesJson {
            within: c
                .within
                .iter()
                .map(|&(a, b, cosine)| PairCosine {
                    a: ch(a),
                    b: ch(b),
                    cosine,
                })
                .collect(),
            cosines: c,
        };
        let s = &m.patch_summary;
        MechanismJson {
            successor_classes: m
                .classes
                .iter()
                .map(|c| c.iter().map(|&i| ch(i)).collect())
                .collect(),
            successor_nearest: m
                .nearest
                .iter()
                .map(|p| NearJson {
                    a: ch(p.a),
                    b: ch(p.b),
                    pair: p,
                })
                .collect(),
            class_cosines: cosines(&m.cosines),
            class_cosines_untrained: cosines(&m.cosines_untrained),
            patching: m
                .patches
                .iter()
                .map(|p| PatchPairJson {
                    trained: &p.trained,
                    from: ch(p.trained.from),
                    into: ch(p.trained.into),
                    in_class: p.in_class,
                    untrained: &p.untrained,
                })
                .collect(),
            patching_summary: PatchSummaryJson {
                summary: s,
                finite_worst: s.finite_worst.map(|(abs_diff, tolerance)| AbsDiff {
                    abs_diff,
                    tolerance,
                }),
                atol_per_prediction: PATCH_ATOL,
                rtol: PATCH_RTOL,
                unseen_nats: UNSEEN_NATS,
            },
            seed_replication: m.replication.as_ref().ok(),
            seed_replication_not_run: m
                .replication
                .as_ref()
                .err()
                .map(super::mechanism::not_replicated),
            direction_match_cosine: MATCH_COSINE,
            seed_replication_rule: ReplicationRule {
                spread_factor: SPREAD_FACTOR,
                seen_spread_nats: SEEN_SPREAD_NATS,
            },
        }
    }
}

/// `zl interpret --json`'s schema. Tables are nested arrays indexed [current][next]; counts are
/// integers (exact in the f64 they are computed in).
#[derive(Serialize)]
struct Interpret<'a> {
    source: String,
    vocab: Vec<String>,
    d_model: usize,
    text: &'a str,
    corpus_chars: usize,
    ablation_chars: usize,
    predictions: u64,
    model_loss: f64,
    model_loss_f32: f64,
    bigram_entropy: f64,
    kl_weighted: f64,
    decomposition_residual: f64,
    uniform_loss: f64,
    unigram_entropy: f64,
    unigram_entropy_of: &'static str,
    argmax_agreement: usize,
    tokens_followed: usize,
    rows: Vec<Row<'a>>,
    ablation_changed_elsewhere: Option<usize>,
    ablation_not_run: Option<String>,
    substitution_loss: f64,
    singular_values: &'a [f64],
    rank_threshold: f64,
    rank_threshold_rule: &'static str,
    rank: usize,
    rank_k_losses: &'a [f64],
    losses: Option<Vec<f64>>,
    bigram_counts: Vec<Vec<u64>>,
    bigram_probs: &'a [Vec<f64>],
    model_probs: &'a [Vec<f64>],
    analysis_seconds: f64,
    budget: String,
    gap_leak: f64,
    gap_seen_misfit: f64,
    leak_by_token: Vec<Leak>,
    evidence: Evidence,
    controls: BTreeMap<&'static str, ControlRow>,
    sanity_checks: SanityChecks,
    margins: &'a [Option<f64>],
    indicator_beta: f64,
    indicator_r2: f64,
    seen_logit_correlation: f64,
    seen_logit_spread_by_token: &'a [Option<f64>],
    agreement: Agreement,
    centred_singular_values: &'a [f64],
    centred_rank_k_losses: &'a [f64],
    directions: Vec<DirectionJson<'a>>,
    verdict: &'a Verdict,
    training: &'a Training,
    evidence_table: Vec<EvidenceRow>,
    minimum_d_model: &'a MinimumWidth,
    counting: &'a Counting,
    given_up: &'a Option<GivenUp>,
    refit_losses: Option<Vec<Refit>>,
    gap_curve: Option<GapCurveJson>,
    #[serde(flatten)]
    mechanism: MechanismJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    held_out: Option<HeldOutJson<'a>>,
}

/// Ablation locality, the substitution's loss, the rank bound.
type SanityChecks = (
    Sanity<Option<usize>, Option<String>>,
    Sanity<f64, f64>,
    Sanity<usize, usize>,
);

/// `zl interpret --json`: every metric as one JSON object.
pub fn interpret(an: &Analysis) -> Value {
    let c = &an.cmp;
    let d = &c.decomposition;
    let ran = an.ablation_not_run.is_none();
    let at = |i: usize| Token {
        token: i,
        char: c.vocab.text(i),
    };
    let next = |i: usize, j: usize| Next {
        at: at(j),
        p: c.p[i][j],
        q: c.q[i][j],
    };
    let loadings = |xs: &[(usize, f64)]| -> Vec<Loading> {
        xs.iter()
            .map(|&(i, loading)| Loading { at: at(i), loading })
            .collect()
    };
    let control = |k: &Control| ControlRow {
        evidence: k.cmp.evidence(),
        what: k.what.to_string(),
        agreement: k.cmp.agreement,
    };
    let not_run = an.ablation_not_run.as_ref().map(ToString::to_string);
    let out = Interpret {
        source: an.source.to_string(),
        vocab: (0..c.vocab.len()).map(|i| c.vocab.text(i)).collect(),
        d_model: c.d_model,
        text: &an.text,
        corpus_chars: an.corpus_chars,
        ablation_chars: an.ablation_chars,
        predictions: count(an.predictions),
        model_loss: d.model_loss,
        model_loss_f32: c.model_loss_f32,
        bigram_entropy: d.bigram_entropy,
        kl_weighted: d.kl_weighted,
        decomposition_residual: d.residual,
        uniform_loss: d.uniform_loss,
        unigram_entropy: d.unigram_entropy,
        unigram_entropy_of: "next-token marginal: the N prediction targets",
        argmax_agreement: c.agreement.agree,
        tokens_followed: c.agreement.followed,
        rows: c
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| Row {
                at: at(i),
                count: count(r.count),
                kl: r.kl,
                data_top: c.data_top[i]
                    .iter()
                    .take(TOP)
                    .map(|&j| next(i, j))
                    .collect(),
                model_top: c.model_top[i].iter().map(|&j| next(i, j)).collect(),
                argmax_agrees: r.argmax_agrees,
                ablation: an.ablations.get(i),
            })
            .collect(),
        ablation_changed_elsewhere: ran.then_some(an.ablation_changed_elsewhere),
        ablation_not_run: not_run.clone(),
        substitution_loss: an.substitution_loss,
        singular_values: &an.singular_values,
        rank_threshold: an.rank_threshold,
        rank_threshold_rule: "sigma_1 * vocab * 2^-23 (f32 epsilon)",
        rank: an.rank,
        rank_k_losses: &an.rank_losses,
        losses: an
            .losses
            .as_ref()
            .map(|l| l.iter().map(|&x| x as f64).collect()),
        bigram_counts: c
            .counts
            .iter()
            .map(|row| row.iter().map(|&x| count(x)).collect())
            .collect(),
        bigram_probs: &c.p,
        model_probs: &c.q,
        analysis_seconds: an.analysis_seconds,
        budget: an.budget.to_string(),
        gap_leak: c.gap_leak,
        gap_seen_misfit: c.gap_seen_misfit,
        leak_by_token: c
            .gap_rows
            .iter()
            .enumerate()
            .map(|(i, &gap)| Leak {
                at: at(i),
                gap,
                weight: c.row_weights[i],
            })
            .collect(),
        evidence: c.evidence(),
        controls: BTreeMap::from([
            ("untrained", control(&an.controls.untrained)),
            ("shuffled", control(&an.controls.shuffled)),
        ]),
        sanity_checks: (
            Sanity {
                name: "ablation_locality",
                holds_for_any_weights: true,
                why: "a position's logits depend on its own token alone",
                trained: ran.then_some(an.ablation_changed_elsewhere),
                untrained: ran.then_some(an.untrained_sanity.ablation_changed_elsewhere),
                extra: BTreeMap::from([("not_run", not_run)]),
            },
            Sanity {
                name: "substitution_equals_floor",
                holds_for_any_weights: true,
                why: "the substitution reads only the counts",
                trained: an.substitution_loss,
                untrained: an.untrained_sanity.substitution_loss,
                extra: BTreeMap::from([("floor", d.bigram_entropy)]),
            },
            Sanity {
                name: "rank_at_most_d_model",
                holds_for_any_weights: true,
                why: "W_E·W_U passes through d_model dimensions",
                trained: an.rank,
                untrained: an.untrained_sanity.rank,
                extra: BTreeMap::from([("d_model", an.untrained_sanity.d_model)]),
            },
        ),
        margins: &c.margins,
        indicator_beta: c.indicator_fit.0,
        indicator_r2: c.indicator_fit.1,
        seen_logit_correlation: c.seen_logit_correlation,
        seen_logit_spread_by_token: &c.seen_spread,
        agreement: c.agreement,
        centred_singular_values: &an.centred_singular_values,
        centred_rank_k_losses: &an.centred_rank_losses,
        directions: an
            .directions
            .iter()
            .map(|d| DirectionJson {
                direction: d,
                current: loadings(&d.current),
                next: loadings(&d.next),
            })
            .collect(),
        verdict: &an.verdict,
        training: &an.training,
        evidence_table: an.evidence_rows(),
        minimum_d_model: &an.capacity.minimum,
        counting: &an.capacity.counting,
        given_up: &an.capacity.given_up,
        refit_losses: an.refit_losses.as_ref().map(|r| {
            r.iter()
                .map(|&(d_model, loss)| Refit { d_model, loss })
                .collect()
        }),
        gap_curve: an.gap_curve.as_ref().map(|g| GapCurveJson {
            weight_decay: g.weight_decay,
            epochs: g.points.iter().map(|p| p.0).collect(),
            gap: g.points.iter().map(|p| p.1).collect(),
            gap_without_weight_decay: g.points.iter().map(|p| p.2).collect(),
        }),
        mechanism: MechanismJson::new(an),
        held_out: an.held_out.as_ref().map(HeldOutJson::new),
    };
    value(out)
}

/// `zl eval --json`'s schema.
#[derive(Serialize)]
struct EvalJson {
    load: String,
    corpus: String,
    vocab_size: usize,
    corpus_vocab_size: usize,
    d_model: usize,
    model_loss: f64,
    bigram_entropy: f64,
    kl_weighted: f64,
    /// The older names of model_loss and bigram_entropy, kept for one release.
    loss: f64,
    floor: f64,
    scored: u64,
    skipped: u64,
    skipped_characters: Vec<SkippedChar>,
}

#[derive(Serialize)]
struct SkippedChar {
    char: String,
    pairs: u64,
}

/// `zl eval --json`.
pub fn eval(e: &super::text::EvalView) -> Value {
    let d = e.decomposition;
    value(EvalJson {
        load: e.load.display().to_string(),
        corpus: e.corpus.source.to_string(),
        vocab_size: e.weights.vocab.len(),
        corpus_vocab_size: e.corpus.vocab.len(),
        d_model: e.weights.d_model,
        model_loss: d.model_loss,
        bigram_entropy: d.bigram_entropy,
        kl_weighted: d.kl_weighted,
        loss: d.model_loss,
        floor: d.bigram_entropy,
        scored: e.scored,
        skipped: e.skipped.pairs,
        skipped_characters: e
            .skipped
            .chars
            .iter()
            .map(|&(c, pairs)| SkippedChar {
                char: c.to_string(),
                pairs,
            })
            .collect(),
    })
}

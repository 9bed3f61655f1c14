//! JSON output: one object on stdout per command (`--json`), every number as computed.

use serde_json::{json, Value};

use crate::{
    analysis::{
        heldout::HeldOut, sweep::Sweep, Agreement, Analysis, Comparison, Control, Evidence,
        SeedSummary, TOP,
    },
    backend::Trained,
    data::corpus::Corpus,
};

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

/// `zl train --json`, with the held-out numbers where `--val-fraction` gave them.
pub fn train(
    backend: &str,
    corpus: &Corpus,
    run: &Trained,
    cmp: &Comparison,
    held: Option<&HeldOut>,
) -> Value {
    let (w, cfg) = (&run.weights, &run.job.config);
    let mut out = json!({
        "backend": backend,
        "corpus": corpus.source.to_string(),
        "corpus_chars": corpus.chars,
        "count_seconds": corpus.count_seconds,
        "seed": cfg.seed,
        "epochs": cfg.epochs,
        "lr": cfg.adamw.lr,
        "weight_decay": cfg.adamw.weight_decay,
        "d_model": w.d_model,
        "vocab": w.vocab.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        "uniform_loss": (w.vocab.len() as f64).ln(),
        "bigram_entropy": cmp.decomposition.bigram_entropy,
        "initial_loss": run.losses[0] as f64,
        "losses": run.losses.iter().map(|&l| l as f64).collect::<Vec<_>>(),
        "final_loss": run.final_loss as f64,
        "model_loss": cmp.decomposition.model_loss,
        "kl_weighted": cmp.decomposition.kl_weighted,
        "W_E": rows(&w.w_e, w.d_model),
        "W_U": rows(&w.w_u, w.vocab.len()),
        "train_seconds": run.seconds,
        "checksum": run.checksum,
    });
    if let (Some(h), Some(o)) = (held, out.as_object_mut()) {
        let val_epochs: Vec<u32> = h.curve.iter().map(|&(e, _)| e).collect();
        let val_losses: Vec<f64> = h.curve.iter().map(|&(_, l)| l).collect();
        o.insert("val_losses".into(), val_losses.into());
        o.insert("val_epochs".into(), val_epochs.into());
        o.insert("final_val_loss".into(), h.model_loss.into());
        o.insert("held_out".into(), super::verbs::held_out_json(h));
    }
    out
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
    let cfg = &first.job.config;
    json!({
        "backend": backend,
        "corpus": corpus.source.to_string(),
        "epochs": cfg.epochs,
        "lr": cfg.adamw.lr,
        "weight_decay": cfg.adamw.weight_decay,
        "d_model": first.job.d_model,
        "train_seconds": seconds,
        "models": runs.iter().map(|r| json!({"seed": r.job.config.seed, "final_loss": r.final_loss as f64})).collect::<Vec<_>>(),
        "summary": summary.map(|m| json!({
            "min": m.min.1, "min_seed": m.min.0,
            "median": m.median,
            "max": m.max.1, "max_seed": m.max.0,
        })),
    })
}

/// `zl sweep --json`: a fixed budget's runs, or with `--until-gap` each size's best gap, the
/// epochs it took, whether it reached EPS and was still falling, and every seed's run.
pub fn sweep(backend: &str, corpus: &Corpus, cfg: &zl_core::TrainConfig, sw: &Sweep) -> Value {
    use crate::analysis::sweep::{COST_NATS, STILL_FALLING_DROP};
    let v = corpus.vocab.len();
    let mut out = json!({
        "backend": backend,
        "corpus": corpus.source.to_string(),
        "vocab_size": v,
        "lr": cfg.adamw.lr,
        "weight_decay": cfg.adamw.weight_decay,
        "bigram_entropy": sw.floor(),
        "uniform_loss": (v as f64).ln(),
    });
    let more = match sw {
        Sweep::Fixed(f) => json!({
            "seed": cfg.seed,
            "epochs": f.epochs,
            "cost_threshold_nats": COST_NATS,
            "within_cost": f.within,
            "smallest_d_model_within_cost": f.enough,
            "summary": super::text::fixed_verdict(f),
            "runs": f.points.iter().map(|p| json!({
                "d_model": p.d_model, "final_loss": p.final_loss, "gap": p.gap, "train_seconds": p.train_seconds,
            })).collect::<Vec<_>>(),
        }),
        Sweep::UntilGap(u) => {
            let b = &u.budget;
            json!({
                "until_gap": b.eps,
                "max_epochs": b.max_epochs,
                "seeds": b.seeds,
                "checkpoints": b.checkpoints(),
                "still_falling_drop": STILL_FALLING_DROP,
                "still_falling_rule": super::text::still_falling_rule(b),
                "smallest_d_model_at_gap": u.smallest,
                "summary": super::text::until_verdict(u),
                "runs": u.sizes.iter().map(|z| {
                    let best = z.best();
                    json!({
                        "d_model": z.d_model,
                        "best_gap": best.last().gap,
                        "best_seed": best.seed,
                        "epochs": best.last().epochs,
                        "reached": z.reached,
                        "seeds_reached": z.seeds_reached(),
                        "still_falling": z.still_falling,
                        "train_seconds": z.train_seconds,
                        "seeds": z.seeds.iter().map(|r| json!({
                            "seed": r.seed,
                            "gap": r.last().gap,
                            "loss": r.last().loss,
                            "epochs": r.last().epochs,
                            "reached": r.reached,
                            "drop_over_last_half": r.drop,
                            "still_falling": r.still_falling(),
                            "train_seconds": r.train_seconds,
                            "gaps": r.checkpoints.iter().map(|c| json!([c.epochs, c.gap])).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })
                }).collect::<Vec<_>>(),
            })
        }
    };
    if let (Value::Object(o), Value::Object(m)) = (&mut out, more) {
        o.extend(m);
    }
    out
}

/// `zl interpret --json`: every metric as one JSON object. Tables are nested arrays indexed
/// [current][next].
pub fn interpret(an: &Analysis) -> Value {
    let ran = an.ablation_not_run.is_none();
    let (agree, followed) = (an.cmp.agreement.agree, an.cmp.agreement.followed);
    let d = &an.cmp.decomposition;
    let rows: Vec<Value> = an
        .cmp
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            // Null where the ablation was not run (the top-level ablation_not_run says why).
            let ablation = an.ablations.get(i).map(|a| json!(a));
            json!({
                "token": i,
                "char": an.cmp.vocab[i].to_string(),
                "count": count(r.count),
                "kl": r.kl,
                "data_top": an.cmp.data_top[i].iter().take(TOP).map(|&j| json!({"token": j, "char": an.cmp.vocab[j].to_string(), "p": an.cmp.p[i][j], "q": an.cmp.q[i][j]})).collect::<Vec<_>>(),
                "model_top": an.cmp.model_top[i].iter().map(|&j| json!({"token": j, "char": an.cmp.vocab[j].to_string(), "p": an.cmp.p[i][j], "q": an.cmp.q[i][j]})).collect::<Vec<_>>(),
                "argmax_agrees": r.argmax_agrees,
                "ablation": ablation,
            })
        })
        .collect();
    let mut out = json!({
        "source": an.source,
        "vocab": an.cmp.vocab.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        "d_model": an.cmp.d_model,
        "text": an.text,
        "corpus_chars": an.corpus_chars,
        "ablation_chars": an.ablation_chars,
        // Counts are integers (exact in the f64 they are computed in), so JSON shows them as such.
        "predictions": count(an.predictions),
        "model_loss": d.model_loss,
        "model_loss_f32": an.cmp.model_loss_f32,
        "bigram_entropy": d.bigram_entropy,
        "kl_weighted": d.kl_weighted,
        "decomposition_residual": d.residual,
        "uniform_loss": d.uniform_loss,
        "unigram_entropy": d.unigram_entropy,
        "unigram_entropy_of": "next-token marginal: the N prediction targets",
        "argmax_agreement": agree,
        "tokens_followed": followed,
        "rows": rows,
        "ablation_changed_elsewhere": ran.then_some(an.ablation_changed_elsewhere),
        "ablation_not_run": an.ablation_not_run,
        "substitution_loss": an.substitution_loss,
        "singular_values": an.singular_values,
        "rank_threshold": an.rank_threshold,
        "rank_threshold_rule": "sigma_1 * vocab * 2^-23 (f32 epsilon)",
        "rank": an.rank,
        "rank_k_losses": an.rank_losses,
        "losses": an.losses.as_ref().map(|l| l.iter().map(|&x| x as f64).collect::<Vec<_>>()),
        "bigram_counts": an.cmp.counts.iter().map(|row| row.iter().map(|&c| count(c)).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "bigram_probs": an.cmp.p,
        "model_probs": an.cmp.q,
        "analysis_seconds": an.analysis_seconds,
    });
    // The evidence, its controls and the sanity checks (issue 13), as a second object: one
    // json! this large passes the macro's recursion limit.
    let more = json!({
        "budget": an.budget,
        "gap_leak": an.cmp.gap_leak,
        "gap_seen_misfit": an.cmp.gap_seen_misfit,
        "leak_by_token": an.cmp.gap_rows.iter().enumerate().map(|(i, g)| json!({
            "token": i,
            "char": an.cmp.vocab[i].to_string(),
            "unseen_mass": g.unseen_mass,
            "leak": g.leak,
            "misfit": g.misfit,
            "weight": an.cmp.rows[i].count / an.predictions,
        })).collect::<Vec<_>>(),
        "evidence": evidence(&an.cmp),
        "controls": {
            "untrained": control(&an.controls.untrained),
            "shuffled": control(&an.controls.shuffled),
        },
        "sanity_checks": [
            {
                "name": "ablation_locality",
                "holds_for_any_weights": true,
                "why": "a position's logits depend on its own token alone",
                "trained": ran.then_some(an.ablation_changed_elsewhere),
                "untrained": ran.then_some(an.untrained_sanity.ablation_changed_elsewhere),
                "not_run": an.ablation_not_run,
            },
            {
                "name": "substitution_equals_floor",
                "holds_for_any_weights": true,
                "why": "the substitution reads only the counts",
                "trained": an.substitution_loss,
                "untrained": an.untrained_sanity.substitution_loss,
                "floor": d.bigram_entropy,
            },
            {
                "name": "rank_at_most_d_model",
                "holds_for_any_weights": true,
                "why": "W_E·W_U passes through d_model dimensions",
                "trained": an.rank,
                "untrained": an.untrained_sanity.rank,
                "d_model": an.untrained_sanity.d_model,
            },
        ],
        "margins": an.cmp.margins,
        "indicator_beta": an.cmp.indicator_fit.0,
        "indicator_r2": an.cmp.indicator_fit.1,
        "seen_logit_correlation": an.cmp.seen_logit_correlation,
        "seen_logit_spread_by_token": an.cmp.seen_spread,
        "agreement": agreement(&an.cmp),
        "centred_singular_values": an.centred_singular_values,
        "centred_rank_k_losses": an.centred_rank_losses,
        "directions": an.directions.iter().map(|d| json!({
            "sigma": d.sigma,
            "current": d.current.iter().map(|&(i, x)| json!({"token": i, "char": an.cmp.vocab[i].to_string(), "loading": x})).collect::<Vec<_>>(),
            "next": d.next.iter().map(|&(i, x)| json!({"token": i, "char": an.cmp.vocab[i].to_string(), "loading": x})).collect::<Vec<_>>(),
            "current_frequency_correlation": d.current_frequency,
            "next_frequency_correlation": d.next_frequency,
            "current_vowel_correlation": d.current_vowel,
            "next_vowel_correlation": d.next_vowel,
            "stability": d.stability,
            "stable": d.stable,
            "seen_pattern_cosine": d.seen_pattern,
            "is_seen_pattern": d.is_seen_pattern,
        })).collect::<Vec<_>>(),
        "verdict": an.verdict,
        "training": an.training,
        "evidence_table": an.evidence_rows(),
        "minimum_d_model": an.capacity.minimum, "counting": an.capacity.counting, "given_up": an.capacity.given_up,
        "refit_losses": an.refit_losses.as_ref().map(|r| r.iter().map(|&(d, l)| json!({"d_model": d, "loss": l})).collect::<Vec<_>>()),
        "gap_curve": an.gap_curve.as_ref().map(|g| json!({
            "weight_decay": g.weight_decay,
            "epochs": g.points.iter().map(|p| p.0).collect::<Vec<_>>(),
            "gap": g.points.iter().map(|p| p.1).collect::<Vec<_>>(),
            "gap_without_weight_decay": g.points.iter().map(|p| p.2).collect::<Vec<_>>(),
        })),
    });
    if let (Value::Object(o), Value::Object(m)) = (&mut out, more) {
        o.extend(m);
        o.extend(super::mechanism::json(an));
        if let Some(h) = &an.held_out {
            o.insert("held_out".into(), super::verbs::held_out_json(h));
        }
    }
    out
}

fn agreement(c: &Comparison) -> Value {
    json!(c.agreement)
}

fn evidence(c: &Comparison) -> Value {
    json!(c.evidence())
}

fn control(c: &Control) -> Value {
    #[derive(serde::Serialize)]
    struct Row {
        #[serde(flatten)]
        evidence: Evidence,
        what: String,
        agreement: Agreement,
    }
    json!(Row {
        evidence: c.cmp.evidence(),
        what: c.what.to_string(),
        agreement: c.cmp.agreement,
    })
}

/// `zl eval --json`.
pub fn eval(e: &super::text::EvalView) -> Value {
    let d = &e.cmp.decomposition;
    json!({
        "load": e.load.display().to_string(),
        "corpus": e.corpus.source.to_string(),
        "vocab_size": e.weights.vocab.len(),
        "corpus_vocab_size": e.corpus.vocab.len(),
        "d_model": e.weights.d_model,
        "model_loss": d.model_loss,
        "bigram_entropy": d.bigram_entropy,
        "kl_weighted": d.kl_weighted,
        // The older names of model_loss and bigram_entropy, kept for one release.
        "loss": d.model_loss,
        "floor": d.bigram_entropy,
        "scored": e.scored,
        "skipped": e.skipped.pairs,
        "skipped_characters": e.skipped.chars.iter().map(|&(c, n)| json!({"char": c.to_string(), "pairs": n})).collect::<Vec<_>>(),
    })
}

//! `zl sweep`: one model per d_model, for a fixed `--epochs` or `--until-gap EPS` (the verdicts'
//! reasons are in `analysis::sweep`).

use anyhow::{bail, Context, Result};

use crate::{
    analysis::sweep::{self, Budget, Sweep},
    args::SweepArgs,
    backend::{Backend, Choice},
    data::{corpus::Corpus, files},
    render,
};

pub fn run(choice: Choice, a: &SweepArgs) -> Result<()> {
    if let Some(dir) = &a.plot {
        files::check_output_dir(dir).with_context(|| format!("--plot {}", dir.display()))?;
        render::plot::load_font()?;
    }
    let corpus = Corpus::load_either(
        a.text.corpus.as_deref(),
        a.text.counts.as_deref(),
        &a.text.tokens(),
    )?;
    let mut sizes = a.d_model.clone();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.is_empty() {
        bail!("--d-model: no sizes given; list them, such as --d-model 1,2,4,8,16,32");
    }
    let backend = Backend::open(choice)?;
    let config = a.training.config();
    let floor = corpus.bigram_entropy();
    let sw = match (a.until_gap, a.max_epochs) {
        (Some(eps), Some(max_epochs)) => {
            let mut seeds = a.seeds.as_ref().map_or(vec![config.seed], |s| s.0.clone());
            seeds.sort_unstable();
            seeds.dedup();
            let budget = Budget {
                eps,
                max_epochs,
                seeds,
            };
            Sweep::UntilGap(sweep::until_gap(&backend, &corpus, &sizes, config, budget)?)
        }
        (None, None) => Sweep::Fixed(sweep::fixed(&backend, &corpus, &sizes, config)?),
        _ => unreachable!("clap's `requires` makes --until-gap and --max-epochs need each other"),
    };
    let name = backend.name();
    if a.json {
        println!("{}", render::json::sweep(&name, &corpus, &config, &sw));
    } else {
        print!("{}", render::text::sweep(&name, &corpus, &config, &sw));
    }
    if let Some(dir) = &a.plot {
        let source = corpus.source.to_string();
        let figures = || -> Result<Vec<(String, Vec<u8>)>> {
            let mut f = render::sweep_plot::all(&sw.points(), floor, &source)?;
            if let Sweep::UntilGap(u) = &sw {
                f.extend(render::sweep_plot::gaps(u, &source)?);
            }
            Ok(f)
        };
        figures()
            .and_then(|f| files::write_folder(dir, &f))
            .with_context(|| format!("--plot {}", dir.display()))?;
    }
    Ok(())
}

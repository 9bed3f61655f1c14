//! The checksum lines of `docs/PERFORMANCE.md` (`zl train --checksum …`, the proof that every
//! path keeps zl-core's bits), recomputed by every instruction set this build runs: on x86-64
//! portable (SSE2), AVX2 and AVX-512; on aarch64, under qemu-aarch64 in scripts/test.sh,
//! portable (zl-core) and NEON. Each line is printed as it is checked, so that the log shows
//! which instruction set gave which line.

use zl_core::{checksum, AdamWConfig, Bigrams, SeedModel, Trainer, Vocab, SEED_TEXT};
use zl_lanes::Isa;

/// One documented line: its flags and the checksum line it must print.
struct Line {
    flags: String,
    seed: u64,
    epochs: u32,
    adamw: AdamWConfig,
    want: String,
}

fn documented() -> Vec<Line> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PERFORMANCE.md");
    let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = Vec::new();
    for l in doc.lines() {
        let Some(rest) = l.strip_prefix("zl train --checksum") else {
            continue;
        };
        let at = rest
            .find("epochs=")
            .expect("a checksum line after the flags");
        let (flags, want) = (rest[..at].trim(), rest[at..].trim());
        let mut line = Line {
            flags: flags.to_string(),
            seed: 0,
            epochs: 10_000,
            adamw: AdamWConfig::default(),
            want: want.to_string(),
        };
        let words: Vec<&str> = flags.split_whitespace().collect();
        for pair in words.chunks(2) {
            let [flag, value] = pair else {
                panic!("{path}: flag without a value in {l:?}")
            };
            fn parse<T: std::str::FromStr>(value: &str, line: &str) -> T {
                value.parse().unwrap_or_else(|_| {
                    panic!("docs/PERFORMANCE.md: bad value {value:?} in {line:?}")
                })
            }
            match *flag {
                "--seed" => line.seed = parse(value, l),
                "--epochs" => line.epochs = parse(value, l),
                "--lr" => line.adamw.lr = parse(value, l),
                "--weight-decay" => line.adamw.weight_decay = parse(value, l),
                _ => panic!("{path}: {flag} is not a flag this test knows, in {l:?}"),
            }
        }
        lines.push(line);
    }
    assert!(
        lines.len() >= 5,
        "{path} lists {} checksum lines",
        lines.len()
    );
    lines
}

#[test]
fn every_isa_prints_the_documented_checksum_lines() {
    let b = Bigrams::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
    let isas = Isa::available();
    // The compile target's own instruction sets must be among them.
    if cfg!(target_arch = "aarch64") {
        assert!(isas.contains(&Isa::by_name("neon").unwrap()));
    }
    for line in documented() {
        for &isa in &isas {
            let model = SeedModel::init_torch(line.seed, 30, 16).unwrap();
            let mut t = Trainer::new(model, line.adamw);
            let final_loss = isa
                .run(&mut t, &b, line.epochs, |_, _| {})
                .unwrap_or_else(|e| panic!("{isa} {}: diverged {e:?}", line.flags));
            let mut got = String::new();
            checksum::write_line(&mut got, line.epochs, final_loss, &t.model).unwrap();
            eprintln!("{isa:>8} [{}] {got}", line.flags);
            assert_eq!(got, line.want, "{isa} with {:?}", line.flags);
        }
    }
}

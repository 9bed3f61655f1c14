//! Times the large-V epoch and prints its checksum line, on synthetic counts: the bigram counts of
//! a million tokens drawn as `floor(u³·V)` (u uniform; the same law as bench/peers/torch_large_v.py),
//! `init_torch(0)` weights, AdamW's defaults.
//!
//!     cargo run --release -p zl-lanes --example big_epoch -- V D [THREADS] [TILE_ROWS|-] [ISA] [EPOCHS]
//!
//! Prints one JSON line: the sizes, the median and minimum seconds per epoch, and the checksum
//! line after the epochs (equal on every instruction set, thread count and tile size).

use std::time::Instant;

use zl_core::{big, rng::TorchGenerator, AdamWConfig, Csr};
use zl_lanes::{Big, BigModel, Isa};

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let arg = |n: usize| a.get(n).filter(|s| *s != "-");
    let v: usize = arg(0).expect("V").parse().expect("V: a number");
    let d: usize = arg(1).expect("D").parse().expect("D: a number");
    let threads: usize = arg(2).map_or(2, |x| x.parse().expect("THREADS: a number"));
    let tile: Option<usize> = arg(3).map(|x| x.parse().expect("TILE_ROWS: a number"));
    let isa = arg(4).map_or(Isa::best(), |n| Isa::by_name(n).expect("ISA"));
    let epochs: u32 = arg(5).map_or(5, |x| x.parse().expect("EPOCHS: a number"));

    let mut g = TorchGenerator::new(1);
    let mut pairs: Vec<u64> = Vec::with_capacity(1_000_000);
    let mut prev = 0u64;
    for _ in 0..1_000_000 {
        let t = ((g.uniform_f64().powi(3) * v as f64) as u64).min(v as u64 - 1);
        pairs.push(prev * v as u64 + t);
        prev = t;
    }
    pairs.sort_unstable();
    let (mut rs, mut col, mut count) = (vec![0usize; v + 1], vec![], Vec::<u64>::new());
    for (n, &p) in pairs.iter().enumerate() {
        if n > 0 && pairs[n - 1] == p {
            *count.last_mut().unwrap() += 1;
            continue;
        }
        rs[(p / v as u64) as usize + 1] += 1;
        col.push((p % v as u64) as u32);
        count.push(1);
    }
    for i in 0..v {
        rs[i + 1] += rs[i];
    }
    let b = Csr::new(v, &rs, &col, &count).unwrap();

    let mut m = BigModel::init_torch(0, v, d, AdamWConfig::default());
    let mut t = Big::new(isa, threads, tile, v, d);
    let mut times = vec![];
    for _ in 0..epochs {
        let start = Instant::now();
        t.epoch(&mut m.state(), &b);
        times.push(start.elapsed().as_secs_f64());
    }
    let end = t.final_loss(&m.state(), &b, epochs).unwrap();
    let mut line = String::new();
    big::write_checksum_line(&mut line, epochs, end, &m.w_e, &m.w_u).unwrap();
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"vocab\": {v}, \"d_model\": {d}, \"threads\": {threads}, \"tile\": {}, \"isa\": \"{isa}\", \"pairs\": {}, \"epochs\": {epochs}, \"median_s\": {:.4}, \"min_s\": {:.4}, \"checksum\": \"{line}\"}}",
        tile.map_or("null".into(), |r| r.to_string()),
        b.pairs(),
        times[times.len() / 2],
        times[0],
    );
}

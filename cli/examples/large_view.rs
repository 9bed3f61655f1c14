//! The large-V view on synthetic inputs, for measuring its time and memory:
//! `large_view V D TOKENS` draws a Zipf-like Markov token stream of TOKENS tokens over V (the
//! last 10% held out), takes `init_torch(0)` weights of width D, and prints the view's text to
//! stdout (its JSON with `--json`); stage times go to stderr. For example
//! `/usr/bin/time -v target/release/examples/large_view 50257 64 1000000 > /dev/null`.

use std::time::Instant;

use zl_cli::{
    analysis::large::{untrained, Alongside, LargeView, RowMajor},
    data::{pairs::Pairs, vocab::Vocab},
    render,
};

/// Token k+1 after token t: a Zipf draw (P(r) ∝ 1/r over ranks r), offset by a hash of t, so
/// that each token has its own successors and the stream has bigram structure.
fn stream(v: usize, n: usize) -> Vec<u32> {
    let mut x = 0x2545f4914f6cdd1du64;
    let mut t = 0u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            let rank = ((u * (v as f64).ln()).exp() as u64).saturating_sub(1);
            t = (rank + t.wrapping_mul(2_654_435_761) % 97) % v as u64;
            t as u32
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |k: usize, d: usize| args.get(k).and_then(|a| a.parse().ok()).unwrap_or(d);
    let (v, d, n) = (num(1, 5_000), num(2, 64), num(3, 1_000_000));
    let json = args.iter().any(|a| a == "--json");
    let start = Instant::now();
    let tokens = stream(v, n);
    let cut = n - n / 10;
    let pairs = |t: &[u32]| {
        Pairs::from_triples(v, t.windows(2).map(|p| (p[0], p[1], 1)).collect()).expect("pairs")
    };
    let (train, held) = (pairs(&tokens[..cut]), pairs(&tokens[cut - 1..]));
    drop(tokens);
    let (w_e, w_u) = untrained(0, v, d);
    eprintln!(
        "V = {v}, d = {d}, {n} tokens, {} pairs: counted in {:.2} s",
        train.len(),
        start.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let w = RowMajor {
        vocab_len: v,
        d_model: d,
        w_e: &w_e,
        w_u: &w_u,
    };
    let view =
        LargeView::new(&w, &train, Some(&held), Some(Alongside::untrained_only(0))).expect("pairs");
    eprintln!("analysed in {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    // Labels: the tokens as characters from U+20000 (CJK Extension B on).
    let chars: Vec<char> = (0..v as u32)
        .map(|i| char::from_u32(0x2_0000 + i).expect("a plane-2 character"))
        .collect();
    let vocab = Vocab::chars(&chars);
    if json {
        println!("{}", render::large::json(&view, &vocab));
    } else {
        print!("{}", render::large::interpret(&view, &vocab, false, false));
    }
    eprintln!("rendered in {:.2} s", t.elapsed().as_secs_f64());
}

//! Text output: characters as Python prints them, and the bigram comparison table.

use std::fmt::Write;

use zl_core::{loss::Workspace, Bigrams, Model};

/// A character as Python's `repr` shows it, so that labels match the notebook's prints.
pub fn py_repr(c: char) -> String {
    match c {
        '\'' => "\"'\"".to_string(),
        '\\' => "'\\\\'".to_string(),
        '\n' => "'\\n'".to_string(),
        '\r' => "'\\r'".to_string(),
        '\t' => "'\\t'".to_string(),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => format!("'\\x{:02x}'", c as u32),
        c if c.is_control() => format!("'\\u{:04x}'", c as u32),
        c => format!("'{c}'"),
    }
}

/// The vocabulary as the notebook prints `char_to_token`: `{'h': 0, 'i': 1, …}`.
pub fn vocab_dict(vocab: &[char]) -> String {
    let items: Vec<String> = vocab
        .iter()
        .enumerate()
        .map(|(i, &c)| format!("{}: {i}", py_repr(c)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Per-token facts behind the comparison (all f64, from the f32 model).
pub struct Row {
    /// Times the token is followed by another (n_i).
    pub count: f64,
    /// KL(P_i ‖ Q_i) in nats (0 when the token is never followed).
    pub kl: f64,
    /// Next tokens by data frequency, then id: (token, P, Q).
    pub data_top: Vec<(usize, f64, f64)>,
    /// The model's most likely next token and its Q.
    pub model_top: (usize, f64),
    /// Whether the model's top-1 is one of the data's most frequent next tokens.
    pub argmax_agrees: bool,
}

/// Mean cross-entropy and bigram facts for a trained model.
pub struct Comparison {
    pub rows: Vec<Row>,
    /// H(next | current), the floor.
    pub bigram_entropy: f64,
    /// Σ_i (n_i/N) KL(P_i ‖ Q_i).
    pub kl_weighted: f64,
}

/// Compares the data's next-token distributions with the model's `softmax(W_E W_U)` rows.
pub fn compare<const V: usize, const D: usize>(m: &Model<V, D>, b: &Bigrams<V>) -> Comparison {
    let v = b.vocab_len();
    let mut ws = Workspace::<V, D>::default();
    zl_core::loss::forward(m, b, &mut ws);
    let q = |i: usize, j: usize| ws.probs[(i, j)] as f64;
    let mut rows = Vec::with_capacity(v);
    let mut kl_weighted = 0.0;
    for i in 0..v {
        let n = b.row_totals[i] as f64;
        let mut kl = 0.0;
        let mut data_top = Vec::new();
        for j in 0..v {
            let c = b.counts[(i, j)] as f64;
            if c > 0.0 {
                let p = c / n;
                kl += p * (p / q(i, j)).ln();
                data_top.push((j, p, q(i, j)));
            }
        }
        data_top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let model_top = (0..v)
            .map(|j| (j, q(i, j)))
            .fold((0, f64::NEG_INFINITY), |a, x| if x.1 > a.1 { x } else { a });
        let best = data_top.first().map(|t| t.1).unwrap_or(0.0);
        let argmax_agrees = data_top
            .iter()
            .any(|&(j, p, _)| p == best && j == model_top.0);
        kl_weighted += n / b.total as f64 * kl;
        rows.push(Row {
            count: n,
            kl,
            data_top,
            model_top,
            argmax_agrees,
        });
    }
    Comparison {
        rows,
        bigram_entropy: b.conditional_entropy(),
        kl_weighted,
    }
}

/// The comparison as a table: for each current character, its most frequent next characters
/// with the data's P and the model's Q, and the row's KL.
pub fn comparison_table(c: &Comparison, vocab: &[char], max_next: usize) -> String {
    // The "next" cells first, so that the column is as wide as its widest cell.
    let cells: Vec<String> = c
        .rows
        .iter()
        .map(|r| {
            let mut next = String::new();
            for &(j, p, q) in r.data_top.iter().take(max_next) {
                let _ = write!(next, "{} {p:.3}/{q:.3}  ", py_repr(vocab[j]));
            }
            if r.data_top.len() > max_next {
                let _ = write!(next, "+{}", r.data_top.len() - max_next);
            }
            next.trim_end().to_string()
        })
        .collect();
    let w = cells
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0)
        .max("next: P / Q".len());
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Bigram statistics vs the model: for each current character, its most frequent next"
    );
    let _ = writeln!(
        s,
        "characters with the data's P(next|cur) and the model's softmax(W_E W_U) Q(next|cur)."
    );
    let _ = writeln!(
        s,
        "{:>5} {:>4}  {:<w$} {:>9}  model top-1",
        "cur", "n", "next: P / Q", "KL(P‖Q)"
    );
    for (i, (r, next)) in c.rows.iter().zip(&cells).enumerate() {
        let label = py_repr(vocab[i]);
        if r.count == 0.0 {
            let _ = writeln!(
                s,
                "{label:>5} {:>4}  (never followed: the text's last character)",
                0
            );
            continue;
        }
        let mark = if r.argmax_agrees { "✓" } else { "✗" };
        let pad = w - next.chars().count();
        let _ = writeln!(
            s,
            "{label:>5} {:>4}  {next}{:pad$} {:>9.5}  {} {:.3} {mark}",
            r.count,
            "",
            r.kl,
            py_repr(vocab[r.model_top.0]),
            r.model_top.1
        );
    }
    s
}

//! Fuzzes the corpus reader (`--corpus FILE`): any bytes give counts or an error, never a panic;
//! and for valid UTF-8 the parallel chunked counter must equal the naive one-pass count.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let got = zl_cli::data::corpus::count(data, "fuzz.txt");
    match std::str::from_utf8(data) {
        Err(_) => assert!(got.is_err()),
        Ok(text) => {
            let mut vocab: Vec<char> = text.chars().collect();
            vocab.sort_unstable();
            vocab.dedup();
            if text.chars().count() < 2 || vocab.len() < 2 {
                assert!(got.is_err());
                return;
            }
            let ids: Vec<u32> = text
                .chars()
                .map(|c| vocab.binary_search(&c).unwrap() as u32)
                .collect();
            let pairs = ids.windows(2).map(|w| (w[0], w[1], 1)).collect();
            let counts = zl_cli::data::pairs::Pairs::from_triples(vocab.len(), pairs).unwrap();
            assert_eq!(got.unwrap(), (vocab, counts, ids.len() as u64));
        }
    }
});

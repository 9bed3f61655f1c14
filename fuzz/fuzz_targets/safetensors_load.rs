//! Fuzzes the weights loader (`zl ... --load`): any bytes must give weights that pass every
//! check, or an error; never a panic. Accepted weights are checked again here.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(w) = zl_cli::data::files::weights_from_safetensors(data, std::path::Path::new("fuzz.safetensors")) {
        let v = w.vocab.len();
        assert_eq!(w.w_e.len(), v * w.d_model);
        assert_eq!(w.w_u.len(), w.d_model * v);
        assert!(w.w_e.iter().chain(&w.w_u).all(|x| x.is_finite()));
    }
});

//! This CPU's AVX-512 arithmetic peak on every core, the ceiling under zl's large-V epoch: a
//! multiply then an add (what zl may use), the fused multiply-add (what BLAS uses, and zl may
//! not: it rounds once where the reference rounds twice), and the division (the softmax
//! gradient's `(n·(e/s))/N` takes two per logit).
//!
//!     cargo run --release -p zl-lanes --example peak -- [THREADS]
//!
//! Each loop keeps ten independent registers busy, so that throughput, not latency, bounds it;
//! it prints one JSON line: GFLOP/s for the multiply-add forms (two flops a lane), and
//! divisions per second (one a lane).

#[cfg(target_arch = "x86_64")]
fn main() {
    use std::{arch::asm, time::Instant};
    if !std::arch::is_x86_feature_detected!("avx512f") {
        eprintln!("peak: this CPU has no AVX-512F");
        std::process::exit(1);
    }
    let threads: usize = std::env::args()
        .nth(1)
        .map_or(2, |t| t.parse().expect("THREADS: a number"));
    const ITERS: u64 = 50_000_000;
    // Ten instructions a loop, sixteen lanes each.
    let per_loop = |f: fn(u64)| {
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(move || f(ITERS));
            }
        });
        (ITERS * 10 * 16 * threads as u64) as f64 / start.elapsed().as_secs_f64()
    };
    macro_rules! kernel {
        ($name:ident, $($body:literal),+) => {
            fn $name(mut n: u64) {
                // SAFETY: AVX-512F is present (checked above); the loop touches registers only.
                unsafe {
                    asm!(
                        "vbroadcastss xmm20, dword ptr [{one}]",
                        "vmovaps zmm21, zmm20",
                        "2:",
                        $($body,)+
                        "dec {n}",
                        "jnz 2b",
                        n = inout(reg) n,
                        one = in(reg) &1.0f32,
                        out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _, out("zmm4") _,
                        out("zmm5") _, out("zmm6") _, out("zmm7") _, out("zmm8") _, out("zmm9") _,
                        out("zmm10") _, out("zmm11") _, out("zmm12") _, out("zmm13") _,
                        out("zmm14") _, out("zmm15") _, out("zmm16") _, out("zmm17") _,
                        out("zmm18") _, out("zmm19") _, out("zmm20") _, out("zmm21") _,
                        options(nostack),
                    );
                }
                let _ = n;
            }
        };
    }
    kernel!(
        mul_add,
        "vmulps zmm0, zmm20, zmm21",
        "vaddps zmm10, zmm10, zmm0",
        "vmulps zmm1, zmm20, zmm21",
        "vaddps zmm11, zmm11, zmm1",
        "vmulps zmm2, zmm20, zmm21",
        "vaddps zmm12, zmm12, zmm2",
        "vmulps zmm3, zmm20, zmm21",
        "vaddps zmm13, zmm13, zmm3",
        "vmulps zmm4, zmm20, zmm21",
        "vaddps zmm14, zmm14, zmm4",
        "vmulps zmm5, zmm20, zmm21",
        "vaddps zmm15, zmm15, zmm5",
        "vmulps zmm6, zmm20, zmm21",
        "vaddps zmm16, zmm16, zmm6",
        "vmulps zmm7, zmm20, zmm21",
        "vaddps zmm17, zmm17, zmm7",
        "vmulps zmm8, zmm20, zmm21",
        "vaddps zmm18, zmm18, zmm8",
        "vmulps zmm9, zmm20, zmm21",
        "vaddps zmm19, zmm19, zmm9"
    );
    kernel!(
        fused,
        "vfmadd231ps zmm10, zmm20, zmm21",
        "vfmadd231ps zmm11, zmm20, zmm21",
        "vfmadd231ps zmm12, zmm20, zmm21",
        "vfmadd231ps zmm13, zmm20, zmm21",
        "vfmadd231ps zmm14, zmm20, zmm21",
        "vfmadd231ps zmm15, zmm20, zmm21",
        "vfmadd231ps zmm16, zmm20, zmm21",
        "vfmadd231ps zmm17, zmm20, zmm21",
        "vfmadd231ps zmm18, zmm20, zmm21",
        "vfmadd231ps zmm19, zmm20, zmm21"
    );
    kernel!(
        divide,
        "vdivps zmm0, zmm20, zmm21",
        "vdivps zmm1, zmm20, zmm21",
        "vdivps zmm2, zmm20, zmm21",
        "vdivps zmm3, zmm20, zmm21",
        "vdivps zmm4, zmm20, zmm21",
        "vdivps zmm5, zmm20, zmm21",
        "vdivps zmm6, zmm20, zmm21",
        "vdivps zmm7, zmm20, zmm21",
        "vdivps zmm8, zmm20, zmm21",
        "vdivps zmm9, zmm20, zmm21"
    );
    // Each loop is ten multiply-adds (two flops a lane) or ten divisions.
    let separate = 2.0 * per_loop(mul_add);
    let fma = 2.0 * per_loop(fused);
    let div = per_loop(divide);
    println!(
        "{{\"threads\": {threads}, \"mul_then_add_gflops\": {:.1}, \"fma_gflops\": {:.1}, \"div_per_ns\": {:.2}}}",
        separate / 1e9,
        fma / 1e9,
        div / 1e9
    );
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    eprintln!("peak: x86-64 only");
    std::process::exit(1);
}

//! zl-core on a microcontroller: trains the seed model for 10,000 epochs under QEMU and prints,
//! over semihosting, the loss every 1,000 epochs, the RAM it took, and last the checksum line
//! that the host's `zl train --checksum` prints. run.sh builds it for two boards (build.rs).
//!
//! The stack high-water mark is measured by painting: every free stack word is filled with a
//! pattern before training, and afterwards the lowest word that no longer holds it marks the
//! deepest the stack went. The training state lives on the stack, so the mark is the RAM that
//! training needs beyond the (tiny) statics.
#![no_std]
#![no_main]

use core::fmt::Write;

use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{
    debug::{self, EXIT_FAILURE, EXIT_SUCCESS},
    hio,
};
use panic_semihosting as _;
use zl_core::{Bigrams, Trainer, SEED_D, SEED_V};

/// Written into every free stack word before training. Not a plausible f32, pointer or count.
const PAINT: u32 = 0xA5C3_5A3C;

// Symbols of cortex-m-rt's link.x: the stack runs from `_stack_start` (top of RAM) down to
// `_stack_end` (just past .data, .bss and .uninit, which start at `__sdata`).
extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
    static __sdata: u32;
}

/// The RAM map, as addresses.
struct Ram {
    statics_start: usize,
    stack_bottom: usize,
    stack_top: usize,
}

fn ram() -> Ram {
    // Only the symbols' addresses are taken (safe since Rust 1.82); nothing is read through them.
    Ram {
        statics_start: core::ptr::addr_of!(__sdata) as usize,
        stack_bottom: core::ptr::addr_of!(_stack_end) as usize,
        stack_top: core::ptr::addr_of!(_stack_start) as usize,
    }
}

/// Paints the free stack, from its bottom up to a little below this function's own frame.
#[inline(never)]
fn paint_stack() {
    // Words below the stack pointer belong to no frame (ARM has no red zone) and no interrupt
    // is enabled, so nothing else writes there. The margin keeps clear of the current frame.
    let top = (cortex_m::register::msp::read() as usize - 64) & !3;
    let mut p = ram().stack_bottom;
    while p < top {
        // SAFETY: `p` is word-aligned (link.x aligns `_stack_end` to 4) and lies in RAM
        // between the statics and the live stack, memory that no Rust object occupies.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Bytes of stack used so far: from the top down to the lowest word no longer painted. `None`
/// if even the bottom word was overwritten, i.e. the stack reached the statics.
fn stack_high_water() -> Option<usize> {
    let Ram {
        stack_bottom,
        stack_top,
        ..
    } = ram();
    let mut p = stack_bottom;
    // SAFETY: as in `paint_stack`; reading words of the free stack region.
    while p < stack_top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    (p > stack_bottom).then_some(stack_top - p)
}

#[entry]
fn main() -> ! {
    let Ok(mut out) = hio::hstdout() else {
        exit(false)
    };
    exit(report(&mut out).is_ok())
}

/// Ends the QEMU run with a passing or failing exit code.
fn exit(ok: bool) -> ! {
    debug::exit(if ok { EXIT_SUCCESS } else { EXIT_FAILURE });
    // Semihosting's exit returns only where no debugger or QEMU listens: stop here.
    loop {
        cortex_m::asm::wfi();
    }
}

/// Trains and prints everything; `Err` after printing why, if training or the stack failed.
fn report(out: &mut hio::HostStream) -> Result<(), ()> {
    let _ = writeln!(
        out,
        "zl-core on {} ({})",
        env!("ZL_BOARD"),
        env!("ZL_TARGET")
    );
    paint_stack();
    let line = zl_seed_train::train_seed(out).map_err(|e| {
        let _ = writeln!(out, "training failed: {e}");
    })?;

    let ram = ram();
    let statics = ram.stack_bottom - ram.statics_start;
    let available = ram.stack_top - ram.stack_bottom;
    let Some(used) = stack_high_water() else {
        let _ = writeln!(out, "stack overflow: training used all {available} bytes");
        return Err(());
    };
    let _ = writeln!(
        out,
        "RAM: stack high-water mark {used} bytes (of {available} free), statics {statics} bytes; \
         of the stack, the Trainer is {} bytes and the bigram table {} bytes",
        size_of::<Trainer<SEED_V, SEED_D>>(),
        size_of::<Bigrams<SEED_V>>()
    );
    // The checksum line comes last: the tests compare the final line with the host's.
    writeln!(out, "{line}").map_err(|_| ())
}

// A fault (say, the stack running off the bottom of RAM) ends QEMU with a failure instead of
// leaving it spinning in the default handler until run.sh's timeout.
#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    if let Ok(mut err) = hio::hstderr() {
        let _ = writeln!(err, "HardFault: {frame:?}");
    }
    exit(false)
}

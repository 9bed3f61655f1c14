//! What the numbers say about one model, as typed facts: zl-core's verdict ([`zl_core::verdict`]),
//! whose rules the interactive page's module decides by too. Render writes its words.

pub use zl_core::verdict::{
    decide, small_gap, Evidence, GapSite, GapTrend, NotRetrained, Regime, Verdict, Wider,
    CONTROL_FACTOR, MOSTLY_SHARE, SMALL_GAP_FRACTION, STILL_FALLING_DROP, WIDER_FACTOR,
};

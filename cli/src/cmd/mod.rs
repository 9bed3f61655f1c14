//! The commands. Each parses nothing itself (args.rs has the flags): it asks the backend layer
//! for runs, the analysis layer for results, and the render layer for output, then writes.
//! No command calls another; what two share lives in [`source`] (the model interpret and
//! report analyse) and [`live`] (a run as it happens).

pub mod count;
pub mod eval;
pub mod interpret;
pub mod live;
pub mod report;
pub mod run;
pub mod sample;
pub mod source;
pub mod sweep;
pub mod train;

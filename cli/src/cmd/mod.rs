//! The commands. Each parses nothing itself (args.rs has the flags): it asks the backend layer
//! for runs, the analysis layer for results, and the render layer for output, then writes.
//! No command calls another; what two share lives in [`source`].

pub mod count;
pub mod interpret;
pub mod report;
pub mod source;
pub mod sweep;
pub mod train;

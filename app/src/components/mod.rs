//! Pieces the pages share.

mod connection_row;
mod empty_state;
mod error_notice;
mod frame;
mod pill;
mod run_sparkline;

pub(crate) use connection_row::{
    duration_text, encode_path_segment, exact_time, relative_time, run_status_text, schedule_text,
};
pub use connection_row::{ConnectionRow, NextAction, RowView};
pub use empty_state::EmptyState;
pub use error_notice::ErrorNotice;
pub use frame::Frame;
pub use pill::{pill_annotation, VerdictPill};
pub use run_sparkline::RunSparkline;

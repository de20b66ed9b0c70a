//! Pieces the pages share.

mod connection_row;
mod empty_state;
mod error_notice;
mod frame;
mod pill;

pub use connection_row::ConnectionRow;
pub(crate) use connection_row::encode_path_segment;
pub use empty_state::EmptyState;
pub use error_notice::ErrorNotice;
pub use frame::Frame;
pub use pill::VerdictPill;

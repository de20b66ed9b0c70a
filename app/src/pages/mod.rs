//! One module per route.

mod connection;
mod connections;
mod login;
mod not_found;

pub use connection::ConnectionPage;
pub use connections::ConnectionsPage;
pub use login::LoginPage;
pub use not_found::{NotFound, NotFoundPage};

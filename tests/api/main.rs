//! Black-box tests of the server: each test spawns the real application on a random port
//! over a fresh database (SQLite file or a new Postgres database) with a clock it controls.

mod helpers;

mod auth;
mod fuzz;
mod load;
mod paging;
mod read_model;
mod security;
mod writes;

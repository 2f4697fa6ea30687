//! The `roster` server: configuration, seed file, router assembly and the HTTP listener.

pub mod admin;
pub mod seed;
pub mod server;

pub use server::{Config, Running};

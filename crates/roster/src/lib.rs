//! The `roster` server: configuration, seed file, router assembly and the HTTP listener.

pub mod admin;
mod callbacks;
pub mod client;
pub mod control;
mod dialects;
pub mod exec;
mod housekeeping;
pub mod metrics;
mod openapi;
mod refusals;
pub mod seed;
pub mod server;
pub mod snapshot;
pub mod tls;

pub use server::{Config, Running};

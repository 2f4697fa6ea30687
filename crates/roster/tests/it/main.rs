//! roster's API tests, one binary: each module a former test file, `common` compiled once.
//! Tests run against in-process servers (or the real binary as a child process) on SQLite
//! and, when ROSTER_TEST_DATABASE_URL is set, on PostgreSQL.

mod common;

mod atomicity;
mod browse;
mod cli;
mod contention;
mod control;
mod durability;
mod events_durability;
mod feishu_apaas;
mod feishu_login;
mod feishu_tasks;
mod http_layer;
mod nul_keys;
mod openapi;
mod overflow;
mod resends;
mod retention;
mod scale_out;
mod server;
mod shutdown;
mod strict_bodies;
mod tim;
mod tls;
mod wecom;

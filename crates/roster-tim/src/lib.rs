//! Tencent Cloud Chat (TIM) REST dialect: `/v4/<service>/<command>` with UserSig v2
//! authentication, the account commands of `im_open_login_svc` and the five `follow` commands.

mod accounts;
mod app;
mod callback;
mod follow;
mod gateway;
mod limits;
mod openapi;
mod seed;
pub mod usersig;
mod wire;

pub use gateway::{router, Dialect};
pub use limits::Limits;
pub use openapi::openapi;
pub use seed::{AppSeed, Seed, SeedError};

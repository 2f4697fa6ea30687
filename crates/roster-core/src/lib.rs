//! roster's relationship engine, free of any vendor's wire format.
//!
//! Vocabulary: a [`Space`] isolates one tenant/app/corp. An [`Entity`] is anything that has or is
//! a member (task, chat, tag, account, user, department); its `kind` and `attrs` belong to the
//! dialect that created it. An edge says `subject --relation--> member`. Counters keep, per
//! entity and relation, how many members it has and how many subjects it belongs to, so counts
//! are O(1) and limits can be enforced inside the write transaction.

mod browse;
mod changes;
mod clock;
pub mod coordination;
mod cursor;
mod dump;
mod engine;
mod live;
mod model;
mod plan;
pub mod secret;
pub mod seeded;
mod store;

pub use browse::*;
pub use changes::*;
pub use clock::{wall_ms, Clock, OffsetOutOfRange, MAX_OFFSET_SECONDS};
pub use coordination::{Coordinator, Hold, Throttled, Window};
pub use cursor::CursorKey;
pub use dump::*;
pub use engine::Engine;
pub use live::{Live, Reload, Reloads};
pub use model::*;
pub use plan::*;
pub use store::{Store, StoreError};

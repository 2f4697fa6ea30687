use std::sync::Arc;

use crate::{Clock, Coordinator, CursorKey, Reloads, Retention, Store, StoreError, Tombstones};

/// What every dialect is handed: the store, the clock, and the server's secrets.
#[derive(Clone)]
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub clock: Arc<Clock>,
    /// Seals page tokens of every list.
    pub cursors: CursorKey,
    /// Key for the stateless tokens dialects issue (access tokens, login codes). Kept in the
    /// database, so every roster process on one database verifies the others' tokens.
    pub token_key: Arc<[u8]>,
    /// The dialects' in-memory views of their spaces, reloaded after a reset or snapshot load.
    pub reloads: Reloads,
    /// Rates and exclusive sections, shared by every roster process on the database.
    pub coordinator: Arc<dyn Coordinator>,
    /// How long histories are kept (the change log, delivery attempts, tombstones): everything
    /// unless the server sets it.
    pub retention: Retention,
    /// The kinds of tombstone the dialects declared, removed past the retention horizon.
    pub tombstones: Tombstones,
}

impl Engine {
    pub async fn new(store: Arc<dyn Store>, clock: Arc<Clock>) -> Result<Self, StoreError> {
        let cursors = CursorKey::new(&store.secret("cursor-key").await?);
        let token_key = store.secret("token-key").await?.into();
        Ok(Self {
            clock,
            cursors,
            token_key,
            reloads: Reloads::default(),
            coordinator: store.coordinator(),
            retention: Retention::default(),
            tombstones: Tombstones::default(),
            store,
        })
    }
}

//! What every command handler and the callbacks share: the dialect's state and one call.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use roster_core::{Engine, Live, Reload, StoreError};

use crate::app::App;
use crate::wire::Fields;

pub(crate) struct Tim {
    pub(crate) engine: Engine,
    /// The apps by SDKAppID, held in memory: authenticating a call needs no database.
    pub(crate) apps: Live<HashMap<u64, Arc<App>>>,
}

#[async_trait]
impl Reload for Tim {
    async fn reload(&self) -> Result<(), StoreError> {
        self.apps.set(App::load_all(&self.engine).await?);
        Ok(())
    }
}

/// Everything a command handler needs: who calls, for which app, with which body.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    pub engine: &'a Engine,
    pub app: &'a App,
    pub body: Fields<'a>,
}

//! The tenants and apps roster serves, held in memory (they come from the seed file only), so
//! authenticating a request costs no database round trip.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use roster_core::{
    all_pages, Engine, EntityFilter, EntityId, Live, Reload, Space, SpaceId, StoreError,
};

use crate::model::{derived_id, Subscription, APP, DIALECT};
use crate::tokens::Issuer;

#[derive(Debug)]
pub struct Tenant {
    pub key: String,
    pub space: Space,
    /// app_ids of the tenant's apps: every user has an open_id in each.
    pub app_ids: Vec<String>,
}

#[derive(Debug)]
pub struct App {
    pub app_id: String,
    pub secret: String,
    /// Its bot's name and avatar (`bot/v3/info`): the seed's, else the app_id and none.
    pub name: String,
    pub avatar_url: String,
    pub entity: EntityId,
    pub tenant: Arc<Tenant>,
    /// Where its events go, if anywhere.
    pub subscription: Option<Subscription>,
}

impl App {
    /// The app's own open_id (what `creator_id` shows for things it made with a tenant token).
    pub fn open_id(&self) -> String {
        derived_id("ou_", &["app", &self.tenant.key, &self.app_id])
    }

    /// What its tokens name as their issuer.
    pub fn issuer(&self) -> Issuer {
        (self.entity, self.tenant.space.generation)
    }
}

/// The apps of every tenant, by app_id and by entity.
#[derive(Default)]
struct Apps {
    by_id: HashMap<String, Arc<App>>,
    by_entity: HashMap<EntityId, Arc<App>>,
}

impl Apps {
    async fn load(engine: &Engine) -> Result<Self, StoreError> {
        let mut apps = Apps::default();
        for space in engine.store.spaces(DIALECT).await? {
            let entities = all_entities(engine, space.id, APP).await?;
            let tenant = Arc::new(Tenant {
                key: space.key.clone(),
                app_ids: entities.iter().map(|a| a.key.clone()).collect(),
                space,
            });
            for entity in entities {
                let text = |field: &str| entity.attrs[field].as_str().map(str::to_string);
                let app = Arc::new(App {
                    secret: text("secret").unwrap_or_default(),
                    name: text("name").unwrap_or_else(|| entity.key.clone()),
                    avatar_url: text("avatar_url").unwrap_or_default(),
                    subscription: serde_json::from_value(entity.attrs["subscription"].clone())
                        .map_err(|e| {
                            StoreError::backend(format!("app {} subscription: {e}", entity.key))
                        })?,
                    app_id: entity.key,
                    entity: entity.id,
                    tenant: tenant.clone(),
                });
                apps.by_entity.insert(app.entity, app.clone());
                apps.by_id.insert(app.app_id.clone(), app);
            }
        }
        Ok(apps)
    }
}

/// Everything the Feishu routes share.
pub struct Feishu {
    pub engine: Engine,
    apps: Live<Apps>,
}

#[async_trait]
impl Reload for Feishu {
    async fn reload(&self) -> Result<(), StoreError> {
        self.apps.set(Apps::load(&self.engine).await?);
        Ok(())
    }
}

impl Feishu {
    pub async fn load(engine: Engine) -> Result<Self, StoreError> {
        Ok(Self {
            apps: Live::new(Apps::load(&engine).await?),
            engine,
        })
    }

    /// The space of every tenant.
    pub fn spaces(&self) -> Vec<SpaceId> {
        let mut spaces: Vec<SpaceId> = self
            .apps
            .get()
            .by_id
            .values()
            .map(|a| a.tenant.space.id)
            .collect();
        spaces.sort_unstable();
        spaces.dedup();
        spaces
    }

    /// The apps of the tenant of `space`, in app_id order.
    pub fn apps_of(&self, space: SpaceId) -> Vec<Arc<App>> {
        let mut apps = self.all_apps();
        apps.retain(|app| app.tenant.space.id == space);
        apps.sort_by(|a, b| a.app_id.cmp(&b.app_id));
        apps
    }

    /// Every app of every tenant.
    pub fn all_apps(&self) -> Vec<Arc<App>> {
        self.apps.get().by_id.values().cloned().collect()
    }

    pub fn app(&self, app_id: &str) -> Option<Arc<App>> {
        self.apps.get().by_id.get(app_id).cloned()
    }

    pub fn app_by_entity(&self, entity: EntityId) -> Option<Arc<App>> {
        self.apps.get().by_entity.get(&entity).cloned()
    }

    pub fn apps(&self) -> Vec<Arc<App>> {
        self.apps.get().by_id.values().cloned().collect()
    }

    pub fn now(&self) -> i64 {
        self.engine.clock.now()
    }
}

/// Every entity of `kind` in the space (for start-up and seeding, not request paths).
pub async fn all_entities(
    engine: &Engine,
    space: roster_core::SpaceId,
    kind: &str,
) -> Result<Vec<roster_core::Entity>, StoreError> {
    let filter = EntityFilter {
        space_id: space,
        kind: kind.to_string(),
        owner: None,
    };
    all_pages(|page| engine.store.list_entities(&filter, page)).await
}

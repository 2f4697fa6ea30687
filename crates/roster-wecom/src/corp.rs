//! The corps roster serves: credentials and limits, held in memory so authenticating a call
//! touches no database, and read again after a reset or snapshot load.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use roster_core::secret::secrets_match;
use roster_core::{Engine, EntityId, Live, Reload, Space, SpaceId, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::callback::crypto::AesKey;

/// The `spaces.dialect` of every WeCom corp.
pub(crate) const DIALECT: &str = "wecom";
/// Entity kind and key of the record holding a corp's credentials.
pub(crate) const CORP_KIND: &str = "corp";
pub(crate) const CORP_KEY: &str = "corp";

/// What the corp record stores; the seed writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CorpAttrs {
    pub corp_id: String,
    pub corp_secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qwif: Option<QwifLogin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<CallbackConfig>,
}

/// do1's developer credentials for the corp (`qwsecurity!getToken.action`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct QwifLogin {
    pub developer_id: String,
    pub developer_key: String,
}

/// Where a corp's contact-change callbacks go: the seed's `callback_url`, `callback_token`
/// and `callback_aes_key`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CallbackConfig {
    pub url: String,
    pub token: String,
    pub aes_key: String,
}

impl CallbackConfig {
    /// From the seed file's keys: all three, or none.
    pub(crate) fn from_keys(
        url: Option<&str>,
        token: Option<&str>,
        aes_key: Option<&str>,
    ) -> Result<Option<CallbackConfig>, String> {
        let (url, token, aes_key) = match (url, token, aes_key) {
            (None, None, None) => return Ok(None),
            (Some(url), Some(token), Some(aes_key)) => (url, token, aes_key),
            _ => {
                return Err("callback_url, callback_token and callback_aes_key go together".into())
            }
        };
        roster_core::check_callback_url(url).map_err(|why| format!("callback_url: {why}"))?;
        if token.is_empty() || token.len() > 32 {
            return Err("callback_token is 1 to 32 characters".into());
        }
        AesKey::parse(aes_key).map_err(|why| format!("callback_aes_key: {why}"))?;
        Ok(Some(CallbackConfig {
            url: url.into(),
            token: token.into(),
            aes_key: aes_key.into(),
        }))
    }

    /// As the seed file's keys.
    pub(crate) fn keys(&self) -> Value {
        json!({
            "callback_url": self.url,
            "callback_token": self.token,
            "callback_aes_key": self.aes_key,
        })
    }
}

/// Vendor limits of one corp; the seed may lower or raise each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub members_per_tag: i64,
    pub tags_per_corp: i64,
    pub users_per_call: i64,
    pub departments_per_call: i64,
}

impl Limits {
    /// Names of the limits in the seed's `limits` table and in `spaces.limits`, with the
    /// vendor defaults.
    pub(crate) const DEFAULTS: [(&'static str, i64); 4] = [
        ("members_per_tag", 30000),
        ("tags_per_corp", 3000),
        ("users_per_call", 1000),
        ("departments_per_call", 100),
    ];

    pub(crate) fn of(space: &Space) -> Self {
        let [members, tags, users, departments] =
            Self::DEFAULTS.map(|(name, default)| space.limit(name, default));
        Self {
            members_per_tag: members,
            tags_per_corp: tags,
            users_per_call: users,
            departments_per_call: departments,
        }
    }

    pub(crate) fn overrides(map: &BTreeMap<String, i64>) -> Result<(), String> {
        for (name, value) in map {
            if !Self::DEFAULTS.iter().any(|(known, _)| known == name) {
                let known = Self::DEFAULTS.map(|(n, _)| n).join(", ");
                return Err(format!("unknown limit `{name}` (known: {known})"));
            }
            if *value < 1 {
                return Err(format!("limit `{name}` must be at least 1"));
            }
        }
        Ok(())
    }
}

/// One corp, as both dialects see it.
#[derive(Debug)]
pub(crate) struct Corp {
    pub space: SpaceId,
    /// The corp record; also the subject its tags hang off, to count them against the limit.
    pub entity: EntityId,
    pub attrs: CorpAttrs,
    pub limits: Limits,
    /// The space's generation (see [`roster_core::Space::generation`]).
    pub generation: i64,
}

#[derive(Default)]
pub(crate) struct Corps {
    /// Ordered, so that a lookup by do1 login is deterministic.
    by_space: BTreeMap<SpaceId, Arc<Corp>>,
    by_corp_id: HashMap<String, Arc<Corp>>,
}

impl Corps {
    pub(crate) async fn load(engine: &Engine) -> Result<Self, StoreError> {
        let mut corps = Self::default();
        for space in engine.store.spaces(DIALECT).await? {
            let Some(record) = engine
                .store
                .find_entity(space.id, CORP_KIND, CORP_KEY)
                .await?
            else {
                tracing::warn!(
                    corp = space.key,
                    "corp has no credentials record; not served"
                );
                continue;
            };
            let attrs: CorpAttrs = serde_json::from_value(record.attrs)
                .map_err(|e| StoreError::backend(format!("corp {}: {e}", space.key)))?;
            let corp = Arc::new(Corp {
                space: space.id,
                entity: record.id,
                limits: Limits::of(&space),
                generation: space.generation,
                attrs,
            });
            corps
                .by_corp_id
                .insert(corp.attrs.corp_id.clone(), corp.clone());
            corps.by_space.insert(space.id, corp);
        }
        Ok(corps)
    }

    pub(crate) fn by_space(&self, space: SpaceId) -> Option<&Arc<Corp>> {
        self.by_space.get(&space)
    }

    pub(crate) fn by_corp_id(&self, corp_id: &str) -> Option<&Arc<Corp>> {
        self.by_corp_id.get(corp_id)
    }

    /// The corp whose do1 credentials these are.
    pub(crate) fn by_qwif_login(
        &self,
        developer_id: &str,
        developer_key: &str,
    ) -> Option<&Arc<Corp>> {
        self.by_space.values().find(|corp| {
            corp.attrs.qwif.as_ref().is_some_and(|login| {
                login.developer_id == developer_id
                    && secrets_match(developer_key.as_bytes(), login.developer_key.as_bytes())
            })
        })
    }
}

/// The corps served now, replaced whole when the store's configuration changes.
pub(crate) struct LiveCorps {
    engine: Engine,
    corps: Live<Corps>,
}

#[async_trait]
impl Reload for LiveCorps {
    async fn reload(&self) -> Result<(), StoreError> {
        self.corps.set(Corps::load(&self.engine).await?);
        Ok(())
    }
}

impl LiveCorps {
    pub(crate) async fn load(engine: Engine) -> Result<Self, StoreError> {
        Ok(Self {
            corps: Live::new(Corps::load(&engine).await?),
            engine,
        })
    }

    pub(crate) fn by_space(&self, space: SpaceId) -> Option<Arc<Corp>> {
        self.corps.get().by_space(space).cloned()
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn by_corp_id(&self, corp_id: &str) -> Option<Arc<Corp>> {
        self.corps.get().by_corp_id(corp_id).cloned()
    }

    pub(crate) fn by_qwif_login(
        &self,
        developer_id: &str,
        developer_key: &str,
    ) -> Option<Arc<Corp>> {
        self.corps
            .get()
            .by_qwif_login(developer_id, developer_key)
            .cloned()
    }

    /// The generation of the corp in `space`, which its tokens name.
    pub(crate) fn generation(&self, space: SpaceId) -> Option<i64> {
        self.corps.get().by_space(space).map(|corp| corp.generation)
    }
}

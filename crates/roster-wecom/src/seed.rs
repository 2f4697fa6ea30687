//! The `[wecom]` table of the seed file: corps with their credentials, limits, departments,
//! users and tags. Applying it creates what is missing and never overwrites or deletes, so a
//! restart with the same file changes nothing and data made through the APIs stays. Only the
//! credentials and limits follow the file.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use roster_core::{Engine, StoreError, WritePlan};
use serde::Deserialize;

use crate::corp::CallbackConfig;
use crate::corp::{Corp, CorpAttrs, Limits, QwifLogin, CORP_KEY, CORP_KIND, DIALECT};
use crate::directory::{check_user, Directory, Fault, NewDepartment, NewTag, UserAttrs, ROOT};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    corps: Vec<CorpSeed>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpSeed {
    corp_id: String,
    corp_secret: String,
    qwif_developer_id: Option<String>,
    qwif_developer_key: Option<String>,
    /// Where contact-change callbacks go, with the token and EncodingAESKey to sign and
    /// encrypt them (all three, or none).
    callback_url: Option<String>,
    callback_token: Option<String>,
    callback_aes_key: Option<String>,
    #[serde(default)]
    limits: BTreeMap<String, i64>,
    #[serde(default)]
    departments: Vec<DepartmentSeed>,
    #[serde(default)]
    users: Vec<UserSeed>,
    #[serde(default)]
    tags: Vec<TagSeed>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartmentSeed {
    id: i64,
    name: String,
    #[serde(default = "root")]
    parent: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSeed {
    id: String,
    name: String,
    #[serde(default = "root_only")]
    departments: Vec<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagSeed {
    id: i64,
    name: String,
    qwif_id: Option<String>,
}

fn root() -> i64 {
    ROOT
}

fn root_only() -> Vec<i64> {
    vec![ROOT]
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("[wecom] seed: {0}")]
    Invalid(String),
    #[error("[wecom] seed, corp {corp}: {what}: {reason}")]
    Refused {
        corp: String,
        what: String,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Seed {
    pub async fn apply(&self, engine: &Engine) -> Result<(), SeedError> {
        self.check()?;
        for corp in &self.corps {
            corp.apply(engine).await?;
        }
        Ok(())
    }

    fn check(&self) -> Result<(), SeedError> {
        let mut corp_ids = HashSet::new();
        let mut developer_ids = HashSet::new();
        for corp in &self.corps {
            let invalid = |why: String| SeedError::Invalid(format!("corp {}: {why}", corp.corp_id));
            if corp.corp_id.is_empty() || corp.corp_secret.is_empty() {
                return Err(SeedError::Invalid(
                    "every corp needs a corp_id and a corp_secret".into(),
                ));
            }
            if !corp_ids.insert(&corp.corp_id) {
                return Err(invalid("declared twice".into()));
            }
            match (&corp.qwif_developer_id, &corp.qwif_developer_key) {
                (None, None) => {}
                (Some(id), Some(key)) if !id.is_empty() && !key.is_empty() => {
                    if !developer_ids.insert(id) {
                        return Err(invalid(format!("qwif_developer_id {id} is used twice")));
                    }
                }
                _ => {
                    return Err(invalid(
                        "qwif_developer_id and qwif_developer_key go together".into(),
                    ))
                }
            }
            Limits::overrides(&corp.limits).map_err(invalid)?;
            corp.callback().map_err(invalid)?;
        }
        Ok(())
    }
}

impl CorpSeed {
    fn callback(&self) -> Result<Option<CallbackConfig>, String> {
        CallbackConfig::from_keys(
            self.callback_url.as_deref(),
            self.callback_token.as_deref(),
            self.callback_aes_key.as_deref(),
        )
    }

    async fn apply(&self, engine: &Engine) -> Result<(), SeedError> {
        let space = engine
            .store
            .ensure_space(DIALECT, &self.corp_id, &self.limits)
            .await?;
        let attrs = CorpAttrs {
            corp_id: self.corp_id.clone(),
            corp_secret: self.corp_secret.clone(),
            qwif: self
                .qwif_developer_id
                .clone()
                .zip(self.qwif_developer_key.clone())
                .map(|(developer_id, developer_key)| QwifLogin {
                    developer_id,
                    developer_key,
                }),
            callback: self.callback().map_err(SeedError::Invalid)?,
        };
        let mut plan = WritePlan::new(space.id, engine.clock.now());
        let corp = serde_json::to_value(&attrs).expect("corp attrs serialize");
        let stored = plan.upsert(CORP_KIND, CORP_KEY, corp, None);
        let record = engine.store.apply(plan).await?.into_entity(stored);
        let dir = Directory::new(
            engine.clone(),
            Arc::new(Corp {
                space: space.id,
                entity: record.id,
                limits: Limits::of(&space),
                generation: space.generation,
                attrs,
            }),
        );
        let departments = self.apply_departments(&dir).await?;
        self.apply_users(&dir, &departments).await?;
        self.apply_tags(&dir).await
    }

    fn refused(&self, what: String) -> impl Fn(Fault) -> SeedError + '_ {
        move |fault| SeedError::Refused {
            corp: self.corp_id.clone(),
            what: what.clone(),
            reason: fault.to_string(),
        }
    }

    /// The root first (named by a department with id 1, else after the corp), then every
    /// department whose parent exists, until none is left. Returns the corp's department ids.
    async fn apply_departments(&self, dir: &Directory) -> Result<HashSet<i64>, SeedError> {
        let root_name = self
            .departments
            .iter()
            .find(|d| d.id == ROOT)
            .map_or(self.corp_id.as_str(), |d| d.name.as_str());
        dir.ensure_root(root_name)
            .await
            .map_err(self.refused("root department".into()))?;
        let mut existing: HashSet<i64> = dir
            .departments()
            .await
            .map_err(self.refused("departments".into()))?
            .iter()
            .map(|d| d.id)
            .collect();
        let mut pending: Vec<&DepartmentSeed> = self
            .departments
            .iter()
            .filter(|d| !existing.contains(&d.id))
            .collect();
        while !pending.is_empty() {
            let (ready, waiting): (Vec<_>, Vec<_>) = pending
                .into_iter()
                .partition(|d| existing.contains(&d.parent));
            if ready.is_empty() {
                let d = waiting[0];
                return Err(self.refused(format!("department {}", d.id))(
                    Fault::ParentNotFound,
                ));
            }
            for d in ready {
                let mut new = NewDepartment::new(d.name.clone(), d.parent);
                new.id = Some(d.id);
                dir.create_department(new)
                    .await
                    .map_err(self.refused(format!("department {}", d.id)))?;
                existing.insert(d.id);
            }
            pending = waiting;
        }
        Ok(existing)
    }

    /// Missing users, checked one by one (to name the culprit), then created in one batch.
    async fn apply_users(
        &self,
        dir: &Directory,
        departments: &HashSet<i64>,
    ) -> Result<(), SeedError> {
        let ids: Vec<String> = self.users.iter().map(|u| u.id.clone()).collect();
        let missing: HashSet<String> = dir
            .unknown_users(&ids)
            .await
            .map_err(self.refused("users".into()))?
            .into_iter()
            .collect();
        let mut new = Vec::new();
        for seed in self.users.iter().filter(|u| missing.contains(&u.id)) {
            let user = UserAttrs::new(seed.id.clone(), seed.name.clone(), seed.departments.clone());
            let refused = self.refused(format!("user {}", seed.id));
            check_user(&user).map_err(&refused)?;
            if !user.department.iter().all(|d| departments.contains(d)) {
                return Err(refused(Fault::UserDepartmentsInvalid));
            }
            new.push(user);
        }
        if new.is_empty() {
            return Ok(());
        }
        dir.create_users(new)
            .await
            .map_err(self.refused("users".into()))
    }

    async fn apply_tags(&self, dir: &Directory) -> Result<(), SeedError> {
        for tag in &self.tags {
            let refused = self.refused(format!("tag {}", tag.id));
            match dir.tag(tag.id).await {
                Ok(_) => continue,
                Err(Fault::TagNotFound) => {}
                Err(fault) => return Err(refused(fault)),
            }
            let mut new = NewTag::named(tag.name.clone());
            new.id = Some(tag.id);
            new.qwif_id = tag.qwif_id.clone();
            dir.create_tag(new).await.map_err(refused)?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl roster_http::DialectSeed for Seed {
    async fn apply(&self, engine: &Engine) -> Result<(), roster_http::SeedError> {
        Ok(Seed::apply(self, engine).await?)
    }

    /// The first corp's credentials, as environment variables for `roster exec`.
    fn env(&self) -> Vec<(&'static str, String)> {
        let Some(corp) = self.corps.first() else {
            return Vec::new();
        };
        let mut env = vec![
            ("ROSTER_WECOM_CORP_ID", corp.corp_id.clone()),
            ("ROSTER_WECOM_CORP_SECRET", corp.corp_secret.clone()),
        ];
        if let (Some(id), Some(key)) = (&corp.qwif_developer_id, &corp.qwif_developer_key) {
            env.push(("ROSTER_QWIF_DEVELOPER_ID", id.clone()));
            env.push(("ROSTER_QWIF_DEVELOPER_KEY", key.clone()));
        }
        env
    }

    /// Lines telling a newcomer how to call each corp on `base_url`.
    fn describe(&self, base_url: &str) -> Vec<String> {
        let query = |pairs: &[(&str, &str)]| {
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        };
        let mut lines = Vec::new();
        for corp in &self.corps {
            let id = corp.corp_id.as_str();
            lines.push(format!(
                "WeCom corp {id}: {base_url}/cgi-bin/gettoken?{}",
                query(&[("corpid", id), ("corpsecret", &corp.corp_secret)])
            ));
            if let (Some(developer), Some(key)) =
                (&corp.qwif_developer_id, &corp.qwif_developer_key)
            {
                lines.push(format!(
                    "  do1 qwif: {base_url}/qwcgi/portal/api/qwsecurity!getToken.action?{} \
                     (then ?token=...&corpId={id})",
                    query(&[("developerId", developer), ("developerKey", key)])
                ));
            }
        }
        lines
    }
}

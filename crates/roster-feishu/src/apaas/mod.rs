//! aPaaS user tasks (`/open-apis/apaas/v1`). People are named by kunlun user ids (an alias
//! namespace of the tenant's users); tasks come from the seed file or roster's admin route, as
//! on the real platform they come from approval flows; a task's group chat is an IM chat.

pub mod routes;
pub mod tasks;

use std::collections::HashMap;

use axum::extract::{FromRequest, Request};
use roster_core::{Engine, EntityId, SpaceId, StepId, StoreError, Target, WritePlan};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::tenants::Tenant;
use crate::wire::{ApiError, JsonBody};

/// The alias namespace of kunlun ids, and the user attribute holding a seeded one.
pub const KUNLUN_ID: &str = "kunlun_id";

/// A stable 16-digit decimal number derived from `parts`, the shape of aPaaS ids.
pub fn derived_number(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(head);
    (1_000_000_000_000_000 + n % 9_000_000_000_000_000).to_string()
}

/// A user's kunlun id: the seeded one, else a stable one derived from the tenant and user_id.
pub fn kunlun_id(tenant_key: &str, user_id: &str, seeded: Option<&str>) -> String {
    match seeded.filter(|k| !k.is_empty()) {
        Some(seeded) => seeded.to_string(),
        None => derived_number(&["kunlun", tenant_key, user_id]),
    }
}

/// The step that gives a user its kunlun id.
pub fn index_kunlun_id(
    plan: &mut WritePlan,
    tenant: &Tenant,
    user: Target,
    user_id: &str,
    attrs: &Value,
) -> StepId {
    let id = kunlun_id(&tenant.key, user_id, attrs[KUNLUN_ID].as_str());
    plan.set_alias(KUNLUN_ID, id, user)
}

/// The users of the space named by these kunlun ids; unknown ids are left out.
pub async fn kunlun_users(
    engine: &Engine,
    space: SpaceId,
    ids: &[String],
) -> Result<HashMap<String, EntityId>, StoreError> {
    engine.store.resolve_aliases(space, KUNLUN_ID, ids).await
}

/// aPaaS's one documented error, `2320001 param is invalid`, naming the offending field.
pub fn invalid(field: &str, value: Option<&str>, description: &str) -> ApiError {
    ApiError::bad_request(2320001, "param is invalid").with_violation(field, value, description)
}

/// A JSON body whose malformed fields get 2320001, like every other invalid aPaaS input.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match JsonBody::<T>::from_request(request, state).await {
            Ok(JsonBody(body)) => Ok(Body(body)),
            Err(e) => Err(ApiError {
                code: 2320001,
                msg: "param is invalid".into(),
                ..e
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_16_digit_numbers() {
        let id = kunlun_id("acme", "frank", None);
        assert_eq!(id, kunlun_id("acme", "frank", Some("")));
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(id, kunlun_id("globex", "frank", None));
        assert_eq!(kunlun_id("acme", "frank", Some("1001")), "1001");
    }
}

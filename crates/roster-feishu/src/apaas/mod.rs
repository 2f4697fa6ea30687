//! aPaaS user tasks (`/open-apis/apaas/v1`). People are named by kunlun user ids (an alias
//! namespace of the tenant's users); tasks come from the seed file or roster's admin route, as
//! on the real platform they come from approval flows; a task's group chat is an IM chat.

pub mod routes;
pub mod table;
pub mod tasks;

use std::borrow::Cow;
use std::collections::HashMap;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use roster_core::{Engine, EntityId, SpaceId, StoreError};
use serde::de::DeserializeOwned;

use crate::model::KUNLUN_ID;
use crate::wire::{ApiError, JsonBody, VendorError};

/// The users of the space named by these kunlun ids; unknown ids are left out.
pub async fn kunlun_users(
    engine: &Engine,
    space: SpaceId,
    ids: &[String],
) -> Result<HashMap<String, EntityId>, StoreError> {
    engine.store.resolve_aliases(space, KUNLUN_ID, ids).await
}

/// The aPaaS errors: the vendor documents one, for any invalid input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApaasError {
    ParamInvalid,
}

impl VendorError for ApaasError {
    fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    fn code(&self) -> i64 {
        match self {
            ApaasError::ParamInvalid => 2320001,
        }
    }

    fn msg(&self) -> Cow<'static, str> {
        match self {
            ApaasError::ParamInvalid => "param is invalid".into(),
        }
    }
}

/// `2320001 param is invalid`, naming the offending field.
pub fn invalid(field: &str, value: Option<&str>, description: &str) -> ApiError {
    ApiError::from(ApaasError::ParamInvalid).with_violation(field, value, description)
}

/// A JSON body whose malformed fields get 2320001, like every other invalid aPaaS input.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match JsonBody::<T>::from_request(request, state).await {
            Ok(JsonBody(body)) => Ok(Body(body)),
            Err(e) => Err(ApiError {
                field_violations: e.field_violations,
                ..ApaasError::ParamInvalid.into()
            }),
        }
    }
}

//! HTTP plumbing every dialect needs and no vendor defines: reading request bodies within a
//! limit without breaking the connection of a client that sends too much, draining what a
//! handler leaves unread, roster's own JSON envelope, and the [`Wire`] each dialect offers
//! roster's control plane.

mod dialect;
mod drain;
mod endpoints;
mod nul;
pub mod openapi;
pub mod own;
mod wire;

pub use dialect::{seed_table, Dialect, DialectSeed, MountOptions, Mounted, SeedError};
pub use drain::drain_unread;
pub use endpoints::{Endpoints, ADMIN_ROOT};
pub use nul::json_holds_nul;
pub use wire::{DialectWire, Wire};

use std::future::poll_fn;
use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};

/// A body past its limit is still read, and dropped, up to this size: a client still sending
/// then gets the dialect's error response instead of a reset connection.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the request body is unreadable: {0}")]
    Unreadable(String),
}

/// The whole body if it is at most `limit` bytes.
pub async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| BodyError::Unreadable(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > DRAIN_LIMIT {
                break;
            }
            if seen <= limit {
                bytes.extend_from_slice(&data);
            }
        }
    }
    if seen > limit {
        return Err(BodyError::TooLarge { limit });
    }
    Ok(Bytes::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_within_the_limit_and_refuses_past_it() {
        let body = || Body::from(vec![b'x'; 10]);
        assert_eq!(read_body(body(), 10).await.unwrap().len(), 10);
        assert_eq!(
            read_body(body(), 9).await,
            Err(BodyError::TooLarge { limit: 9 })
        );
        assert!(read_body(Body::empty(), 0).await.unwrap().is_empty());
    }
}

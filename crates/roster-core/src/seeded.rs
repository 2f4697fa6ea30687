//! What a space's seed was when it was last applied, so that a start with an unchanged seed
//! skips re-applying it (a seed of thousands of entities then costs one read at start).

use std::fmt::Debug;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{Engine, SpaceId, StepId, StoreError, WritePlan};

/// The entity kind (key: the dialect) holding a space's seed fingerprint.
const SEEDED: &str = "roster.seeded";

/// What seeding writes; bump it when a dialect's seed stores or indexes something differently,
/// so that databases seeded before apply their seed again.
const SEEDING: &str = "1";

/// A digest of one space's part of a seed file, of how seeds are applied and of roster's
/// version: any change applies the seed again.
pub fn fingerprint(seed: &impl Debug) -> String {
    let digest = Sha256::new()
        .chain_update(SEEDING)
        .chain_update([0])
        .chain_update(env!("CARGO_PKG_VERSION"))
        .chain_update([0])
        .chain_update(format!("{seed:?}"))
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `space` was last seeded with exactly `fingerprint`.
pub async fn is_seeded(
    engine: &Engine,
    space: SpaceId,
    fingerprint: &str,
) -> Result<bool, StoreError> {
    let seeded = engine.store.find_entity(space, SEEDED, "seed").await?;
    Ok(seeded.is_some_and(|s| s.attrs["fingerprint"] == fingerprint))
}

/// The step recording `fingerprint`, part of the plan that applies the seed, so the record
/// and what it describes commit together.
pub fn record_seeded(plan: &mut WritePlan, fingerprint: &str) -> StepId {
    plan.upsert(SEEDED, "seed", json!({ "fingerprint": fingerprint }), None)
}

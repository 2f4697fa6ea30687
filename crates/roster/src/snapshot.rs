//! The snapshot file: JSON lines, diffable, one versioned header and then each space's lines.
//!
//! ```text
//! {"format":"roster-snapshot","version":1}
//! {"space":{"dialect":"tim","key":"1400000001","limits":{}}}
//! {"entity":{"kind":"tim.account","key":"alice","attrs":{...},"created_at":...,"updated_at":...}}
//! {"alias":{"namespace":"...","alias":"...","entity":{"kind":"...","key":"..."}}}
//! {"edge":{"subject":{...},"relation":"tim.follows","member":{...},"created_at":...}}
//! ```
//!
//! Entities come in creation order (an owner before what it owns), aliases by name, edges in
//! insertion order; no row ids appear, so a file loads into any database on either backend.

use std::collections::BTreeMap;

use roster_core::{DumpedAlias, DumpedEdge, DumpedEntity, SpaceDump, SpaceName};
use serde::{Deserialize, Serialize};

const FORMAT: &str = "roster-snapshot";
/// The format version this roster writes and the newest it reads.
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Serialize, Deserialize)]
struct SpaceLine {
    dialect: String,
    key: String,
    limits: BTreeMap<String, i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Space(SpaceLine),
    Entity(DumpedEntity),
    Alias(DumpedAlias),
    Edge(DumpedEdge),
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(
        "not a roster snapshot: the first line must be {{\"format\":\"{FORMAT}\",\"version\":N}}"
    )]
    NotASnapshot,
    #[error(
        "snapshot format version {0} is newer than this roster reads ({VERSION}); upgrade roster"
    )]
    TooNew(u32),
    #[error("snapshot line {line}: {why}")]
    Line { line: usize, why: String },
}

/// The file holding `dumps`.
pub fn write(dumps: &[SpaceDump]) -> Vec<u8> {
    let mut out = Vec::new();
    put(
        &mut out,
        &Header {
            format: FORMAT.into(),
            version: VERSION,
        },
    );
    for dump in dumps {
        let space = SpaceLine {
            dialect: dump.space.dialect.clone(),
            key: dump.space.key.clone(),
            limits: dump.limits.clone(),
        };
        put(&mut out, &Line::Space(space));
        for entity in &dump.entities {
            put(&mut out, &Line::Entity(entity.clone()));
        }
        for alias in &dump.aliases {
            put(&mut out, &Line::Alias(alias.clone()));
        }
        for edge in &dump.edges {
            put(&mut out, &Line::Edge(edge.clone()));
        }
    }
    out
}

/// The spaces a snapshot file holds.
pub fn read(text: &[u8]) -> Result<Vec<SpaceDump>, SnapshotError> {
    let text = std::str::from_utf8(text).map_err(|e| SnapshotError::Line {
        line: 1 + text[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count(),
        why: "not UTF-8".into(),
    })?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let header: Header = lines
        .next()
        .and_then(|(_, line)| serde_json::from_str(line).ok())
        .filter(|h: &Header| h.format == FORMAT)
        .ok_or(SnapshotError::NotASnapshot)?;
    if header.version > VERSION {
        return Err(SnapshotError::TooNew(header.version));
    }
    let mut dumps: Vec<SpaceDump> = Vec::new();
    for (index, text) in lines {
        let line = index + 1;
        let parsed: Line = serde_json::from_str(text).map_err(|e| SnapshotError::Line {
            line,
            why: e.to_string(),
        })?;
        if !matches!(parsed, Line::Space(_)) && dumps.is_empty() {
            return Err(SnapshotError::Line {
                line,
                why: "a space's contents come after its \"space\" line".into(),
            });
        }
        match parsed {
            Line::Space(space) => {
                let name = SpaceName {
                    dialect: space.dialect,
                    key: space.key,
                };
                if dumps.iter().any(|d| d.space == name) {
                    return Err(SnapshotError::Line {
                        line,
                        why: format!("space {name} appears twice"),
                    });
                }
                dumps.push(SpaceDump {
                    space: name,
                    limits: space.limits,
                    entities: Vec::new(),
                    aliases: Vec::new(),
                    edges: Vec::new(),
                });
            }
            Line::Entity(entity) => current(&mut dumps).entities.push(entity),
            Line::Alias(alias) => current(&mut dumps).aliases.push(alias),
            Line::Edge(edge) => current(&mut dumps).edges.push(edge),
        }
    }
    Ok(dumps)
}

/// The space being read (checked to exist before a content line is taken).
fn current(dumps: &mut [SpaceDump]) -> &mut SpaceDump {
    dumps.last_mut().expect("a space line came first")
}

/// Append `line` as one line of JSON.
fn put(out: &mut Vec<u8>, line: &impl Serialize) {
    serde_json::to_writer(&mut *out, line).expect("snapshot lines serialize");
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_core::EntityRef;
    use serde_json::json;

    fn dump() -> SpaceDump {
        let user = |key: &str| EntityRef {
            kind: "user".into(),
            key: key.into(),
        };
        SpaceDump {
            space: SpaceName {
                dialect: "tim".into(),
                key: "1400000001".into(),
            },
            limits: [("follows".to_string(), 5)].into(),
            entities: ["a", "b"]
                .map(|key| DumpedEntity {
                    kind: "user".into(),
                    key: key.into(),
                    attrs: json!({ "name": key }),
                    owner: None,
                    created_at: 1,
                    updated_at: 2,
                })
                .into(),
            aliases: vec![DumpedAlias {
                namespace: "n".into(),
                alias: "x".into(),
                entity: user("a"),
            }],
            edges: vec![DumpedEdge {
                subject: user("a"),
                relation: "follows".into(),
                member: user("b"),
                created_at: 3,
            }],
        }
    }

    #[test]
    fn a_file_reads_back_as_written() {
        let file = write(&[dump()]);
        let text = String::from_utf8(file.clone()).unwrap();
        assert!(text.starts_with("{\"format\":\"roster-snapshot\",\"version\":1}\n"));
        assert_eq!(text.lines().count(), 6);
        assert_eq!(read(&file).unwrap(), vec![dump()]);
    }

    #[test]
    fn newer_versions_and_foreign_files_are_refused() {
        let newer = b"{\"format\":\"roster-snapshot\",\"version\":2}\n";
        assert!(matches!(read(newer), Err(SnapshotError::TooNew(2))));
        assert!(matches!(read(b"{}"), Err(SnapshotError::NotASnapshot)));
        assert!(matches!(read(b""), Err(SnapshotError::NotASnapshot)));
        let orphan = b"{\"format\":\"roster-snapshot\",\"version\":1}\n{\"edge\":{}}";
        match read(orphan) {
            Err(SnapshotError::Line { line: 2, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}

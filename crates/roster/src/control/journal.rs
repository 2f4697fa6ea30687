//! The request journal: every vendor request and its answer, newest kept, in a ring bounded
//! by entry count and by bytes, so memory stays flat however long roster runs.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How much the journal keeps.
#[derive(Debug, Clone, Copy)]
pub struct JournalLimits {
    /// Entries kept at most; 0 turns the journal off.
    pub entries: usize,
    /// Bytes of entries (bodies, headers, paths) kept at most.
    pub bytes: usize,
    /// Each body is kept up to this many bytes.
    pub body_bytes: usize,
}

impl Default for JournalLimits {
    fn default() -> Self {
        Self {
            entries: 1000,
            bytes: 16 << 20,
            body_bytes: 16 << 10,
        }
    }
}

/// A body as the journal keeps it: text (lossy UTF-8) up to the body limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeptBody {
    pub text: String,
    /// The body's whole size, when more than `text` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated_from: Option<usize>,
}

impl KeptBody {
    pub fn of(bytes: &[u8], limit: usize, whole: usize) -> Self {
        let kept = &bytes[..bytes.len().min(limit)];
        Self {
            text: String::from_utf8_lossy(kept).into_owned(),
            truncated_from: (whole > kept.len()).then_some(whole),
        }
    }
}

/// One request and its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub id: u64,
    /// Unix time in milliseconds when the request arrived.
    pub time_ms: i64,
    pub dialect: String,
    #[serde(default)]
    pub space: Option<String>,
    pub method: String,
    pub path: String,
    pub query: String,
    /// Credentials redacted.
    pub request_headers: Vec<(String, String)>,
    pub request_body: KeptBody,
    pub status: u16,
    #[serde(default)]
    pub vendor_code: Option<Value>,
    #[serde(default)]
    pub log_id: Option<String>,
    pub response_body: KeptBody,
    pub latency_ms: f64,
    /// The fault rule that answered or delayed the request.
    #[serde(default)]
    pub fault: Option<u64>,
}

impl Entry {
    /// What the entry costs to keep, roughly.
    fn weight(&self) -> usize {
        let headers: usize = self
            .request_headers
            .iter()
            .map(|(n, v)| n.len() + v.len())
            .sum();
        256 + self.path.len()
            + self.query.len()
            + headers
            + self.request_body.text.len()
            + self.response_body.text.len()
    }
}

/// Which entries a query wants; every field narrows it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub dialect: Option<String>,
    pub space: Option<String>,
    /// Entries whose path contains this.
    pub path: Option<String>,
    /// The vendor code, as text (`0`, `40014`, `-1`).
    pub code: Option<String>,
    /// Arrived at or after (Unix milliseconds).
    pub since_ms: Option<i64>,
    /// Arrived before (Unix milliseconds).
    pub until_ms: Option<i64>,
    /// Only entries newer than this id (to follow the journal).
    pub after: Option<u64>,
    /// Only entries older than this id (the next page, newest first).
    pub before: Option<u64>,
    pub limit: Option<usize>,
}

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1000;

impl Filter {
    fn matches(&self, entry: &Entry) -> bool {
        let code_text = entry.vendor_code.as_ref().map(|c| match c {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        self.dialect.as_ref().is_none_or(|d| *d == entry.dialect)
            && self
                .space
                .as_ref()
                .is_none_or(|s| entry.space.as_ref() == Some(s))
            && self.path.as_ref().is_none_or(|p| entry.path.contains(p))
            && self
                .code
                .as_ref()
                .is_none_or(|c| code_text.as_ref() == Some(c))
            && self.since_ms.is_none_or(|t| entry.time_ms >= t)
            && self.until_ms.is_none_or(|t| entry.time_ms < t)
            && self.after.is_none_or(|id| entry.id > id)
            && self.before.is_none_or(|id| entry.id < id)
    }
}

/// A page of entries, newest first; `next` is the `before` of the following page.
#[derive(Debug, Serialize, Deserialize)]
pub struct Page {
    pub requests: Vec<Entry>,
    pub next: Option<u64>,
}

struct Ring {
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
    next_id: u64,
}

pub struct Journal {
    limits: JournalLimits,
    ring: Mutex<Ring>,
}

impl Journal {
    pub fn new(limits: JournalLimits) -> Self {
        Self {
            limits,
            ring: Mutex::new(Ring {
                entries: VecDeque::new(),
                bytes: 0,
                next_id: 1,
            }),
        }
    }

    pub fn limits(&self) -> JournalLimits {
        self.limits
    }

    pub fn is_on(&self) -> bool {
        self.limits.entries > 0
    }

    /// Keep `entry` (its id is assigned here), dropping the oldest past the limits.
    pub fn record(&self, mut entry: Entry) {
        if !self.is_on() {
            return;
        }
        let weight = entry.weight();
        let mut ring = self.ring.lock().expect("journal lock");
        entry.id = ring.next_id;
        ring.next_id += 1;
        ring.bytes += weight;
        ring.entries.push_back((entry, weight));
        while ring.entries.len() > self.limits.entries
            || (ring.bytes > self.limits.bytes && ring.entries.len() > 1)
        {
            if let Some((_, weight)) = ring.entries.pop_front() {
                ring.bytes -= weight;
            }
        }
    }

    pub fn query(&self, filter: &Filter) -> Page {
        let limit = filter.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let ring = self.ring.lock().expect("journal lock");
        let mut matching = ring
            .entries
            .iter()
            .rev()
            .map(|(entry, _)| entry)
            .filter(|entry| filter.matches(entry));
        let requests: Vec<Entry> = matching.by_ref().take(limit).cloned().collect();
        let more = matching.next().is_some();
        let next = if more {
            requests.last().map(|e| e.id)
        } else {
            None
        };
        Page { requests, next }
    }

    pub fn clear(&self) {
        let mut ring = self.ring.lock().expect("journal lock");
        ring.entries.clear();
        ring.bytes = 0;
    }

    /// Entries and bytes kept now.
    pub fn size(&self) -> (usize, usize) {
        let ring = self.ring.lock().expect("journal lock");
        (ring.entries.len(), ring.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, body: usize) -> Entry {
        Entry {
            id: 0,
            time_ms: 1,
            dialect: "wecom".into(),
            space: None,
            method: "POST".into(),
            path: path.into(),
            query: String::new(),
            request_headers: Vec::new(),
            request_body: KeptBody::of(&vec![b'x'; body], 1 << 20, body),
            status: 200,
            vendor_code: Some(0.into()),
            log_id: None,
            response_body: KeptBody::of(b"{}", 100, 2),
            latency_ms: 1.0,
            fault: None,
        }
    }

    #[test]
    fn keeps_the_newest_within_count_and_bytes() {
        let journal = Journal::new(JournalLimits {
            entries: 3,
            bytes: 10_000,
            body_bytes: 100,
        });
        for i in 0..5 {
            journal.record(entry(&format!("/p{i}"), 10));
        }
        let page = journal.query(&Filter::default());
        let paths: Vec<&str> = page.requests.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/p4", "/p3", "/p2"]);
        for _ in 0..10 {
            journal.record(entry("/big", 4000));
        }
        let (entries, bytes) = journal.size();
        assert!(
            bytes <= 10_000 && entries <= 3,
            "{entries} entries, {bytes} bytes"
        );
    }

    #[test]
    fn pages_newest_first_and_filters() {
        let journal = Journal::new(JournalLimits::default());
        for i in 0..5 {
            journal.record(entry(&format!("/p{i}"), 1));
        }
        let first = journal.query(&Filter {
            limit: Some(2),
            ..Filter::default()
        });
        assert_eq!(
            first.requests.iter().map(|e| e.id).collect::<Vec<_>>(),
            [5, 4]
        );
        let second = journal.query(&Filter {
            limit: Some(2),
            before: first.next,
            ..Filter::default()
        });
        assert_eq!(
            second.requests.iter().map(|e| e.id).collect::<Vec<_>>(),
            [3, 2]
        );
        let found = journal.query(&Filter {
            path: Some("p1".into()),
            code: Some("0".into()),
            ..Filter::default()
        });
        assert_eq!(found.requests.len(), 1);
        assert_eq!(found.next, None);
    }
}

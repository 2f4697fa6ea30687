//! The Task v2 task object over the record Task v1 stores: milliseconds on the wire, seconds
//! in the record (the vendor keeps a moment to the second and a day to the day), the origin's
//! names an object (Task v1 a JSON text), `custom_complete` Task v1's `custom` unwrapped.

use roster_core::Entity;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{error, invalid, Code};
use crate::task::fields::{
    is_custom, is_repeat_rule, Due, Extras, Fields, Href, Origin, Record, DEFAULT_TIMEZONE,
};
use crate::wire::ApiError;

const MAX_TEXT_CHARS: usize = 3000;
const DAY_MS: i64 = 86_400_000;

/// The fields `update_fields` may name.
pub const UPDATABLE: &[&str] = &[
    "summary",
    "description",
    "start",
    "due",
    "completed_at",
    "extra",
    "custom_complete",
    "repeat_rule",
    "mode",
    "is_milestone",
];

/// A task as create takes it, or patch's `task`. Fields of the vendor's that roster does not
/// keep (reminders, custom fields, docx sources) are not read.
#[derive(Debug, Default, Deserialize)]
pub struct TaskInput {
    pub summary: Option<String>,
    pub description: Option<String>,
    pub due: Option<MomentInput>,
    pub start: Option<MomentInput>,
    pub origin: Option<OriginInput>,
    pub extra: Option<String>,
    pub completed_at: Option<Value>,
    pub repeat_rule: Option<String>,
    pub custom_complete: Option<Map<String, Value>>,
    pub mode: Option<i64>,
    pub is_milestone: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct MomentInput {
    timestamp: Option<Value>,
    is_all_day: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct OriginInput {
    platform_i18n_name: Option<Map<String, Value>>,
    href: Option<HrefInput>,
}

#[derive(Debug, Deserialize)]
pub struct HrefInput {
    url: Option<String>,
    title: Option<String>,
}

/// An int64 in milliseconds as clients send it (a string, or a number); `None` if it is none.
fn millis(value: &Value) -> Option<i64> {
    match value {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// A start or due time: `None` for a zero timestamp (no time).
fn moment(input: &MomentInput, param: &str) -> Result<Option<Due>, ApiError> {
    let Some(timestamp) = &input.timestamp else {
        return Err(invalid(&format!("{param}.timestamp"), "param is required"));
    };
    let ms = millis(timestamp)
        .filter(|ms| *ms >= 0)
        .ok_or_else(|| invalid(&format!("{param}.timestamp"), "must be a timestamp in ms"))?;
    if ms == 0 {
        return Ok(None);
    }
    let is_all_day = input.is_all_day.unwrap_or(false);
    let ms = if is_all_day { ms - ms % DAY_MS } else { ms };
    Ok(Some(Due {
        time: ms / 1000,
        timezone: DEFAULT_TIMEZONE.to_string(),
        is_all_day,
    }))
}

/// Sets one field of `record` from `input`; a field `input` lacks is cleared.
fn set(record: &mut Record, name: &str, input: &TaskInput, now: i64) -> Result<(), ApiError> {
    let fields = &mut record.fields;
    match name {
        "summary" => fields.summary = input.summary.clone().unwrap_or_default(),
        "description" => fields.description = input.description.clone().unwrap_or_default(),
        "extra" => fields.extra = input.extra.clone().unwrap_or_default(),
        "repeat_rule" => fields.repeat_rule = input.repeat_rule.clone().unwrap_or_default(),
        "due" => {
            fields.due = input
                .due
                .as_ref()
                .map(|d| moment(d, "due"))
                .transpose()?
                .flatten()
        }
        "start" => {
            record.extras.start = input
                .start
                .as_ref()
                .map(|s| moment(s, "start"))
                .transpose()?
                .flatten()
        }
        "custom_complete" => {
            fields.custom = match &input.custom_complete {
                Some(custom) if !custom.is_empty() => {
                    json!({ "custom_complete": custom }).to_string()
                }
                _ => String::new(),
            }
        }
        "mode" => record.extras.mode = input.mode.unwrap_or(2),
        "is_milestone" => record.extras.is_milestone = input.is_milestone.unwrap_or(false),
        "completed_at" => {
            let ms = match &input.completed_at {
                None => 0,
                Some(value) => millis(value)
                    .filter(|ms| *ms >= 0)
                    .ok_or_else(|| invalid("completed_at", "must be a timestamp in ms"))?,
            };
            if ms != 0 && record.complete_time != 0 {
                return Err(error(Code::AlreadyCompleted));
            }
            record.complete_time = if ms == 0 { 0 } else { (ms / 1000).min(now) };
        }
        _ => return Err(unsupported(name)),
    }
    Ok(())
}

/// The vendor's checks of a whole task, each with its reason.
fn validate(record: &Record) -> Result<(), ApiError> {
    let fields = &record.fields;
    if fields.summary.trim().is_empty() {
        return Err(invalid("summary", "must not be empty"));
    }
    for (param, text) in [
        ("summary", &fields.summary),
        ("description", &fields.description),
    ] {
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(invalid(
                param,
                &format!("length must be at most {MAX_TEXT_CHARS}"),
            ));
        }
    }
    if let (Some(start), Some(due)) = (&record.extras.start, &fields.due) {
        if start.time > due.time {
            return Err(invalid(
                "start",
                "start time must not be later than due time",
            ));
        }
    }
    if !fields.repeat_rule.is_empty() && fields.due.is_none() {
        return Err(invalid(
            "repeat_rule",
            "cannot set repeat_rule without setting due",
        ));
    }
    if !is_repeat_rule(&fields.repeat_rule) {
        return Err(invalid("repeat_rule", "invalid repeat rule"));
    }
    if !is_custom(&fields.custom) {
        return Err(invalid("custom_complete", "invalid custom complete"));
    }
    if !matches!(record.extras.mode, 1 | 2) {
        return Err(invalid("mode", "must be 1 or 2"));
    }
    Ok(())
}

/// The record of a new task created with `source`.
pub fn create(input: &TaskInput, source: i64, now: i64) -> Result<Record, ApiError> {
    let origin = match &input.origin {
        None => Origin::default(),
        Some(origin) => {
            let href = origin.href.as_ref().map(|href| Href {
                url: href.url.clone().unwrap_or_default(),
                title: href.title.clone().unwrap_or_default(),
            });
            let web = |url: &str| ["http://", "https://"].iter().any(|s| url.starts_with(s));
            if href
                .as_ref()
                .is_some_and(|h| !h.url.is_empty() && !web(&h.url))
            {
                return Err(invalid(
                    "origin.href.url",
                    "must start with http:// or https://",
                ));
            }
            Origin {
                platform_i18n_name: origin
                    .platform_i18n_name
                    .as_ref()
                    .filter(|names| !names.is_empty())
                    .map(|names| Value::Object(names.clone()).to_string())
                    .unwrap_or_default(),
                href,
            }
        }
    };
    let mut record = Record {
        fields: Fields {
            origin,
            ..Fields::default()
        },
        source,
        complete_time: 0,
        extras: Extras::default(),
    };
    for name in UPDATABLE {
        set(&mut record, name, input, now)?;
    }
    validate(&record)?;
    Ok(record)
}

/// Set `names` from `input`, then check the whole task.
pub fn update(
    record: &mut Record,
    names: &[String],
    input: &TaskInput,
    now: i64,
) -> Result<(), ApiError> {
    if names.is_empty() {
        return Err(invalid("update_fields", "must not be empty"));
    }
    if let Some(name) = names.iter().find(|n| !UPDATABLE.contains(&n.as_str())) {
        return Err(unsupported(name));
    }
    for name in names {
        set(record, name, input, now)?;
    }
    validate(record)
}

/// A field `update_fields` may not name.
fn unsupported(name: &str) -> ApiError {
    invalid("update_fields", &format!("field '{name}' is not supported"))
}

/// A member as the wire shows it.
pub fn member(id: &str, kind: &str, role: &str) -> Value {
    json!({ "id": id, "type": kind, "role": role })
}

/// A numeric code for the task, `t` and digits, derived from its guid (the vendor numbers
/// tasks; roster keeps no counter).
fn task_code(guid: &str) -> String {
    let hex: String = guid
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(12)
        .collect();
    let n = u64::from_str_radix(&hex, 16).unwrap_or(0) % 9_000_000 + 1_000_000;
    format!("t{n}")
}

fn moment_json(due: &Due) -> Value {
    json!({ "timestamp": (due.time * 1000).to_string(), "is_all_day": due.is_all_day })
}

/// The task object; `creator`, `members` and `tasklists` already rendered.
pub fn render(
    task: &Entity,
    record: &Record,
    creator: Option<Value>,
    members: Vec<Value>,
    tasklists: Vec<Value>,
) -> Value {
    let fields = &record.fields;
    let code = task_code(&task.key);
    let status = if record.complete_time == 0 {
        "todo"
    } else {
        "done"
    };
    let mut object = json!({
        "guid": task.key,
        "summary": fields.summary,
        "description": fields.description,
        "reminders": [],
        "members": members,
        "completed_at": (record.complete_time * 1000).to_string(),
        "attachments": [],
        "extra": fields.extra,
        "tasklists": tasklists,
        "repeat_rule": fields.repeat_rule,
        "parent_task_guid": "",
        "mode": record.extras.mode,
        "source": record.source,
        "task_id": code,
        "created_at": (task.created_at * 1000).to_string(),
        "updated_at": (task.updated_at * 1000).to_string(),
        "status": status,
        "url": format!(
            "https://applink.feishu.cn/client/todo/detail?guid={}&suite_entity_num={code}",
            task.key
        ),
        "subtask_count": 0,
        "is_milestone": record.extras.is_milestone,
    });
    if let Some(creator) = creator {
        object["creator"] = creator;
    }
    if let Some(due) = &fields.due {
        object["due"] = moment_json(due);
    }
    if let Some(start) = &record.extras.start {
        object["start"] = moment_json(start);
    }
    let names = serde_json::from_str::<Value>(&fields.origin.platform_i18n_name).ok();
    if names.is_some() || fields.origin.href.is_some() {
        let mut origin = json!({});
        if let Some(names) = names {
            origin["platform_i18n_name"] = names;
        }
        if let Some(href) = &fields.origin.href {
            origin["href"] = json!({ "url": href.url, "title": href.title });
        }
        object["origin"] = origin;
    }
    if let Ok(Value::Object(mut custom)) = serde_json::from_str::<Value>(&fields.custom) {
        if let Some(complete) = custom.remove("custom_complete") {
            object["custom_complete"] = complete;
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(value: Value) -> TaskInput {
        serde_json::from_value(value).unwrap()
    }

    fn code(value: Value) -> Result<Record, String> {
        create(&input(value), 6, 2_000_000_000).map_err(|e| e.msg)
    }

    #[test]
    fn create_checks_fields_with_the_reason_in_msg() {
        assert_eq!(
            code(json!({ "summary": "" })).unwrap_err(),
            "Invalid Param 'summary', must not be empty."
        );
        assert!(code(json!({ "summary": "界".repeat(3000) })).is_ok());
        assert!(code(json!({ "summary": "x".repeat(3001) })).is_err());
        assert_eq!(
            code(json!({ "summary": "s", "due": {} })).unwrap_err(),
            "Invalid Param 'due.timestamp', param is required."
        );
        assert_eq!(
            code(json!({ "summary": "s", "repeat_rule": "FREQ=DAILY" })).unwrap_err(),
            "Invalid Param 'repeat_rule', cannot set repeat_rule without setting due."
        );
        let due = json!({ "timestamp": "1684654215956" });
        let record = code(json!({ "summary": "s", "due": due, "repeat_rule": "FREQ=DAILY" }));
        assert_eq!(record.unwrap().fields.due.unwrap().time, 1684654215);
        let late_start =
            json!({ "summary": "s", "due": due, "start": { "timestamp": "1784654215000" } });
        assert!(code(late_start).is_err());
        assert!(code(json!({ "summary": "s", "mode": 3 })).is_err());
    }

    #[test]
    fn renders_milliseconds_as_strings_and_the_origin_as_an_object() {
        let record = code(json!({
            "summary": "s",
            "due": { "timestamp": 1684652400123_i64, "is_all_day": false },
            "origin": { "platform_i18n_name": { "en_us": "Tickets" }, "href": { "url": "https://t.example/1", "title": "T-1" } },
            "custom_complete": { "pc": { "href": "https://t.example/done" } }
        }))
        .unwrap();
        let task = Entity {
            id: 1,
            space_id: 1,
            kind: crate::model::TASK.into(),
            key: "83912691-2e43-47fc-94a4-d512e03984fa".into(),
            attrs: json!({}),
            owner: None,
            created_at: 10,
            updated_at: 11,
        };
        let rendered = render(&task, &record, None, vec![], vec![]);
        assert_eq!(
            rendered["due"],
            json!({ "timestamp": "1684652400000", "is_all_day": false })
        );
        assert_eq!(rendered["created_at"], "10000");
        assert_eq!(rendered["completed_at"], "0");
        assert_eq!(rendered["status"], "todo");
        assert_eq!(
            rendered["origin"]["platform_i18n_name"],
            json!({ "en_us": "Tickets" })
        );
        assert_eq!(
            rendered["custom_complete"]["pc"]["href"],
            "https://t.example/done"
        );
        assert!(rendered["task_id"].as_str().unwrap().starts_with('t'));
    }

    #[test]
    fn a_completed_task_is_not_completed_again() {
        let mut record = code(json!({ "summary": "s" })).unwrap();
        let done = input(json!({ "completed_at": "1700000000000" }));
        update(&mut record, &["completed_at".into()], &done, 2_000_000_000).unwrap();
        assert_eq!(record.complete_time, 1_700_000_000);
        let again = update(&mut record, &["completed_at".into()], &done, 2_000_000_000);
        assert_eq!(again.unwrap_err().code, 1470400);
        let reopen = input(json!({ "completed_at": "0" }));
        update(
            &mut record,
            &["completed_at".into()],
            &reopen,
            2_000_000_000,
        )
        .unwrap();
        assert_eq!(record.complete_time, 0);
    }
}

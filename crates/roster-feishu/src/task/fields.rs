//! The task object: the fields a client sets (checked as Task v1 checks them), how a task
//! entity's attrs hold them, and how a task renders on the wire (int64s as JSON strings).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use roster_core::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::endpoint::{Code, Endpoint};
use crate::wire::ApiError;

const MAX_SUMMARY_CHARS: usize = 256;
const MAX_DESCRIPTION_CHARS: usize = 65536;
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";
/// The locales `platform_i18n_name` and `custom` tips may name.
const LOCALES: &[&str] = &[
    "it_it", "th_th", "ko_kr", "es_es", "ja_jp", "zh_cn", "id_id", "zh_hk", "pt_br", "de_de",
    "fr_fr", "zh_tw", "ru_ru", "en_us", "hi_in", "vi_vn",
];
/// IANA time zone names (zones and links of tzdata 2025b).
const TIMEZONES: &str = include_str!("timezones.txt");

/// The fields `update_fields` may name (the vendor documents exactly these).
pub const UPDATABLE: &[&str] = &["summary", "description", "due", "extra"];
/// The other fields of the task object: naming them in `update_fields` is forbidden.
pub const NOT_UPDATABLE: &[&str] = &[
    "id",
    "complete_time",
    "creator_id",
    "create_time",
    "update_time",
    "origin",
    "can_edit",
    "custom",
    "source",
    "followers",
    "collaborators",
    "collaborator_ids",
    "follower_ids",
    "repeat_rule",
    "rich_summary",
    "rich_description",
];

/// A task as a create request (or a patch request's `task`) carries it. Wrong JSON types are
/// refused while parsing (99992402); values are checked by [`Fields`].
#[derive(Debug, Default, Deserialize)]
pub struct TaskInput {
    pub summary: Option<String>,
    pub description: Option<String>,
    pub extra: Option<String>,
    pub due: Option<DueInput>,
    pub origin: Option<OriginInput>,
    pub can_edit: Option<bool>,
    pub custom: Option<String>,
    pub collaborator_ids: Option<Vec<String>>,
    pub follower_ids: Option<Vec<String>>,
    pub repeat_rule: Option<String>,
    pub rich_summary: Option<String>,
    pub rich_description: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DueInput {
    time: Option<Int64>,
    timezone: Option<String>,
    is_all_day: Option<bool>,
}

/// An int64 as clients send it: a string (Go, Node) or a number (Python users pass ints).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Int64 {
    Text(String),
    Number(i64),
}

#[derive(Debug, Deserialize)]
pub struct OriginInput {
    platform_i18n_name: Option<String>,
    href: Option<HrefInput>,
}

#[derive(Debug, Deserialize)]
pub struct HrefInput {
    url: Option<String>,
    title: Option<String>,
}

/// The fields a client sets, as a task entity stores them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fields {
    pub summary: String,
    pub description: String,
    pub extra: String,
    pub due: Option<Due>,
    pub origin: Origin,
    pub can_edit: bool,
    pub custom: String,
    pub repeat_rule: String,
    pub rich_summary: String,
    pub rich_description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Due {
    pub time: i64,
    pub timezone: String,
    pub is_all_day: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    pub platform_i18n_name: String,
    pub href: Option<Href>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Href {
    pub url: String,
    pub title: String,
}

impl Fields {
    /// The fields of a new task.
    pub fn create(input: &TaskInput, endpoint: Endpoint) -> Result<Self, ApiError> {
        let origin = input
            .origin
            .as_ref()
            .ok_or_else(|| ApiError::field_validation("origin", "origin is required"))?;
        let platform_i18n_name = origin.platform_i18n_name.clone().ok_or_else(|| {
            ApiError::field_validation(
                "origin.platform_i18n_name",
                "origin.platform_i18n_name is required",
            )
        })?;
        let mut fields = Fields {
            origin: Origin {
                platform_i18n_name,
                href: origin.href.as_ref().map(|href| Href {
                    url: href.url.clone().unwrap_or_default(),
                    title: href.title.clone().unwrap_or_default(),
                }),
            },
            can_edit: input.can_edit.unwrap_or(false),
            custom: input.custom.clone().unwrap_or_default(),
            repeat_rule: input.repeat_rule.clone().unwrap_or_default(),
            rich_summary: input.rich_summary.clone().unwrap_or_default(),
            rich_description: input.rich_description.clone().unwrap_or_default(),
            ..Fields::default()
        };
        for name in UPDATABLE {
            fields.set(name, input, endpoint)?;
        }
        if fields.summary.is_empty() && fields.rich_summary.is_empty() {
            return Err(endpoint.error(Code::EmptySummary));
        }
        fields.validate(endpoint)?;
        Ok(fields)
    }

    /// Set the [`UPDATABLE`] fields `names` from `input` (a field absent from `input` is
    /// cleared), then check the whole.
    pub fn update(
        &mut self,
        names: &[String],
        input: &TaskInput,
        endpoint: Endpoint,
    ) -> Result<(), ApiError> {
        for name in names {
            self.set(name, input, endpoint)?;
        }
        self.validate(endpoint)
    }

    fn set(&mut self, name: &str, input: &TaskInput, endpoint: Endpoint) -> Result<(), ApiError> {
        match name {
            "summary" => self.summary = input.summary.clone().unwrap_or_default(),
            "description" => self.description = input.description.clone().unwrap_or_default(),
            "extra" => self.extra = input.extra.clone().unwrap_or_default(),
            "due" => {
                self.due = input
                    .due
                    .as_ref()
                    .map(|due| Due::parse(due, endpoint))
                    .transpose()?
            }
            _ => return Err(endpoint.error(Code::UnknownUpdateField)),
        }
        Ok(())
    }

    /// The vendor's checks, in a fixed order, each with its own code.
    fn validate(&self, endpoint: Endpoint) -> Result<(), ApiError> {
        let checks = [
            (
                Code::TooLong,
                self.summary.chars().count() <= MAX_SUMMARY_CHARS
                    && self.description.chars().count() <= MAX_DESCRIPTION_CHARS,
            ),
            (Code::BadExtra, STANDARD.decode(&self.extra).is_ok()),
            (
                Code::InvalidTimezone,
                self.due
                    .as_ref()
                    .is_none_or(|due| TIMEZONES.lines().any(|tz| tz == due.timezone)),
            ),
            (
                Code::InvalidI18nName,
                is_i18n_name(&self.origin.platform_i18n_name),
            ),
            (
                Code::BadOriginUrl,
                self.origin
                    .href
                    .as_ref()
                    .is_none_or(|href| is_origin_url(&href.url)),
            ),
            (Code::InvalidCustom, is_custom(&self.custom)),
            (Code::InvalidRepeatRule, is_repeat_rule(&self.repeat_rule)),
        ];
        match checks.iter().find(|(_, ok)| !ok) {
            Some((code, _)) => Err(endpoint.error(*code)),
            None => Ok(()),
        }
    }
}

impl Due {
    fn parse(input: &DueInput, endpoint: Endpoint) -> Result<Self, ApiError> {
        let time = match &input.time {
            Some(Int64::Number(n)) => Some(*n),
            Some(Int64::Text(text)) => text.trim().parse().ok(),
            None => None,
        }
        .filter(|t| *t >= 0)
        .ok_or_else(|| endpoint.error(Code::BadTime))?;
        Ok(Due {
            time,
            timezone: input
                .timezone
                .clone()
                .filter(|tz| !tz.is_empty())
                .unwrap_or_else(|| DEFAULT_TIMEZONE.to_string()),
            is_all_day: input.is_all_day.unwrap_or(false),
        })
    }
}

/// A JSON object of locale to name, e.g. `{"zh_cn": "IT 工作台", "en_us": "IT Workspace"}`.
fn is_i18n_name(text: &str) -> bool {
    serde_json::from_str::<Map<String, Value>>(text)
        .is_ok_and(|names| !names.is_empty() && is_locale_map(&names))
}

fn is_locale_map(map: &Map<String, Value>) -> bool {
    map.iter()
        .all(|(locale, name)| LOCALES.contains(&locale.as_str()) && name.is_string())
}

/// Empty (no link), or a link starting with http, https or applink.
fn is_origin_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    url.is_empty()
        || ["http://", "https://", "applink://"]
            .iter()
            .any(|s| lower.starts_with(s))
}

/// Empty, or `{"custom_complete": {"pc"|"ios"|"android": {"href": "...", "tip": {locale: text}}}}`.
pub(super) fn is_custom(text: &str) -> bool {
    if text.is_empty() {
        return true;
    }
    let Ok(custom) = serde_json::from_str::<Map<String, Value>>(text) else {
        return false;
    };
    custom.iter().all(|(key, platforms)| {
        key == "custom_complete"
            && platforms.as_object().is_some_and(|platforms| {
                platforms.iter().all(|(platform, complete)| {
                    ["pc", "ios", "android"].contains(&platform.as_str())
                        && complete.as_object().is_some_and(|complete| {
                            complete.iter().all(|(field, value)| match field.as_str() {
                                "href" => value.is_string(),
                                "tip" => value.as_object().is_some_and(is_locale_map),
                                _ => false,
                            })
                        })
                })
            })
    })
}

/// Empty, or an iCalendar RRULE (`FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU`), optionally prefixed
/// `RRULE:`, with the parts a task repeats by.
pub(super) fn is_repeat_rule(rule: &str) -> bool {
    if rule.is_empty() {
        return true;
    }
    let rule = rule.strip_prefix("RRULE:").unwrap_or(rule);
    let int_in = |value: &str, range: std::ops::RangeInclusive<i64>| {
        value.parse::<i64>().is_ok_and(|n| range.contains(&n))
    };
    let list = |value: &str, item: &dyn Fn(&str) -> bool| value.split(',').all(item);
    let weekday = |day: &str| ["MO", "TU", "WE", "TH", "FR", "SA", "SU"].contains(&day);
    let mut seen = Vec::new();
    for part in rule.split(';') {
        let Some((key, value)) = part.split_once('=') else {
            return false;
        };
        if seen.contains(&key) {
            return false;
        }
        seen.push(key);
        let ok = match key {
            "FREQ" => ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"].contains(&value),
            "INTERVAL" | "COUNT" => int_in(value, 1..=i64::from(u16::MAX)),
            "BYDAY" => list(value, &|day| {
                let name =
                    day.trim_start_matches(|c: char| c == '+' || c == '-' || c.is_ascii_digit());
                let ordinal = &day[..day.len() - name.len()];
                weekday(name)
                    && (ordinal.is_empty() || int_in(ordinal.trim_start_matches('+'), -53..=53))
            }),
            "BYMONTHDAY" => list(value, &|d| int_in(d, -31..=31) && d != "0"),
            "BYMONTH" => list(value, &|m| int_in(m, 1..=12)),
            "BYSETPOS" => list(value, &|p| int_in(p, -366..=366) && p != "0"),
            "WKST" => weekday(value),
            "UNTIL" => {
                let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                match value.split_once('T') {
                    None => value.len() == 8 && digits(value),
                    Some((date, time)) => {
                        let time = time.strip_suffix('Z').unwrap_or(time);
                        date.len() == 8 && digits(date) && time.len() == 6 && digits(time)
                    }
                }
            }
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    seen.contains(&"FREQ")
}

/// What a task entity's attrs hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    pub fields: Fields,
    /// 6: created with a tenant token, 7: with a user token.
    pub source: i64,
    /// Unix seconds; 0 while open.
    pub complete_time: i64,
    #[serde(flatten)]
    pub extras: Extras,
}

/// What only Task v2 shows of a task (a task Task v1 creates has the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Extras {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Due>,
    /// 1: every assignee completes it, 2: any one does.
    pub mode: i64,
    pub is_milestone: bool,
}

impl Default for Extras {
    fn default() -> Self {
        Extras {
            start: None,
            mode: 2,
            is_milestone: false,
        }
    }
}

/// The parts of a rendered task that come from outside its record.
pub struct Rendering {
    /// Omitted when the creator has no id of the requested type (an app under `user_id`).
    pub creator_id: Option<String>,
    pub followers: Vec<String>,
    pub collaborators: Vec<String>,
    /// Get and list show `can_edit`; create and patch do not.
    pub with_can_edit: bool,
}

impl Record {
    pub fn render(&self, task: &Entity, parts: Rendering) -> Value {
        let fields = &self.fields;
        let members = |ids: Vec<String>| -> Vec<Value> {
            ids.into_iter().map(|id| json!({ "id": id })).collect()
        };
        let mut origin = json!({ "platform_i18n_name": fields.origin.platform_i18n_name });
        if let Some(href) = &fields.origin.href {
            origin["href"] = json!({ "url": href.url, "title": href.title });
        }
        let mut object = json!({
            "id": task.key,
            "summary": fields.summary,
            "description": fields.description,
            "complete_time": self.complete_time.to_string(),
            "extra": fields.extra,
            "create_time": task.created_at.to_string(),
            "update_time": task.updated_at.to_string(),
            "origin": origin,
            "custom": fields.custom,
            "source": self.source,
            "followers": members(parts.followers),
            "collaborators": members(parts.collaborators),
            "repeat_rule": fields.repeat_rule,
            "rich_summary": fields.rich_summary,
            "rich_description": fields.rich_description,
        });
        if let Some(creator) = parts.creator_id {
            object["creator_id"] = json!(creator);
        }
        if let Some(due) = &fields.due {
            object["due"] = json!({
                "time": due.time.to_string(),
                "timezone": due.timezone,
                "is_all_day": due.is_all_day,
            });
        }
        if parts.with_can_edit {
            object["can_edit"] = json!(fields.can_edit);
        }
        object
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: Value) -> TaskInput {
        serde_json::from_value(json).unwrap()
    }

    fn code(json: Value) -> i64 {
        match Fields::create(&input(json), Endpoint::Create) {
            Ok(_) => 0,
            Err(e) => e.code,
        }
    }

    #[test]
    fn create_checks_each_field_with_its_code() {
        let origin = json!({ "platform_i18n_name": "{\"zh_cn\": \"测试\", \"en_us\": \"Test\"}" });
        let with = |extra: Value| {
            let mut task = json!({ "summary": "s", "origin": origin });
            task.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            code(task)
        };
        assert_eq!(with(json!({})), 0);
        assert_eq!(code(json!({ "summary": "s" })), 99992402);
        assert_eq!(with(json!({ "summary": "" })), 1470416);
        assert_eq!(with(json!({ "summary": "", "rich_summary": "r" })), 0);
        assert_eq!(with(json!({ "summary": "x".repeat(257) })), 1470437);
        assert_eq!(with(json!({ "summary": "界".repeat(256) })), 0);
        assert_eq!(with(json!({ "extra": "dGVzdA==" })), 0);
        assert_eq!(with(json!({ "extra": "not base64!" })), 1470435);
        assert_eq!(with(json!({ "due": { "time": "1623124318" } })), 0);
        assert_eq!(with(json!({ "due": { "time": 1623124318 } })), 0);
        assert_eq!(with(json!({ "due": { "time": "soon" } })), 1470439);
        assert_eq!(
            with(json!({ "due": { "time": "1", "timezone": "Asia/Shanghia" } })),
            1470414
        );
        assert_eq!(
            with(json!({ "due": { "time": "1", "timezone": "Europe/Berlin" } })),
            0
        );
        assert_eq!(
            with(json!({ "origin": { "platform_i18n_name": "IT" } })),
            1470415
        );
        assert_eq!(
            with(json!({ "origin": { "platform_i18n_name": "{\"xx\": \"IT\"}" } })),
            1470415
        );
        let href = |url: &str| json!({ "origin": { "platform_i18n_name": "{\"en_us\": \"IT\"}", "href": { "url": url } } });
        assert_eq!(with(href("https://example.com/t/1")), 0);
        assert_eq!(with(href("applink://client/todo")), 0);
        assert_eq!(with(href("ftp://example.com")), 1470436);
        let custom = r#"{"custom_complete":{"pc":{"href":"https://x","tip":{"zh_cn":"你好"}}}}"#;
        assert_eq!(with(json!({ "custom": custom })), 0);
        assert_eq!(
            with(json!({ "custom": "{\"custom_complete\": {\"tv\": {}}}" })),
            1470438
        );
        assert_eq!(with(json!({ "custom": "not json" })), 1470438);
        assert_eq!(
            with(json!({ "repeat_rule": "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR" })),
            0
        );
        assert_eq!(
            with(json!({ "repeat_rule": "RRULE:FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20300101T000000Z" })),
            0
        );
        assert_eq!(with(json!({ "repeat_rule": "INTERVAL=2" })), 1470434);
        assert_eq!(with(json!({ "repeat_rule": "FREQ=HOURLY" })), 1470434);
        assert_eq!(
            with(json!({ "repeat_rule": "FREQ=DAILY;BYDAY=XX" })),
            1470434
        );
    }

    #[test]
    fn renders_int64s_as_strings() {
        let fields = Fields::create(
            &input(json!({
                "summary": "s",
                "due": { "time": 1700000000 },
                "origin": { "platform_i18n_name": "{\"en_us\": \"IT\"}" }
            })),
            Endpoint::Create,
        )
        .unwrap();
        let record = Record {
            fields,
            source: 6,
            complete_time: 0,
            extras: Extras::default(),
        };
        let task = Entity {
            id: 1,
            space_id: 1,
            kind: "t".into(),
            key: "k".into(),
            attrs: json!({}),
            owner: None,
            created_at: 10,
            updated_at: 11,
        };
        let rendered = record.render(
            &task,
            Rendering {
                creator_id: None,
                followers: vec!["ou_1".into()],
                collaborators: vec![],
                with_can_edit: false,
            },
        );
        assert_eq!(rendered["complete_time"], "0");
        assert_eq!(rendered["create_time"], "10");
        assert_eq!(
            rendered["due"],
            json!({ "time": "1700000000", "timezone": "Asia/Shanghai", "is_all_day": false })
        );
        assert_eq!(rendered["followers"], json!([{ "id": "ou_1" }]));
        assert!(rendered.get("creator_id").is_none() && rendered.get("can_edit").is_none());
    }
}

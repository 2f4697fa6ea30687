//! Per-app limits: the vendor's defaults, overridable per app in the seed file (`limits`) and
//! kept as the space's limit overrides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Users one account may follow (32100).
    pub following: i64,
    /// Fans one account may have (32101); unlimited by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fans: Option<i64>,
    /// Mutual follows one account may have (32102 / 32103); unlimited by default, so bounded
    /// only by `following`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mutual: Option<i64>,
    pub follow_add_items: i64,
    pub follow_delete_items: i64,
    pub follow_check_items: i64,
    pub follow_get_info_items: i64,
    /// follow_get page size when `WantNum` is absent or 0.
    pub follow_get_want_num: i64,
    /// Larger `WantNum`s are clamped to this.
    pub follow_get_want_num_max: i64,
    pub multiaccount_import_items: i64,
    pub account_delete_items: i64,
    pub account_check_items: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            following: 5000,
            fans: None,
            mutual: None,
            follow_add_items: 20,
            follow_delete_items: 20,
            follow_check_items: 100,
            follow_get_info_items: 20,
            follow_get_want_num: 100,
            follow_get_want_num_max: 1000,
            multiaccount_import_items: 100,
            account_delete_items: 100,
            account_check_items: 100,
        }
    }
}

impl Limits {
    /// Why these limits cannot be used, if they cannot.
    pub fn problem(&self) -> Option<String> {
        let caps = [
            ("following", Some(self.following)),
            ("fans", self.fans),
            ("mutual", self.mutual),
        ];
        if let Some((name, _)) = caps.iter().find(|(_, cap)| cap.is_some_and(|n| n < 0)) {
            return Some(format!("limits.{name} must not be negative"));
        }
        let per_request = [
            ("follow_add_items", self.follow_add_items),
            ("follow_delete_items", self.follow_delete_items),
            ("follow_check_items", self.follow_check_items),
            ("follow_get_info_items", self.follow_get_info_items),
            ("follow_get_want_num", self.follow_get_want_num),
            ("follow_get_want_num_max", self.follow_get_want_num_max),
            ("multiaccount_import_items", self.multiaccount_import_items),
            ("account_delete_items", self.account_delete_items),
            ("account_check_items", self.account_check_items),
        ];
        if let Some((name, _)) = per_request
            .iter()
            .find(|(_, n)| !(1..=u32::MAX as i64).contains(n))
        {
            return Some(format!("limits.{name} must be between 1 and {}", u32::MAX));
        }
        (self.follow_get_want_num > self.follow_get_want_num_max).then(|| {
            "limits.follow_get_want_num must not exceed limits.follow_get_want_num_max".into()
        })
    }

    pub fn to_map(&self) -> BTreeMap<String, i64> {
        serde_json::from_value(serde_json::to_value(self).expect("limits serialize"))
            .expect("limits are integers")
    }

    /// Limits stored by [`Limits::to_map`]; names it does not know are an error.
    pub fn from_map(map: &BTreeMap<String, i64>) -> Result<Self, serde_json::Error> {
        serde_json::from_value(serde_json::to_value(map)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_space_map() {
        let limits = Limits {
            following: 3,
            mutual: Some(1),
            ..Limits::default()
        };
        let map = limits.to_map();
        assert_eq!(map["following"], 3);
        assert!(!map.contains_key("fans"));
        assert_eq!(Limits::from_map(&map).unwrap(), limits);
        assert_eq!(
            Limits::from_map(&BTreeMap::new()).unwrap(),
            Limits::default()
        );
    }

    #[test]
    fn refuses_unusable_values() {
        assert_eq!(Limits::default().problem(), None);
        let negative = Limits {
            fans: Some(-1),
            ..Limits::default()
        };
        assert!(negative.problem().unwrap().contains("fans"));
        let zero_batch = Limits {
            follow_add_items: 0,
            ..Limits::default()
        };
        assert!(zero_batch.problem().unwrap().contains("follow_add_items"));
        let page = Limits {
            follow_get_want_num: 2000,
            ..Limits::default()
        };
        assert!(page.problem().is_some());
    }
}

use std::collections::{HashMap, HashSet};

use roster_core::{Entity, StoreError};
use serde::{Deserialize, Serialize};

use super::{attrs_value, decode, numeric_key, parse_id, Directory, Fault, Record, DEPARTMENT};

/// WeCom's root department: the corp itself.
pub(crate) const ROOT: i64 = 1;
/// Department ids are unsigned 32-bit ints.
pub(crate) const DEPARTMENT_ID_MAX: i64 = u32::MAX as i64;
const NAME_MAX_CHARS: usize = 64;
const NAME_FORBIDDEN: &[char] = &['\\', ':', '*', '?', '"', '<', '>', '|'];
const MAX_DEPTH: usize = 15;
/// Alias namespace of do1's own department ids.
const QWIF_DEPARTMENT: &str = "qwif_department";

/// Alias namespace of the names of one department's children: siblings' names are unique.
fn name_namespace(parent: i64) -> String {
    format!("department_name/{parent}")
}
const ID_ATTEMPTS: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DepartmentAttrs {
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// 0 for the root.
    pub parentid: i64,
    /// Sort value among siblings; WeCom lists larger values first.
    pub order: i64,
    /// Userids of the department's heads (do1 `receiveWxUserId`).
    #[serde(default)]
    pub leaders: Vec<String>,
    /// do1's visibility setting: `1` whole corp, `2` own department, `3` own sub-departments.
    pub permission: String,
    /// do1's `id` of the department.
    pub qwif_id: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Department {
    pub id: i64,
    pub attrs: DepartmentAttrs,
}

impl Record for Department {
    const KIND: &'static str = DEPARTMENT;

    fn not_found() -> Fault {
        Fault::DepartmentNotFound
    }

    fn from_entity(entity: &Entity) -> Result<Self, StoreError> {
        Ok(Self {
            id: numeric_key(entity)?,
            attrs: decode(entity)?,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct NewDepartment {
    /// `None`: one more than the highest department id of the corp.
    pub id: Option<i64>,
    pub name: String,
    pub name_en: String,
    pub parentid: i64,
    pub order: i64,
    pub leaders: Vec<String>,
    pub permission: String,
}

impl NewDepartment {
    pub(crate) fn new(name: String, parentid: i64) -> Self {
        Self {
            id: None,
            name,
            name_en: String::new(),
            parentid,
            order: 0,
            leaders: Vec::new(),
            permission: "1".into(),
        }
    }
}

impl Directory {
    pub(crate) async fn department(&self, id: i64) -> Result<Department, Fault> {
        self.record(&id.to_string()).await
    }

    /// A department by the text a client sent as its id.
    pub(crate) async fn department_by_text(&self, id: &str) -> Result<Department, Fault> {
        let id = parse_id(id, DEPARTMENT_ID_MAX).ok_or(Fault::DepartmentNotFound)?;
        self.department(id).await
    }

    pub(crate) async fn department_by_qwif_id(&self, qwif_id: &str) -> Result<Department, Fault> {
        self.record_by_alias(QWIF_DEPARTMENT, qwif_id).await
    }

    /// Every department of the corp, by id.
    pub(crate) async fn departments(&self) -> Result<Vec<Department>, Fault> {
        let mut all: Vec<Department> = self.records().await?;
        all.sort_by_key(|department| department.id);
        Ok(all)
    }

    /// Create the root department if the corp has none, and give every department its name
    /// among its siblings as a unique key (departments made before names were keys get it here;
    /// of siblings that already share a name, the oldest keeps it).
    pub(crate) async fn ensure_root(&self, name: &str) -> Result<(), Fault> {
        if self.find(DEPARTMENT, &ROOT.to_string()).await?.is_none() {
            check_name(name)?;
            let mut root = NewDepartment::new(name.into(), 0);
            root.id = Some(ROOT);
            self.insert_department(&root, ROOT).await?;
        }
        let mut plan = self.plan();
        let mut named = HashSet::new();
        for entity in self.all(DEPARTMENT).await? {
            let department = Department::from_entity(&entity)?;
            let attrs = &department.attrs;
            if named.insert((attrs.parentid, attrs.name.clone())) {
                plan.set_alias(name_namespace(attrs.parentid), &attrs.name, entity.id);
            }
        }
        self.engine.store.apply(plan).await?;
        Ok(())
    }

    pub(crate) async fn create_department(&self, new: NewDepartment) -> Result<Department, Fault> {
        check_name(&new.name)?;
        if new
            .id
            .is_some_and(|id| id <= ROOT || id > DEPARTMENT_ID_MAX)
        {
            return Err(Fault::DepartmentIdInvalid);
        }
        let all = self.departments().await?;
        let by_id: HashMap<i64, &Department> = all.iter().map(|d| (d.id, d)).collect();
        if !by_id.contains_key(&new.parentid) {
            return Err(Fault::ParentNotFound);
        }
        if depth(&by_id, new.parentid) >= MAX_DEPTH {
            return Err(Fault::DepartmentTooDeep);
        }
        let sibling_named = all
            .iter()
            .any(|d| d.attrs.parentid == new.parentid && d.attrs.name == new.name);
        if sibling_named {
            return Err(Fault::DepartmentExists);
        }
        if !self.unknown_users(&new.leaders).await?.is_empty() {
            return Err(Fault::UserNotFound);
        }
        let mut next = all.last().map_or(ROOT, |d| d.id) + 1;
        for _ in 0..ID_ATTEMPTS {
            let id = new.id.unwrap_or(next);
            if id > DEPARTMENT_ID_MAX {
                return Err(Fault::DepartmentIdInvalid);
            }
            match self.insert_department(&new, id).await {
                Err(Fault::DepartmentExists) if new.id.is_none() => next += 1,
                other => return other,
            }
        }
        Err(Fault::DepartmentExists)
    }

    async fn insert_department(&self, new: &NewDepartment, id: i64) -> Result<Department, Fault> {
        let key = id.to_string();
        let attrs = DepartmentAttrs {
            name: new.name.clone(),
            name_en: new.name_en.clone(),
            parentid: new.parentid,
            order: new.order,
            leaders: new.leaders.clone(),
            permission: new.permission.clone(),
            qwif_id: self.qwif_id(DEPARTMENT, &key),
        };
        let mut plan = self.plan();
        let department = plan.create(DEPARTMENT, key, attrs_value(&attrs), None);
        let named = plan.set_alias(name_namespace(attrs.parentid), &attrs.name, department);
        plan.set_alias(QWIF_DEPARTMENT, &attrs.qwif_id, department);
        match self.engine.store.apply(plan).await {
            Ok(_) => Ok(Department { id, attrs }),
            Err(e) if e.refusal_of(department).is_some() => Err(Fault::DepartmentExists),
            // A sibling of the same name, created concurrently.
            Err(e) if e.refusal_of(named).is_some() => Err(Fault::DepartmentExists),
            Err(e) => Err(e.into()),
        }
    }
}

fn check_name(name: &str) -> Result<(), Fault> {
    let chars = name.chars().count();
    if chars == 0 || chars > NAME_MAX_CHARS {
        return Err(Fault::DepartmentNameInvalid);
    }
    if name.contains(NAME_FORBIDDEN) {
        return Err(Fault::DepartmentNameIllegal);
    }
    Ok(())
}

/// How many departments deep `id` is (the root is 1).
fn depth(by_id: &HashMap<i64, &Department>, id: i64) -> usize {
    let mut depth = 0;
    let mut current = by_id.get(&id);
    while let Some(department) = current {
        depth += 1;
        if depth > MAX_DEPTH {
            break;
        }
        current = by_id.get(&department.attrs.parentid);
    }
    depth
}

/// `root` and every department under it, parents before children, siblings by descending
/// `order` then id (WeCom lists larger `order` values first).
pub(crate) fn subtree(all: &[Department], root: i64) -> Vec<&Department> {
    let mut children: HashMap<i64, Vec<&Department>> = HashMap::new();
    for department in all {
        if department.id != department.attrs.parentid {
            children
                .entry(department.attrs.parentid)
                .or_default()
                .push(department);
        }
    }
    for siblings in children.values_mut() {
        siblings.sort_by_key(|d| (std::cmp::Reverse(d.attrs.order), d.id));
    }
    let mut ordered = Vec::new();
    let mut stack: Vec<&Department> = all.iter().filter(|d| d.id == root).collect();
    while let Some(department) = stack.pop() {
        ordered.push(department);
        if let Some(kids) = children.get(&department.id) {
            stack.extend(kids.iter().rev());
        }
    }
    ordered
}

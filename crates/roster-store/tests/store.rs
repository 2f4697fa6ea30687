//! The storage contract, run against SQLite and (when configured) PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;

use roster_core::*;
use roster_store::test_support::{postgres_url, scratch_postgres};
use roster_store::SqlStore;
use serde_json::json;

struct Fixture {
    store: Arc<SqlStore>,
    space: Space,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite_dir(dir.path()).await.unwrap();
    fixture(store, Some(dir)).await
}

async fn postgres(suite: &str) -> Option<Fixture> {
    let url = scratch_postgres(&postgres_url(suite)?).await;
    Some(fixture(SqlStore::open_postgres(&url).await.unwrap(), None).await)
}

async fn fixture(store: SqlStore, dir: Option<tempfile::TempDir>) -> Fixture {
    let space = store
        .ensure_space("test", "s1", &BTreeMap::new())
        .await
        .unwrap();
    Fixture {
        store: Arc::new(store),
        space,
        _dir: dir,
    }
}

impl Fixture {
    async fn entity(&self, kind: &str, key: &str) -> EntityId {
        self.store
            .create_entity(NewEntity {
                space_id: self.space.id,
                kind: kind.into(),
                key: key.into(),
                attrs: json!({ "name": key }),
                owner: None,
                now: 1,
            })
            .await
            .unwrap()
            .id
    }

    fn add(&self, subject: EntityId, members: &[EntityId]) -> AddEdges {
        AddEdges {
            space_id: self.space.id,
            subject,
            relation: "r".into(),
            members: members.to_vec(),
            caps: Caps::default(),
            reciprocal: None,
            allow_self: false,
            policy: AddPolicy::default(),
            now: 100,
        }
    }

    async fn count(&self, id: EntityId, relation: &str, direction: Direction) -> i64 {
        self.store.counts(&[id], relation, direction).await.unwrap()[&id]
    }
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $( #[tokio::test] async fn $name() { super::$name(super::sqlite().await).await } )*
        }
        mod postgres_backend {
            $( #[tokio::test] async fn $name() {
                if let Some(f) = super::postgres(stringify!($name)).await { super::$name(f).await }
            } )*
        }
    };
}

on_both_backends!(
    batch_outcomes_and_counters,
    abort_policy_writes_nothing,
    caps_per_member_and_subject,
    reciprocal_edges_follow_both_directions,
    keyset_paging_is_stable,
    delete_entity_keeps_counts_exact,
    aliases_and_entities,
    concurrent_adds_never_exceed_cap,
    aborted_and_committed_writes_side_by_side,
    batch_lookups_by_key_and_from_either_end,
    concurrent_reciprocal_adds_stay_symmetric,
    linked_entities_by_owner_or_membership,
    batch_create_find_and_alias_removal,
    large_batches_keep_order_and_counts,
);

async fn batch_outcomes_and_counters(f: Fixture) {
    let task = f.entity("task", "t1").await;
    let (a, b) = (f.entity("user", "a").await, f.entity("user", "b").await);
    let other_space = f
        .store
        .ensure_space("test", "s2", &BTreeMap::new())
        .await
        .unwrap();
    let foreign = f
        .store
        .create_entity(NewEntity {
            space_id: other_space.id,
            kind: "user".into(),
            key: "x".into(),
            attrs: json!({}),
            owner: None,
            now: 1,
        })
        .await
        .unwrap()
        .id;
    let out = f
        .store
        .add_edges(f.add(task, &[a, a, foreign, 999_999]))
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![
            (a, Outcome::Added),
            (foreign, Outcome::UnknownMember),
            (999_999, Outcome::UnknownMember)
        ]
    );
    let out = f.store.add_edges(f.add(task, &[a, b, task])).await.unwrap();
    assert_eq!(
        out,
        vec![
            (a, Outcome::AlreadyPresent),
            (b, Outcome::Added),
            (task, Outcome::SelfEdge)
        ]
    );
    assert_eq!(f.count(task, "r", Direction::Members).await, 2);
    assert_eq!(f.count(a, "r", Direction::Memberships).await, 1);
    let removed = f
        .store
        .remove_edges(RemoveEdges {
            space_id: f.space.id,
            subject: task,
            relation: "r".into(),
            members: vec![a, a, b, b],
            reciprocal: None,
        })
        .await
        .unwrap();
    // b is listed twice: one outcome per distinct member.
    assert_eq!(removed, vec![(a, Outcome::Removed), (b, Outcome::Removed)]);
    assert_eq!(f.count(task, "r", Direction::Members).await, 0);
    assert_eq!(f.count(b, "r", Direction::Memberships).await, 0);
    // A subject of another space is not found.
    let mut foreign_subject = f.add(foreign, &[a]);
    foreign_subject.space_id = f.space.id;
    assert!(matches!(
        f.store.add_edges(foreign_subject).await,
        Err(StoreError::NotFound)
    ));
}

async fn abort_policy_writes_nothing(f: Fixture) {
    let task = f.entity("task", "t1").await;
    let a = f.entity("user", "a").await;
    let mut req = f.add(task, &[a, 424_242]);
    req.policy.abort_on_unknown = true;
    let out = f.store.add_edges(req).await.unwrap();
    assert_eq!(
        out,
        vec![(a, Outcome::Aborted), (424_242, Outcome::UnknownMember)]
    );
    assert_eq!(f.count(task, "r", Direction::Members).await, 0);
    let mut req = f.add(task, &[a]);
    req.caps.members_per_subject = Some(0);
    req.policy.abort_on_full = true;
    assert_eq!(
        f.store.add_edges(req).await.unwrap(),
        vec![(a, Outcome::SubjectFull)]
    );
    assert!(f
        .store
        .edges_among(task, "r", &[a])
        .await
        .unwrap()
        .is_empty());
}

async fn caps_per_member_and_subject(f: Fixture) {
    let (t1, t2) = (f.entity("task", "t1").await, f.entity("task", "t2").await);
    let users = [
        f.entity("user", "a").await,
        f.entity("user", "b").await,
        f.entity("user", "c").await,
    ];
    let mut req = f.add(t1, &users);
    req.caps.members_per_subject = Some(2);
    let out = f.store.add_edges(req).await.unwrap();
    assert_eq!(out[2], (users[2], Outcome::SubjectFull));
    assert_eq!(f.count(t1, "r", Direction::Members).await, 2);
    let mut req = f.add(t2, &users);
    req.caps.subjects_per_member = Some(1);
    let out = f.store.add_edges(req).await.unwrap();
    assert_eq!(
        out,
        vec![
            (users[0], Outcome::MemberFull),
            (users[1], Outcome::MemberFull),
            (users[2], Outcome::Added)
        ]
    );
}

async fn reciprocal_edges_follow_both_directions(f: Fixture) {
    let (a, b, c) = (
        f.entity("acct", "a").await,
        f.entity("acct", "b").await,
        f.entity("acct", "c").await,
    );
    let follow = |from, to| {
        let mut req = f.add(from, &[to]);
        req.reciprocal = Some(Reciprocal {
            relation: "mutual".into(),
            max_per_entity: Some(1),
        });
        req
    };
    assert_eq!(
        f.store.add_edges(follow(a, b)).await.unwrap()[0].1,
        Outcome::Added
    );
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 0);
    assert_eq!(
        f.store.add_edges(follow(b, a)).await.unwrap()[0].1,
        Outcome::Added
    );
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 1);
    assert_eq!(f.count(b, "mutual", Direction::Members).await, 1);
    // a already has its one mutual partner: c -> a then a -> c is refused on a's side.
    assert_eq!(
        f.store.add_edges(follow(c, a)).await.unwrap()[0].1,
        Outcome::Added
    );
    assert_eq!(
        f.store.add_edges(follow(a, c)).await.unwrap()[0].1,
        Outcome::SubjectReciprocalFull
    );
    assert_eq!(
        f.store.add_edges(follow(c, b)).await.unwrap()[0].1,
        Outcome::Added
    );
    assert_eq!(
        f.store.add_edges(follow(b, c)).await.unwrap()[0].1,
        Outcome::SubjectReciprocalFull
    );
    let unfollow = RemoveEdges {
        space_id: f.space.id,
        subject: b,
        relation: "r".into(),
        members: vec![a],
        reciprocal: Some("mutual".into()),
    };
    assert_eq!(
        f.store.remove_edges(unfollow).await.unwrap()[0].1,
        Outcome::Removed
    );
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 0);
    assert_eq!(f.count(b, "mutual", Direction::Members).await, 0);
    assert_eq!(f.count(a, "mutual", Direction::Memberships).await, 0);
}

async fn keyset_paging_is_stable(f: Fixture) {
    let chat = f.entity("chat", "c").await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(f.entity("user", &format!("u{i}")).await);
    }
    f.store.add_edges(f.add(chat, &users)).await.unwrap();
    let page = |after, newest_first| PageRequest {
        after,
        limit: 2,
        newest_first,
    };
    let first = f
        .store
        .list_edges(chat, "r", Direction::Members, page(None, false))
        .await
        .unwrap();
    assert_eq!(
        first.items.iter().map(|e| e.member).collect::<Vec<_>>(),
        users[..2]
    );
    // A member removed before the cursor and one added after do not shift the next page.
    f.store
        .remove_edges(RemoveEdges {
            space_id: f.space.id,
            subject: chat,
            relation: "r".into(),
            members: vec![users[0]],
            reciprocal: None,
        })
        .await
        .unwrap();
    let second = f
        .store
        .list_edges(chat, "r", Direction::Members, page(first.next, false))
        .await
        .unwrap();
    assert_eq!(
        second.items.iter().map(|e| e.member).collect::<Vec<_>>(),
        users[2..4]
    );
    let third = f
        .store
        .list_edges(chat, "r", Direction::Members, page(second.next, false))
        .await
        .unwrap();
    assert_eq!(
        third.items.iter().map(|e| e.member).collect::<Vec<_>>(),
        users[4..]
    );
    assert_eq!(third.next, None);
    let newest = f
        .store
        .list_edges(chat, "r", Direction::Members, page(None, true))
        .await
        .unwrap();
    assert_eq!(newest.items[0].member, users[4]);
    let reverse = f
        .store
        .list_edges(users[3], "r", Direction::Memberships, page(None, false))
        .await
        .unwrap();
    assert_eq!(reverse.items.len(), 1);
    assert_eq!(reverse.items[0].subject, chat);
    assert_eq!(reverse.items[0].created_at, 100);
}

async fn delete_entity_keeps_counts_exact(f: Fixture) {
    let (a, b, c) = (
        f.entity("acct", "a").await,
        f.entity("acct", "b").await,
        f.entity("acct", "c").await,
    );
    for (from, to) in [(a, b), (b, a), (c, a), (a, c), (b, c)] {
        let mut req = f.add(from, &[to]);
        req.reciprocal = Some(Reciprocal {
            relation: "mutual".into(),
            max_per_entity: None,
        });
        f.store.add_edges(req).await.unwrap();
    }
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 2);
    f.store.delete_entity(a).await.unwrap();
    assert_eq!(f.count(b, "r", Direction::Members).await, 1);
    assert_eq!(f.count(b, "r", Direction::Memberships).await, 0);
    assert_eq!(f.count(c, "r", Direction::Memberships).await, 1);
    assert_eq!(f.count(c, "r", Direction::Members).await, 0);
    assert_eq!(f.count(b, "mutual", Direction::Members).await, 0);
    assert_eq!(f.count(c, "mutual", Direction::Members).await, 0);
    assert!(f.store.entity(a).await.unwrap().is_none());
    assert!(matches!(
        f.store.delete_entity(a).await,
        Err(StoreError::NotFound)
    ));
}

async fn aliases_and_entities(f: Fixture) {
    let a = f.entity("user", "a").await;
    let b = f.entity("user", "b").await;
    f.store
        .set_alias(f.space.id, "open_id/app1", "ou_a", a)
        .await
        .unwrap();
    f.store
        .set_alias(f.space.id, "open_id/app1", "ou_a", a)
        .await
        .unwrap();
    assert!(matches!(
        f.store
            .set_alias(f.space.id, "open_id/app1", "ou_a", b)
            .await,
        Err(StoreError::Conflict)
    ));
    let found = f
        .store
        .resolve_aliases(f.space.id, "open_id/app1", &["ou_a".into(), "ou_zz".into()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found["ou_a"], a);
    assert_eq!(
        f.store
            .aliases_of(f.space.id, "open_id/app1", &[a, b])
            .await
            .unwrap()[&a],
        "ou_a"
    );
    assert!(matches!(
        f.store
            .create_entity(NewEntity {
                space_id: f.space.id,
                kind: "user".into(),
                key: "a".into(),
                attrs: json!({}),
                owner: None,
                now: 2
            })
            .await,
        Err(StoreError::Conflict)
    ));
    let updated = f
        .store
        .update_entity(a, json!({"name": "Alice"}), 5)
        .await
        .unwrap();
    assert_eq!(updated.attrs["name"], "Alice");
    assert_eq!((updated.created_at, updated.updated_at), (1, 5));
    let upserted = f
        .store
        .upsert_entity(NewEntity {
            space_id: f.space.id,
            kind: "user".into(),
            key: "a".into(),
            attrs: json!({"name": "Alice"}),
            owner: None,
            now: 9,
        })
        .await
        .unwrap();
    assert_eq!(
        upserted.updated_at, 5,
        "an identical upsert changes nothing"
    );
    let page = f
        .store
        .list_entities(
            &EntityFilter {
                space_id: f.space.id,
                kind: "user".into(),
                owner: None,
            },
            PageRequest {
                after: None,
                limit: 1,
                newest_first: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items[0].id, a);
    assert_eq!(page.next, Some(a));
    let secret = f.store.secret("cursor").await.unwrap();
    assert_eq!(secret, f.store.secret("cursor").await.unwrap());
    assert_eq!(secret.len(), 64);
}

async fn concurrent_adds_never_exceed_cap(f: Fixture) {
    let tag = f.entity("tag", "t").await;
    let mut users = Vec::new();
    for i in 0..40 {
        users.push(f.entity("user", &format!("u{i}")).await);
    }
    let cap = 25;
    let mut tasks = Vec::new();
    for chunk in users.chunks(4) {
        let mut req = f.add(tag, chunk);
        req.caps.members_per_subject = Some(cap);
        let store = f.store.clone();
        tasks.push(tokio::spawn(
            async move { store.add_edges(req).await.unwrap() },
        ));
    }
    let mut added = 0;
    for task in tasks {
        added += task
            .await
            .unwrap()
            .iter()
            .filter(|(_, o)| *o == Outcome::Added)
            .count() as i64;
    }
    assert_eq!(added, cap);
    assert_eq!(f.count(tag, "r", Direction::Members).await, cap);
}

async fn batch_lookups_by_key_and_from_either_end(f: Fixture) {
    let (a, b, c) = (
        f.entity("acct", "a").await,
        f.entity("acct", "b").await,
        f.entity("acct", "c").await,
    );
    f.entity("other", "d").await;
    let found = f
        .store
        .find_entities(
            f.space.id,
            "acct",
            &["a".into(), "c".into(), "d".into(), "zz".into()],
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!((found["a"].id, found["c"].id), (a, c));
    f.store.add_edges(f.add(b, &[a])).await.unwrap();
    f.store.add_edges(f.add(c, &[a, b])).await.unwrap();
    // Which of a, b, c have `a` as a member: b and c, keyed by subject.
    let fans = f.store.memberships_among(a, "r", &[a, b, c]).await.unwrap();
    assert_eq!(fans.len(), 2);
    assert_eq!((fans[&b].subject, fans[&b].member), (b, a));
    assert_eq!(fans[&c].subject, c);
    let following = f.store.edges_among(c, "r", &[a, b, c]).await.unwrap();
    assert_eq!(following.len(), 2);
    assert_eq!(following[&b].member, b);
}

async fn concurrent_reciprocal_adds_stay_symmetric(f: Fixture) {
    let users = [
        f.entity("acct", "a").await,
        f.entity("acct", "b").await,
        f.entity("acct", "c").await,
    ];
    let mut tasks = Vec::new();
    for round in 0..24 {
        let (from, to) = (users[round % 3], users[(round / 3 + 1 + round) % 3]);
        let mut add = f.add(from, &[to]);
        add.reciprocal = Some(Reciprocal {
            relation: "mutual".into(),
            max_per_entity: None,
        });
        let remove = RemoveEdges {
            space_id: f.space.id,
            subject: from,
            relation: "r".into(),
            members: vec![to],
            reciprocal: Some("mutual".into()),
        };
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move {
            store.add_edges(add).await.unwrap();
            if round % 4 == 0 {
                store.remove_edges(remove).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut edges = std::collections::HashSet::new();
    for relation in ["r", "mutual"] {
        for &x in &users {
            for &y in f
                .store
                .edges_among(x, relation, &users)
                .await
                .unwrap()
                .keys()
            {
                edges.insert((relation, x, y));
            }
        }
    }
    for &x in &users {
        for &y in &users {
            let both = edges.contains(&("r", x, y)) && edges.contains(&("r", y, x));
            assert_eq!(edges.contains(&("mutual", x, y)), both);
        }
        let partners = edges.iter().filter(|(r, s, _)| *r == "mutual" && *s == x);
        assert_eq!(
            partners.count() as i64,
            f.count(x, "mutual", Direction::Members).await
        );
    }
}

async fn linked_entities_by_owner_or_membership(f: Fixture) {
    let (alice, bob) = (
        f.entity("user", "alice").await,
        f.entity("user", "bob").await,
    );
    let task = |key: &str, owner| NewEntity {
        space_id: f.space.id,
        kind: "task".into(),
        key: key.into(),
        attrs: json!({}),
        owner,
        now: 1,
    };
    let mut tasks = Vec::new();
    for (key, owner) in [
        ("owned", Some(alice)),
        ("followed", Some(bob)),
        ("both", Some(alice)),
    ] {
        tasks.push(f.store.create_entity(task(key, owner)).await.unwrap().id);
    }
    let unrelated = f
        .store
        .create_entity(task("unrelated", Some(bob)))
        .await
        .unwrap()
        .id;
    let mut follow = f.add(tasks[1], &[alice]);
    follow.relation = "follower".into();
    f.store.add_edges(follow).await.unwrap();
    let mut collaborate = f.add(tasks[2], &[alice]);
    collaborate.relation = "collaborator".into();
    f.store.add_edges(collaborate).await.unwrap();
    let mut other_relation = f.add(unrelated, &[alice]);
    other_relation.relation = "other".into();
    f.store.add_edges(other_relation).await.unwrap();

    let relations = ["follower", "collaborator"];
    let page = |after| PageRequest {
        after,
        limit: 2,
        newest_first: false,
    };
    let first = f
        .store
        .list_linked(f.space.id, "task", alice, &relations, page(None))
        .await
        .unwrap();
    assert_eq!(
        first.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        tasks[..2]
    );
    let second = f
        .store
        .list_linked(f.space.id, "task", alice, &relations, page(first.next))
        .await
        .unwrap();
    assert_eq!(
        second.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        tasks[2..]
    );
    assert_eq!(second.next, None);
    let owned_only = f
        .store
        .list_linked(f.space.id, "task", alice, &[], page(None))
        .await
        .unwrap();
    assert_eq!(
        owned_only.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        [tasks[0], tasks[2]]
    );
    let of_bob = f
        .store
        .list_linked(f.space.id, "task", bob, &relations, page(None))
        .await
        .unwrap();
    assert_eq!(
        of_bob.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        [tasks[1], unrelated]
    );
}

async fn batch_create_find_and_alias_removal(f: Fixture) {
    let new = |key: &str| NewEntity {
        space_id: f.space.id,
        kind: "user".into(),
        key: key.into(),
        attrs: json!({ "name": key }),
        owner: None,
        now: 3,
    };
    let created = f
        .store
        .create_entities((0..1200).map(|i| new(&format!("u{i}"))).collect())
        .await
        .unwrap();
    assert_eq!(created.len(), 1200);
    assert_eq!(created[7].key, "u7");
    assert_eq!(created[7].attrs["name"], "u7");
    assert_eq!(
        f.store.entity(created[7].id).await.unwrap().unwrap(),
        created[7]
    );

    // One existing key refuses the whole batch.
    assert!(matches!(
        f.store.create_entities(vec![new("fresh"), new("u3")]).await,
        Err(StoreError::Conflict)
    ));
    let keys: Vec<String> = ["u0", "u1199", "fresh", "nobody"].map(String::from).into();
    let found = f
        .store
        .find_entities(f.space.id, "user", &keys)
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "the refused batch wrote nothing");
    assert_eq!(found["u1199"].id, created[1199].id);
    let many: Vec<String> = (0..1200).map(|i| format!("u{i}")).collect();
    assert_eq!(
        f.store
            .find_entities(f.space.id, "user", &many)
            .await
            .unwrap()
            .len(),
        1200
    );
    assert!(f
        .store
        .find_entities(f.space.id, "tag", &keys)
        .await
        .unwrap()
        .is_empty());

    let (a, b) = (created[0].id, created[1].id);
    f.store.set_alias(f.space.id, "name", "x", a).await.unwrap();
    f.store
        .remove_alias(f.space.id, "name", "x", b)
        .await
        .unwrap();
    assert!(
        matches!(
            f.store.set_alias(f.space.id, "name", "x", b).await,
            Err(StoreError::Conflict)
        ),
        "removing another entity's alias does nothing"
    );
    f.store
        .remove_alias(f.space.id, "name", "x", a)
        .await
        .unwrap();
    f.store.set_alias(f.space.id, "name", "x", b).await.unwrap();
    let names = ["x".to_string()];
    assert_eq!(
        f.store
            .resolve_aliases(f.space.id, "name", &names)
            .await
            .unwrap()["x"],
        b
    );
}

/// Batches larger than one statement's chunk: order, caps and counters stay exact.
async fn large_batches_keep_order_and_counts(f: Fixture) {
    let tag = f.entity("tag", "t").await;
    let new: Vec<NewEntity> = (0..1300)
        .map(|i| NewEntity {
            space_id: f.space.id,
            kind: "user".into(),
            key: format!("u{i}"),
            attrs: json!({}),
            owner: None,
            now: 1,
        })
        .collect();
    let users: Vec<EntityId> = f
        .store
        .create_entities(new)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    // Reversed, so the insertion order differs from the id order.
    let mut batch: Vec<EntityId> = users[..1200].iter().rev().copied().collect();
    batch.push(batch[0]);
    let mut req = f.add(tag, &batch);
    req.caps.members_per_subject = Some(1250);
    let out = f.store.add_edges(req).await.unwrap();
    assert_eq!(out.len(), 1200, "duplicates collapse");
    assert!(out.iter().all(|(_, o)| *o == Outcome::Added));
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .store
            .list_edges(
                tag,
                "r",
                Direction::Members,
                PageRequest {
                    after,
                    limit: 500,
                    newest_first: false,
                },
            )
            .await
            .unwrap();
        listed.extend(page.items.iter().map(|e| e.member));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(listed, batch[..1200], "edges keep the batch order");
    assert_eq!(f.count(tag, "r", Direction::Members).await, 1200);
    assert_eq!(f.count(users[0], "r", Direction::Memberships).await, 1);

    let mut req = f.add(tag, &users[1150..1300]);
    req.caps.members_per_subject = Some(1250);
    let out = f.store.add_edges(req).await.unwrap();
    let tally = |outcome| out.iter().filter(|(_, o)| *o == outcome).count();
    assert_eq!(
        (
            tally(Outcome::AlreadyPresent),
            tally(Outcome::Added),
            tally(Outcome::SubjectFull)
        ),
        (50, 50, 50)
    );
    assert_eq!(out[100], (users[1250], Outcome::SubjectFull));
    assert_eq!(f.count(tag, "r", Direction::Members).await, 1250);
    assert_eq!(f.count(users[1299], "r", Direction::Memberships).await, 0);
}

/// Writes that abort and writes that commit, at once (on SQLite they share group commits):
/// each keeps exactly its own effect.
async fn aborted_and_committed_writes_side_by_side(f: Fixture) {
    let tag = f.entity("tag", "t").await;
    let mut users = Vec::new();
    for i in 0..32 {
        users.push(f.entity("user", &format!("u{i}")).await);
    }
    let mut tasks = Vec::new();
    for (i, &user) in users.iter().enumerate() {
        let aborting = i % 2 == 1;
        let mut req = f.add(tag, &[user]);
        if aborting {
            req.members.push(999_999);
            req.policy.abort_on_unknown = true;
        }
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move {
            (user, aborting, store.add_edges(req).await.unwrap())
        }));
    }
    for task in tasks {
        let (user, aborting, outcomes) = task.await.unwrap();
        let expected = if aborting {
            Outcome::Aborted
        } else {
            Outcome::Added
        };
        assert_eq!(outcomes[0], (user, expected));
    }
    let present = f.store.edges_among(tag, "r", &users).await.unwrap();
    for (i, user) in users.iter().enumerate() {
        assert_eq!(present.contains_key(user), i % 2 == 0, "user {i}");
    }
    assert_eq!(f.count(tag, "r", Direction::Members).await, 16);
}

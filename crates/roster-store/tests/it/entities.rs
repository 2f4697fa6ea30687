//! Entities and aliases: lookups, links, updates with an expected value, upserts, pruning,
//! and spaces that isolate them.

use super::*;

roster_store::on_both_backends!(super::fixture;
    aliases_and_entities,
    batch_lookups_by_key_and_from_either_end,
    linked_entities_by_owner_or_membership,
    batch_create_find_and_alias_removal,
    update_with_expect_refuses_changed_or_missing,
    upsert_keeps_or_replaces_attrs,
    prune_deletes_only_older_entities_of_its_kind,
    aliases_and_targets_stay_in_their_space,
);

async fn aliases_and_entities(f: Fixture) {
    let a = f.entity("user", "a").await;
    let b = f.entity("user", "b").await;
    f.apply(2, set_alias("open_id/app1", "ou_a", a))
        .await
        .unwrap();
    f.apply(2, set_alias("open_id/app1", "ou_a", a))
        .await
        .unwrap();
    assert_eq!(
        refused(f.apply(2, set_alias("open_id/app1", "ou_a", b)).await),
        (StepId(0), Refusal::KeyTaken)
    );
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
    let mut plan = f.plan(2);
    plan.create("user", "a", json!({}), None);
    assert_eq!(
        refused(f.store.apply(plan).await),
        (StepId(0), Refusal::KeyTaken)
    );
    let mut plan = f.plan(5);
    let step = plan.update(a, json!({"name": "Alice"}));
    let updated = f.store.apply(plan).await.unwrap().into_entity(step);
    assert_eq!(updated.attrs["name"], "Alice");
    assert_eq!((updated.created_at, updated.updated_at), (1, 5));
    let mut plan = f.plan(9);
    let step = plan.upsert("user", "a", json!({"name": "Alice"}), None);
    let upserted = f.store.apply(plan).await.unwrap().into_entity(step);
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
    f.add_edges(f.add(b, &[a])).await;
    f.add_edges(f.add(c, &[a, b])).await;
    // Which of a, b, c have `a` as a member: b and c, keyed by subject.
    let fans = f
        .store
        .memberships_among(f.space.id, a, "r", &[a, b, c])
        .await
        .unwrap();
    assert_eq!(fans.len(), 2);
    assert_eq!((fans[&b].subject, fans[&b].member), (b, a));
    assert_eq!(fans[&c].subject, c);
    let following = f
        .store
        .edges_among(f.space.id, c, "r", &[a, b, c])
        .await
        .unwrap();
    assert_eq!(following.len(), 2);
    assert_eq!(following[&b].member, b);
}

async fn linked_entities_by_owner_or_membership(f: Fixture) {
    let (alice, bob) = (
        f.entity("user", "alice").await,
        f.entity("user", "bob").await,
    );
    let mut plan = f.plan(CREATED_AT);
    let steps = [
        ("owned", alice),
        ("followed", bob),
        ("both", alice),
        ("unrelated", bob),
    ]
    .map(|(key, owner)| plan.create("task", key, json!({}), Some(owner.into())));
    let applied = f.store.apply(plan).await.unwrap();
    let [owned, followed, both, unrelated] = steps.map(|step| applied.entity(step).id);
    let tasks = [owned, followed, both];
    let mut follow = f.add(tasks[1], &[alice]);
    follow.relation = "follower".into();
    f.add_edges(follow).await;
    let mut collaborate = f.add(tasks[2], &[alice]);
    collaborate.relation = "collaborator".into();
    f.add_edges(collaborate).await;
    let mut other_relation = f.add(unrelated, &[alice]);
    other_relation.relation = "other".into();
    f.add_edges(other_relation).await;

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
    let mut plan = f.plan(3);
    let steps: Vec<StepId> = (0..1200)
        .map(|i| {
            let key = format!("u{i}");
            plan.create("user", key.clone(), json!({ "name": key }), None)
        })
        .collect();
    let applied = f.store.apply(plan).await.unwrap();
    let created: Vec<Entity> = steps.iter().map(|&s| applied.entity(s).clone()).collect();
    assert_eq!(created.len(), 1200);
    assert_eq!(created[7].key, "u7");
    assert_eq!(created[7].attrs["name"], "u7");
    assert_eq!(
        f.store
            .entity(f.space.id, created[7].id)
            .await
            .unwrap()
            .unwrap(),
        created[7]
    );

    // One existing key refuses the whole plan.
    let mut plan = f.plan(3);
    plan.create("user", "fresh", json!({}), None);
    let taken = plan.create("user", "u3", json!({}), None);
    assert_eq!(
        refused(f.store.apply(plan).await),
        (taken, Refusal::KeyTaken)
    );
    let keys: Vec<String> = ["u0", "u1199", "fresh", "nobody"].map(String::from).into();
    let found = f
        .store
        .find_entities(f.space.id, "user", &keys)
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "the refused plan wrote nothing");
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
    f.apply(4, set_alias("name", "x", a)).await.unwrap();
    f.apply(4, remove_alias("name", "x", b)).await.unwrap();
    assert_eq!(
        refused(f.apply(4, set_alias("name", "x", b)).await),
        (StepId(0), Refusal::KeyTaken),
        "removing another entity's alias does nothing"
    );
    f.apply(4, remove_alias("name", "x", a)).await.unwrap();
    f.apply(4, set_alias("name", "x", b)).await.unwrap();
    let names = ["x".to_string()];
    assert_eq!(
        f.store
            .resolve_aliases(f.space.id, "name", &names)
            .await
            .unwrap()["x"],
        b
    );
}

/// An Update with `expect` writes only over the attrs it was read with.
async fn update_with_expect_refuses_changed_or_missing(f: Fixture) {
    let id = f.entity("user", "a").await;
    let read = f.store.entity(f.space.id, id).await.unwrap().unwrap();
    let mut plan = f.plan(5);
    let step = plan.update_from(&read, json!({"name": "a", "v": 1}));
    let first = f.store.apply(plan).await.unwrap().into_entity(step);
    assert_eq!(first.attrs, json!({"name": "a", "v": 1}));
    assert_eq!((first.created_at, first.updated_at), (CREATED_AT, 5));

    // `read` is stale now: a second read-modify-write from it is refused and changes nothing.
    let mut plan = f.plan(6);
    plan.update_from(&read, json!({"name": "a", "v": 2}));
    assert_eq!(
        refused(f.store.apply(plan).await),
        (StepId(0), Refusal::Changed)
    );
    assert_eq!(
        f.store.entity(f.space.id, id).await.unwrap(),
        Some(first.clone())
    );

    // `expect` sees the plan's own earlier writes; the refusal undoes them too.
    let mut plan = f.plan(7);
    plan.update(id, json!({"v": 3}));
    let stale = plan.update_from(&first, json!({"v": 4}));
    assert_eq!(
        refused(f.store.apply(plan).await),
        (stale, Refusal::Changed)
    );
    assert_eq!(
        f.store.entity(f.space.id, id).await.unwrap(),
        Some(first.clone())
    );

    // Racing read-modify-writes from one read: one wins, the others are refused.
    let mut tasks = Vec::new();
    for i in 0..16i64 {
        let mut plan = f.plan(10 + i);
        plan.update_from(&first, json!({ "writer": i }));
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move { (i, store.apply(plan).await) }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (i, Ok(_)) => winners.push(i),
            (_, lost) => assert_eq!(refused(lost), (StepId(0), Refusal::Changed)),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one read-modify-write commits");
    let stored = f.store.entity(f.space.id, id).await.unwrap().unwrap();
    assert_eq!(stored.attrs, json!({ "writer": winners[0] }));
    assert_eq!(stored.updated_at, 10 + winners[0]);

    // Missing, or in another space: not found, with or without `expect`.
    let other_space = f
        .store
        .ensure_space("test", "s2", &BTreeMap::new())
        .await
        .unwrap();
    let mut plan = WritePlan::new(other_space.id, CREATED_AT);
    let step = plan.create("user", "a", json!({}), None);
    let foreign = f.store.apply(plan).await.unwrap().into_entity(step);
    for entity in [999_999, foreign.id] {
        for expect in [None, Some(json!({}))] {
            let update = Step::Update {
                entity: entity.into(),
                attrs: json!({"v": 5}),
                expect,
            };
            assert_eq!(
                refused(f.apply(8, update).await),
                (StepId(0), Refusal::NotFound)
            );
        }
    }
    assert_eq!(
        f.store.entity(foreign.space_id, foreign.id).await.unwrap(),
        Some(foreign)
    );
}

/// An Upsert of the attrs already stored writes nothing new; other attrs replace them.
async fn upsert_keeps_or_replaces_attrs(f: Fixture) {
    let upsert = |now, attrs: Value| {
        let f = &f;
        async move {
            let mut plan = f.plan(now);
            let step = plan.upsert("user", "u", attrs, None);
            f.store.apply(plan).await.unwrap().into_entity(step)
        }
    };
    let created = upsert(3, json!({"name": "u", "tags": [1, 2]})).await;
    assert_eq!((created.created_at, created.updated_at), (3, 3));
    let same = upsert(5, json!({"tags": [1, 2], "name": "u"})).await;
    assert_eq!(same, created, "identical attrs keep updated_at");
    let replaced = upsert(9, json!({"name": "v"})).await;
    assert_eq!(replaced.id, created.id);
    assert_eq!(replaced.attrs, json!({"name": "v"}));
    assert_eq!((replaced.created_at, replaced.updated_at), (3, 9));
    assert_eq!(
        f.store.entity(f.space.id, created.id).await.unwrap(),
        Some(replaced)
    );
    let users = f.snapshot(&["user"], &[], &[]).await.entities;
    assert_eq!(users.len(), 1);
}

async fn prune_deletes_only_older_entities_of_its_kind(f: Fixture) {
    let mut plan = f.plan(10);
    let old = plan.create("code", "old", json!({}), None);
    plan.create("keep", "old", json!({}), None);
    plan.set_alias("code", "old-code", old);
    f.store.apply(plan).await.unwrap();
    let mut plan = f.plan(20);
    plan.create("code", "new", json!({}), None);
    f.store.apply(plan).await.unwrap();

    let mut plan = f.plan(30);
    plan.prune("code", 20);
    f.store.apply(plan).await.unwrap();
    let codes = ["old".to_string(), "new".to_string()];
    let found = f
        .store
        .find_entities(f.space.id, "code", &codes)
        .await
        .unwrap();
    assert_eq!(found.keys().collect::<Vec<_>>(), vec!["new"]);
    assert!(f
        .store
        .find_entity(f.space.id, "keep", "old")
        .await
        .unwrap()
        .is_some());
    let aliases = f
        .store
        .resolve_aliases(f.space.id, "code", &["old-code".to_string()])
        .await
        .unwrap();
    assert!(aliases.is_empty());
}

async fn aliases_and_targets_stay_in_their_space(f: Fixture) {
    let other = f
        .store
        .ensure_space("test", "elsewhere", &BTreeMap::new())
        .await
        .unwrap();
    let mut plan = WritePlan::new(other.id, 1);
    let stranger = plan.create("user", "stranger", json!({}), None);
    let stranger = f.store.apply(plan).await.unwrap().entity(stranger).id;
    let (step, refusal) = refused(f.apply(2, set_alias("n", "a", stranger)).await);
    assert_eq!((step, refusal), (StepId(0), Refusal::NotFound));
    let (_, refusal) = refused(f.apply(2, set_alias("n", "a", 999_999)).await);
    assert_eq!(refusal, Refusal::NotFound);
    // A plan naming a step that stores no entity, or a later one, is not run at all.
    let mut plan = f.plan(3);
    let alias = plan.set_alias("n", "b", Target::Created(StepId(1)));
    plan.create("user", "late", json!({}), None);
    plan.set_alias("n", "c", alias);
    assert!(matches!(
        f.store.apply(plan).await,
        Err(StoreError::Backend(_))
    ));
    assert!(f
        .store
        .find_entity(f.space.id, "user", "late")
        .await
        .unwrap()
        .is_none());
    // The store still takes writes afterwards.
    f.entity("user", "after").await;
}

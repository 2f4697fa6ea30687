//! A write plan is one transaction: refused whole or applied whole, its steps naming what
//! earlier steps created, one winner among racing plans for a key.

use super::*;

roster_store::on_both_backends!(super::fixture;
    aborted_and_committed_writes_side_by_side,
    refused_step_leaves_nothing_of_the_plan,
    created_targets_name_entities_of_the_same_plan,
    concurrent_plans_for_one_key_have_one_winner,
);

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
            req.members.push(Target::Existing(999_999));
            req.policy.abort_on_unknown = true;
        }
        let plan = one_step(f.space.id, EDGES_AT, Step::AddEdges(req));
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move {
            (user, aborting, store.apply(plan).await)
        }));
    }
    for task in tasks {
        let (user, aborting, result) = task.await.unwrap();
        if aborting {
            let aborted = vec![(user, Outcome::Aborted), (999_999, Outcome::UnknownMember)];
            assert_eq!(refused(result), (StepId(0), Refusal::Aborted(aborted)));
        } else {
            assert_eq!(
                result.unwrap().outcomes(StepId(0)),
                [(user, Outcome::Added)]
            );
        }
    }
    let present = f
        .store
        .edges_among(f.space.id, tag, "r", &users)
        .await
        .unwrap();
    for (i, user) in users.iter().enumerate() {
        assert_eq!(present.contains_key(user), i % 2 == 0, "user {i}");
    }
    assert_eq!(f.count(tag, "r", Direction::Members).await, 16);
}

/// A refused step rolls back every step before it: entities, aliases, edges and counters read
/// back exactly as before, and the error names the refused step.
async fn refused_step_leaves_nothing_of_the_plan(f: Fixture) {
    let (holder, x) = (
        f.entity("user", "holder").await,
        f.entity("user", "x").await,
    );
    let tag = f.entity("tag", "t").await;
    for (alias, entity) in [("taken", holder), ("other", holder), ("x", x)] {
        f.apply(2, set_alias("name", alias, entity)).await.unwrap();
    }
    f.add_edges(f.add(tag, &[holder, x])).await;
    f.add_edges(f.add(x, &[holder])).await;
    let names = ["taken", "other", "x", "fresh"];
    let snapshot = || f.snapshot(&["user", "tag"], &names, &["r", "s"]);
    let before = snapshot().await;

    // Every kind of write, then an alias another entity holds.
    let mut plan = f.plan(7);
    let newbie = plan.create("user", "newbie", json!({}), None);
    plan.set_alias("name", "fresh", newbie);
    let mut add = AddEdges::new(tag, "s", vec![newbie.into(), x.into(), holder.into()]);
    add.caps.members_per_subject = Some(10);
    plan.add_edges(add);
    plan.add_edges(AddEdges::new(newbie, "r", targets(&[x, holder])));
    plan.update(x, json!({"name": "changed"}));
    plan.upsert("user", "holder", json!({"name": "replaced"}), None);
    plan.upsert("user", "upserted", json!({}), None);
    plan.remove_edges(f.remove(tag, &[holder]));
    plan.remove_alias("name", "other", holder);
    let taken = plan.set_alias("name", "taken", newbie);
    plan.create("user", "after", json!({}), None);
    assert_eq!(
        refused(f.store.apply(plan).await),
        (taken, Refusal::KeyTaken)
    );
    assert_eq!(snapshot().await, before);

    // A delete (of edges, counters and an alias), then a key that exists.
    let mut plan = f.plan(8);
    plan.remove_edges(f.remove(x, &[holder]));
    plan.delete(x);
    let existing = plan.create("tag", "t", json!({}), None);
    assert_eq!(
        refused(f.store.apply(plan).await),
        (existing, Refusal::KeyTaken)
    );
    assert_eq!(snapshot().await, before);

    // A batch aborted by its policy; its members see the plan's earlier steps (holder is
    // gone, the new user exists), and none of them is kept.
    let mut plan = f.plan(9);
    plan.delete(holder);
    let newbie = plan.create("user", "newbie", json!({}), None);
    let mut add = AddEdges::new(tag, "r", vec![newbie.into(), holder.into()]);
    add.policy.abort_on_unknown = true;
    let aborted = plan.add_edges(add);
    let (step, refusal) = refused(f.store.apply(plan).await);
    assert_eq!(step, aborted);
    let Refusal::Aborted(outcomes) = refusal else {
        panic!("expected an aborted batch, got {refusal:?}");
    };
    assert_eq!(outcomes[0].1, Outcome::Aborted);
    assert_eq!(outcomes[1], (holder, Outcome::UnknownMember));
    assert_eq!(snapshot().await, before);
}

/// Later steps name the entities earlier steps create; the results come back per step.
async fn created_targets_name_entities_of_the_same_plan(f: Fixture) {
    let owner = f.entity("user", "owner").await;
    let (u1, u2, u3) = (
        f.entity("user", "u1").await,
        f.entity("user", "u2").await,
        f.entity("user", "u3").await,
    );
    let elsewhere = f.entity("tag", "elsewhere").await;
    f.add_edges(f.add(elsewhere, &[u2])).await;

    let mut plan = f.plan(7);
    let tag = plan.create("tag", "eng", json!({"name": "eng"}), Some(owner.into()));
    let named = plan.set_alias("name", "eng", tag);
    let newbie = plan.create("user", "newbie", json!({}), Some(tag.into()));
    let members = vec![u1.into(), u2.into(), newbie.into(), u3.into(), u1.into()];
    let mut add = AddEdges::new(tag, "r", members);
    add.caps = Caps {
        members_per_subject: Some(2),
        subjects_per_member: Some(1),
    };
    let added = plan.add_edges(add);
    let follows = plan.add_edges(AddEdges::new(newbie, "follows", vec![tag.into()]));
    let counted = plan.update(tag, json!({"name": "eng", "members": 2}));
    let applied = f.store.apply(plan).await.unwrap();

    assert_eq!(applied.results.len(), 6);
    assert_eq!(applied.results[named.0], StepResult::Done);
    let created = applied.entity(tag);
    let tag_id = created.id;
    assert_eq!(
        (created.kind.as_str(), created.key.as_str(), created.owner),
        ("tag", "eng", Some(owner))
    );
    assert_eq!((created.created_at, created.updated_at), (7, 7));
    let newbie_id = applied.entity(newbie).id;
    assert_eq!(applied.entity(newbie).owner, Some(tag_id));
    assert_eq!(
        applied.outcomes(added),
        [
            (u1, Outcome::Added),
            (u2, Outcome::MemberFull),
            (newbie_id, Outcome::Added),
            (u3, Outcome::SubjectFull)
        ]
    );
    assert_eq!(applied.outcomes(follows), [(tag_id, Outcome::Added)]);
    let counted = applied.entity(counted);
    assert_eq!(counted.id, tag_id);
    assert_eq!(counted.attrs["members"], 2);

    // As stored.
    assert_eq!(
        f.store.entity(f.space.id, tag_id).await.unwrap().as_ref(),
        Some(counted)
    );
    assert_eq!(
        f.store
            .entity(f.space.id, newbie_id)
            .await
            .unwrap()
            .as_ref(),
        Some(applied.entity(newbie))
    );
    let eng = ["eng".to_string()];
    let resolved = f.store.resolve_aliases(f.space.id, "name", &eng).await;
    assert_eq!(resolved.unwrap()["eng"], tag_id);
    let members = f
        .store
        .edges_among(f.space.id, tag_id, "r", &[u1, u2, newbie_id, u3])
        .await
        .unwrap();
    let mut members: Vec<EntityId> = members.into_keys().collect();
    members.sort();
    assert_eq!(members, [u1, newbie_id]);
    let all = [owner, u1, u2, u3, elsewhere, tag_id, newbie_id];
    f.assert_counters_match_edges(&all, &["r", "follows"]).await;
    assert_eq!(f.count(tag_id, "r", Direction::Members).await, 2);
    assert_eq!(f.count(tag_id, "follows", Direction::Memberships).await, 1);
}

/// Racing plans for one entity key, or one alias: the key decides, exactly one plan commits
/// and every other one is refused whole.
async fn concurrent_plans_for_one_key_have_one_winner(f: Fixture) {
    let mut tasks = Vec::new();
    for i in 0..16i64 {
        let mut plan = f.plan(i);
        let created = plan.create("user", "same", json!({ "writer": i }), None);
        plan.set_alias("name", format!("writer{i}"), created);
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move { (i, store.apply(plan).await) }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (i, Ok(applied)) => winners.push((i, applied.entity(StepId(0)).clone())),
            (_, lost) => assert_eq!(refused(lost), (StepId(0), Refusal::KeyTaken)),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create commits");
    let (writer, winner) = winners.pop().unwrap();
    assert_eq!(winner.attrs["writer"], writer);
    let users = f.snapshot(&["user"], &[], &[]).await.entities;
    assert_eq!(users, std::slice::from_ref(&winner));
    let names: Vec<String> = (0..16).map(|i| format!("writer{i}")).collect();
    let aliases = f
        .store
        .resolve_aliases(f.space.id, "name", &names)
        .await
        .unwrap();
    assert_eq!(
        aliases.into_iter().collect::<Vec<_>>(),
        [(format!("writer{writer}"), winner.id)],
        "the losers' aliases were rolled back with their creates"
    );

    let mut members = Vec::new();
    for i in 0..16 {
        members.push(f.entity("member", &format!("m{i}")).await);
    }
    let mut tasks = Vec::new();
    for &member in &members {
        let plan = one_step(f.space.id, 2, set_alias("name", "shared", member));
        let store = f.store.clone();
        tasks.push(tokio::spawn(
            async move { (member, store.apply(plan).await) },
        ));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (member, Ok(_)) => winners.push(member),
            (_, lost) => assert_eq!(refused(lost), (StepId(0), Refusal::KeyTaken)),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one alias commits");
    let shared = ["shared".to_string()];
    let resolved = f.store.resolve_aliases(f.space.id, "name", &shared).await;
    assert_eq!(resolved.unwrap()["shared"], winners[0]);
    let named = f.store.aliases_of(f.space.id, "name", &members).await;
    assert_eq!(named.unwrap().len(), 1);
}

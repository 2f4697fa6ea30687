//! Edges and their counters: batch outcomes, caps, reciprocal edges, concurrent writers and
//! deletes, with every counter equal to the edges it counts.

use std::collections::HashMap;

use super::*;

roster_store::on_both_backends!(super::fixture;
    batch_outcomes_and_counters,
    abort_policy_writes_nothing,
    caps_per_member_and_subject,
    reciprocal_edges_follow_both_directions,
    concurrent_adds_never_exceed_cap,
    concurrent_reciprocal_adds_stay_symmetric,
    large_batches_keep_order_and_counts,
    members_of_many_subjects_in_one_read,
    delete_entity_keeps_counts_exact,
    delete_adjusts_the_counters_of_the_other_ends,
    counters_of_several_relations_in_one_read,
);

async fn batch_outcomes_and_counters(f: Fixture) {
    let task = f.entity("task", "t1").await;
    let (a, b) = (f.entity("user", "a").await, f.entity("user", "b").await);
    let other_space = f
        .store
        .ensure_space("test", "s2", &BTreeMap::new())
        .await
        .unwrap();
    let mut plan = WritePlan::new(other_space.id, CREATED_AT);
    let step = plan.create("user", "x", json!({}), None);
    let foreign = f.store.apply(plan).await.unwrap().entity(step).id;
    let out = f.add_edges(f.add(task, &[a, a, foreign, 999_999])).await;
    assert_eq!(
        out,
        vec![
            (a, Outcome::Added),
            (foreign, Outcome::UnknownMember),
            (999_999, Outcome::UnknownMember)
        ]
    );
    let out = f.add_edges(f.add(task, &[a, b, task])).await;
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
    let removed = f.remove_edges(f.remove(task, &[a, a, b, b])).await;
    // b is listed twice: one outcome per distinct member.
    assert_eq!(removed, vec![(a, Outcome::Removed), (b, Outcome::Removed)]);
    assert_eq!(f.count(task, "r", Direction::Members).await, 0);
    assert_eq!(f.count(b, "r", Direction::Memberships).await, 0);
    // A subject of another space is not found.
    let foreign_subject = Step::AddEdges(f.add(foreign, &[a]));
    assert_eq!(
        refused(f.apply(EDGES_AT, foreign_subject).await),
        (StepId(0), Refusal::NotFound)
    );
}

async fn abort_policy_writes_nothing(f: Fixture) {
    let task = f.entity("task", "t1").await;
    let a = f.entity("user", "a").await;
    let mut req = f.add(task, &[a, 424_242]);
    req.policy.abort_on_unknown = true;
    assert_eq!(
        refused(f.apply(EDGES_AT, Step::AddEdges(req)).await),
        (
            StepId(0),
            Refusal::Aborted(vec![
                (a, Outcome::Aborted),
                (424_242, Outcome::UnknownMember)
            ])
        )
    );
    assert_eq!(f.count(task, "r", Direction::Members).await, 0);
    assert_eq!(f.count(a, "r", Direction::Memberships).await, 0);
    // Aborted by a cap, after another step: neither is written.
    let mut plan = f.plan(EDGES_AT);
    let b = plan.create("user", "b", json!({}), None);
    let mut req = AddEdges::new(task, "r", vec![a.into(), b.into()]);
    req.caps.members_per_subject = Some(0);
    req.policy.abort_on_full = true;
    let add = plan.add_edges(req);
    let result = f.store.apply(plan).await;
    assert!(matches!(
        &result,
        Err(StoreError::Refused { step, refusal: Refusal::Aborted(_) }) if *step == add
    ));
    // batch_outcomes reads the outcomes of an aborted batch as of a committed one.
    let outcomes = batch_outcomes(result, add).unwrap();
    assert_eq!(outcomes[0], (a, Outcome::SubjectFull));
    assert_eq!(outcomes[1].1, Outcome::SubjectFull);
    assert!(f
        .store
        .edges_among(f.space.id, task, "r", &[a])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(f.count(task, "r", Direction::Members).await, 0);
    assert!(f
        .store
        .find_entity(f.space.id, "user", "b")
        .await
        .unwrap()
        .is_none());
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
    let out = f.add_edges(req).await;
    assert_eq!(out[2], (users[2], Outcome::SubjectFull));
    assert_eq!(f.count(t1, "r", Direction::Members).await, 2);
    let mut req = f.add(t2, &users);
    req.caps.subjects_per_member = Some(1);
    let out = f.add_edges(req).await;
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
    assert_eq!(f.add_edges(follow(a, b)).await[0].1, Outcome::Added);
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 0);
    assert_eq!(f.add_edges(follow(b, a)).await[0].1, Outcome::Added);
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 1);
    assert_eq!(f.count(b, "mutual", Direction::Members).await, 1);
    // a already has its one mutual partner: c -> a then a -> c is refused on a's side.
    assert_eq!(f.add_edges(follow(c, a)).await[0].1, Outcome::Added);
    assert_eq!(
        f.add_edges(follow(a, c)).await[0].1,
        Outcome::SubjectReciprocalFull
    );
    assert_eq!(f.add_edges(follow(c, b)).await[0].1, Outcome::Added);
    assert_eq!(
        f.add_edges(follow(b, c)).await[0].1,
        Outcome::SubjectReciprocalFull
    );
    let mut unfollow = f.remove(b, &[a]);
    unfollow.reciprocal = Some("mutual".into());
    assert_eq!(f.remove_edges(unfollow).await[0].1, Outcome::Removed);
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 0);
    assert_eq!(f.count(b, "mutual", Direction::Members).await, 0);
    assert_eq!(f.count(a, "mutual", Direction::Memberships).await, 0);
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
        let plan = one_step(f.space.id, EDGES_AT, Step::AddEdges(req));
        let store = f.store.clone();
        tasks.push(tokio::spawn(
            async move { store.apply(plan).await.unwrap() },
        ));
    }
    let mut added = 0;
    for task in tasks {
        added += task
            .await
            .unwrap()
            .outcomes(StepId(0))
            .iter()
            .filter(|(_, o)| *o == Outcome::Added)
            .count() as i64;
    }
    assert_eq!(added, cap);
    assert_eq!(f.count(tag, "r", Direction::Members).await, cap);
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
        let mut remove = f.remove(from, &[to]);
        remove.reciprocal = Some("mutual".into());
        let add = one_step(f.space.id, EDGES_AT, Step::AddEdges(add));
        let remove = one_step(f.space.id, EDGES_AT, Step::RemoveEdges(remove));
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move {
            store.apply(add).await.unwrap();
            if round % 4 == 0 {
                store.apply(remove).await.unwrap();
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
                .edges_among(f.space.id, x, relation, &users)
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

/// Batches larger than one statement's chunk: order, caps and counters stay exact.
async fn large_batches_keep_order_and_counts(f: Fixture) {
    let tag = f.entity("tag", "t").await;
    let mut plan = f.plan(CREATED_AT);
    let steps: Vec<StepId> = (0..1300)
        .map(|i| plan.create("user", format!("u{i}"), json!({}), None))
        .collect();
    let applied = f.store.apply(plan).await.unwrap();
    let users: Vec<EntityId> = steps.iter().map(|&s| applied.entity(s).id).collect();
    // Reversed, so the insertion order differs from the id order.
    let mut batch: Vec<EntityId> = users[..1200].iter().rev().copied().collect();
    batch.push(batch[0]);
    let mut req = f.add(tag, &batch);
    req.caps.members_per_subject = Some(1250);
    let out = f.add_edges(req).await;
    assert_eq!(out.len(), 1200, "duplicates collapse");
    assert!(out.iter().all(|(_, o)| *o == Outcome::Added));
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .store
            .list_edges(
                f.space.id,
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
    let out = f.add_edges(req).await;
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

async fn members_of_many_subjects_in_one_read(f: Fixture) {
    let (t1, t2, t3) = (
        f.entity("task", "t1").await,
        f.entity("task", "t2").await,
        f.entity("task", "t3").await,
    );
    let (a, b) = (f.entity("user", "a").await, f.entity("user", "b").await);
    f.add_edges(f.add(t1, &[b, a])).await;
    f.add_edges(f.add(t2, &[a])).await;
    let members = f
        .store
        .members_of(f.space.id, &[t1, t2, t3], "r")
        .await
        .unwrap();
    assert_eq!(members[&t1], vec![b, a], "in the order they were added");
    assert_eq!(members[&t2], vec![a]);
    assert!(!members.contains_key(&t3));
    let other = f
        .store
        .members_of(f.space.id, &[t1], "other")
        .await
        .unwrap();
    assert!(other.is_empty());
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
        f.add_edges(req).await;
    }
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 2);
    f.apply(2, Step::Delete { entity: a.into() }).await.unwrap();
    assert_eq!(f.count(b, "r", Direction::Members).await, 1);
    assert_eq!(f.count(b, "r", Direction::Memberships).await, 0);
    assert_eq!(f.count(c, "r", Direction::Memberships).await, 1);
    assert_eq!(f.count(c, "r", Direction::Members).await, 0);
    assert_eq!(f.count(b, "mutual", Direction::Members).await, 0);
    assert_eq!(f.count(c, "mutual", Direction::Members).await, 0);
    assert!(f.store.entity(f.space.id, a).await.unwrap().is_none());
    assert_eq!(
        refused(f.apply(3, Step::Delete { entity: a.into() }).await),
        (StepId(0), Refusal::NotFound)
    );
}

/// Deleting an entity takes its edges off the counters of the entities on their other ends,
/// whichever side it was on and under every relation.
async fn delete_adjusts_the_counters_of_the_other_ends(f: Fixture) {
    let (a, b, c, d) = (
        f.entity("user", "a").await,
        f.entity("user", "b").await,
        f.entity("user", "c").await,
        f.entity("user", "d").await,
    );
    let relations = ["r", "s", "mutual"];
    let mut plan = f.plan(EDGES_AT);
    plan.add_edges(AddEdges::new(a, "r", targets(&[b, c, d])));
    plan.add_edges(AddEdges::new(b, "r", targets(&[a, c])));
    plan.add_edges(AddEdges::new(c, "s", targets(&[a])));
    plan.add_edges(AddEdges::new(a, "s", targets(&[c, d])));
    let mut own = AddEdges::new(a, "s", targets(&[a]));
    own.allow_self = true;
    plan.add_edges(own);
    let mut follow = AddEdges::new(d, "r", targets(&[a, b]));
    follow.reciprocal = Some(Reciprocal {
        relation: "mutual".into(),
        max_per_entity: None,
    });
    plan.add_edges(follow);
    plan.set_alias("name", "a", a);
    f.store.apply(plan).await.unwrap();
    f.assert_counters_match_edges(&[a, b, c, d], &relations)
        .await;
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 1);
    assert_eq!(f.count(c, "r", Direction::Memberships).await, 2);

    f.apply(2, Step::Delete { entity: a.into() }).await.unwrap();
    assert!(f.store.entity(f.space.id, a).await.unwrap().is_none());
    f.assert_counters_match_edges(&[b, c, d], &relations).await;
    assert_eq!(f.counts(b, "r").await, (1, 1));
    assert_eq!(f.counts(c, "r").await, (0, 1));
    assert_eq!(f.counts(c, "s").await, (0, 0));
    assert_eq!(f.counts(d, "r").await, (1, 0));
    assert_eq!(f.counts(d, "s").await, (0, 0));
    assert_eq!(f.counts(d, "mutual").await, (0, 0));
    for relation in relations {
        assert_eq!(f.counts(a, relation).await, (0, 0));
    }
    // Its alias went with it.
    f.apply(3, set_alias("name", "a", b)).await.unwrap();

    // An entity created, linked and deleted in one plan leaves every counter as it was.
    let before = f.snapshot(&["user"], &["a"], &relations).await;
    let mut plan = f.plan(4);
    let e = plan.create("user", "e", json!({}), None);
    plan.add_edges(AddEdges::new(e, "r", targets(&[b, c])));
    plan.add_edges(AddEdges::new(c, "s", vec![e.into()]));
    plan.delete(e);
    f.store.apply(plan).await.unwrap();
    assert_eq!(f.snapshot(&["user"], &["a"], &relations).await, before);
}

async fn counters_of_several_relations_in_one_read(f: Fixture) {
    let (a, b, c) = (
        f.entity("user", "a").await,
        f.entity("user", "b").await,
        f.entity("user", "c").await,
    );
    f.add_edges(f.add(a, &[b, c])).await;
    f.add_edges(AddEdges::new(b, "s", targets(&[a]))).await;
    let counted = [
        ("r", Direction::Members),
        ("r", Direction::Memberships),
        ("s", Direction::Members),
        ("never used", Direction::Members),
    ];
    let counters = f
        .store
        .counters(f.space.id, &[a, b, c, 999_999], &counted)
        .await
        .unwrap();
    let expected: Vec<HashMap<EntityId, i64>> = vec![
        [(a, 2), (b, 0), (c, 0), (999_999, 0)].into(),
        [(a, 0), (b, 1), (c, 1), (999_999, 0)].into(),
        [(a, 0), (b, 1), (c, 0), (999_999, 0)].into(),
        [(a, 0), (b, 0), (c, 0), (999_999, 0)].into(),
    ];
    assert_eq!(counters, expected);
}

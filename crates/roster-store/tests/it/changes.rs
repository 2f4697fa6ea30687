//! The change log of committed plans and the delivery cursor that follows it.

use super::*;

roster_store::on_both_backends!(super::fixture;
    change_log_records_what_committed_plans_changed,
    delivery_cursor_moves_from_where_it_is,
);

/// (op, subject key, relation, member key) of each change.
fn summary(changes: &[Change]) -> Vec<(ChangeOp, &str, Option<&str>, Option<&str>)> {
    changes
        .iter()
        .map(|c| {
            (
                c.op,
                c.subject.key.as_str(),
                c.relation.as_deref(),
                c.member.as_ref().map(|m| m.key.as_str()),
            )
        })
        .collect()
}

async fn change_log_records_what_committed_plans_changed(f: Fixture) {
    let a = f.entity("user", "a").await;
    let b = f.entity("user", "b").await;
    let start = changes_after(&f, 0).await;
    assert_eq!(
        summary(&start),
        [
            (ChangeOp::EntityCreated, "a", None, None),
            (ChangeOp::EntityCreated, "b", None, None)
        ]
    );
    let mark = start.last().unwrap().seq;

    // One plan: its changes share a plan number and the plan's context.
    let mut plan = f.plan(EDGES_AT);
    plan.context = Some(json!({ "operator": "x" }));
    plan.push(Step::AddEdges(f.add(a, &[b])));
    f.store.apply(plan).await.unwrap();
    // Nothing changes: nothing recorded.
    f.add_edges(f.add(a, &[b])).await;
    // A refused plan records nothing, though its first step did change something.
    let mut plan = f.plan(EDGES_AT);
    plan.push(Step::AddEdges(f.add(b, &[a])));
    plan.create("user", "a", json!({}), None);
    refused(f.store.apply(plan).await);
    // Deleting an entity records the edges it was on, then the entity.
    f.apply(EDGES_AT, Step::Delete { entity: b.into() })
        .await
        .unwrap();

    let changes = changes_after(&f, mark).await;
    assert_eq!(
        summary(&changes),
        [
            (ChangeOp::EdgeAdded, "a", Some("r"), Some("b")),
            (ChangeOp::EdgeRemoved, "a", Some("r"), Some("b")),
            (ChangeOp::EntityDeleted, "b", None, None),
        ]
    );
    assert_eq!(changes[0].context, Some(json!({ "operator": "x" })));
    assert_eq!(changes[0].at, EDGES_AT);
    assert_eq!(changes[1].plan, changes[2].plan);
    assert_ne!(changes[0].plan, changes[1].plan);
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    // Paged from any point.
    assert_eq!(changes_after(&f, changes[0].seq).await, changes[1..]);
    assert_eq!(
        f.store.changes(f.space.id, mark, 1).await.unwrap(),
        changes[..1]
    );
}

async fn delivery_cursor_moves_from_where_it_is(f: Fixture) {
    let store = &f.store;
    assert_eq!(store.delivery_cursor(f.space.id).await.unwrap(), None);
    assert!(store
        .advance_delivery_cursor(f.space.id, 0, 0)
        .await
        .unwrap());
    assert_eq!(store.delivery_cursor(f.space.id).await.unwrap(), Some(0));
    assert!(store
        .advance_delivery_cursor(f.space.id, 0, 5)
        .await
        .unwrap());
    // Another process moved it first: refused, and it stays.
    assert!(!store
        .advance_delivery_cursor(f.space.id, 0, 7)
        .await
        .unwrap());
    assert!(!store
        .advance_delivery_cursor(f.space.id, 3, 7)
        .await
        .unwrap());
    assert_eq!(store.delivery_cursor(f.space.id).await.unwrap(), Some(5));

    let resend = Resend {
        due_ms: 1_000,
        then_ms: vec![2_000],
        timeout_ms: 500,
        acceptance: Acceptance::Ok,
    };
    let attempt = DeliveryAttempt {
        id: 0,
        space: f.space.id,
        change_seq: 5,
        event: "e".into(),
        method: CallbackMethod::Get,
        url: "http://127.0.0.1:9/".into(),
        headers: vec![("Content-Type".into(), "text/xml".into())],
        request: "<xml/>".into(),
        attempt: 1,
        at: 10,
        status: None,
        response: String::new(),
        error: Some("connection refused".into()),
        resend: Some(resend.clone()),
    };
    let first = store.record_attempt(&attempt, None).await.unwrap();
    let pending = store.pending_resends(f.space.id).await.unwrap();
    assert_eq!(
        pending,
        [DeliveryAttempt {
            id: first,
            ..attempt.clone()
        }]
    );
    // One claimant wins a re-send; one that read it before loses it.
    let claimed = Resend {
        due_ms: 9_000,
        ..resend.clone()
    };
    assert!(store
        .claim_resend((f.space.id, first), &resend, &claimed)
        .await
        .unwrap());
    assert!(!store
        .claim_resend((f.space.id, first), &resend, &claimed)
        .await
        .unwrap());
    let pending = store.pending_resends(f.space.id).await.unwrap();
    assert_eq!(pending[0].resend, Some(claimed.clone()));
    assert!(store
        .claim_resend((f.space.id, first), &claimed, &resend)
        .await
        .unwrap());
    // The re-send, answered, ends the pending one in the same write.
    let answered = DeliveryAttempt {
        attempt: 2,
        status: Some(200),
        response: "ok".into(),
        error: None,
        resend: None,
        ..attempt.clone()
    };
    let second = store.record_attempt(&answered, Some(first)).await.unwrap();
    assert_eq!(store.pending_resends(f.space.id).await.unwrap(), []);
    let listed = store.attempts(Some(f.space.id), 0, 10).await.unwrap();
    assert_eq!(
        listed,
        [
            DeliveryAttempt {
                id: first,
                resend: None,
                ..attempt.clone()
            },
            DeliveryAttempt {
                id: second,
                ..answered
            }
        ]
    );
    assert_eq!(store.attempts(None, first, 10).await.unwrap(), listed[1..]);

    // A receiver change drops what is still to come.
    let third = store.record_attempt(&attempt, None).await.unwrap();
    assert_eq!(store.pending_resends(f.space.id).await.unwrap().len(), 1);
    store.drop_resends(f.space.id).await.unwrap();
    assert_eq!(store.pending_resends(f.space.id).await.unwrap(), []);
    assert!(!store
        .claim_resend((f.space.id, third), &resend, &claimed)
        .await
        .unwrap());
}

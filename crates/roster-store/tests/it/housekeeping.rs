//! What the housekeeping pass does outside plans: statistics refreshed, histories past the
//! retention horizon removed.

use super::*;

roster_store::on_both_backends!(super::fixture;
    statistics_are_refreshed_outside_plans,
    retention_removes_whole_plans_whose_callbacks_are_done,
);

/// A plan of many rows gathers no statistics itself: the housekeeping pass's
/// `refresh_statistics` finds the tables it grew (once PostgreSQL's activity counts, sent
/// within a second or so, show it) and analyzes them, once. SQLite keeps none.
async fn statistics_are_refreshed_outside_plans(f: Fixture) {
    let mut plan = f.plan(CREATED_AT);
    for i in 0..1300 {
        plan.create("user", format!("u{i}"), json!({}), None);
    }
    f.store.apply(plan).await.unwrap();
    if f._database.is_none() {
        assert_eq!(
            f.store.refresh_statistics().await.unwrap(),
            Vec::<String>::new()
        );
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let refreshed = f.store.refresh_statistics().await.unwrap();
        if refreshed.contains(&"entities".to_string()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "entities never analyzed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let again = f.store.refresh_statistics().await.unwrap();
    assert!(!again.contains(&"entities".to_string()), "{again:?}");
}

async fn retention_removes_whole_plans_whose_callbacks_are_done(f: Fixture) {
    let store = &f.store;
    let space = f.space.id;
    let [a, b, c] = [
        f.entity("user", "a").await,
        f.entity("user", "b").await,
        f.entity("user", "c").await,
    ];
    // Three plans of two changes each, at 10, 20 and 30.
    for (at, subject, members) in [(10, a, [b, c]), (20, b, [a, c]), (30, c, [a, b])] {
        f.apply(at, Step::AddEdges(f.add(subject, &members)))
            .await
            .unwrap();
    }
    let all = changes_after(&f, 0).await;
    assert_eq!(all.len(), 9);
    let (p1_end, p2_end) = (all[4].seq, all[6].seq);
    let span = store.change_span(space).await.unwrap();
    assert_eq!(
        span,
        ChangeSpan {
            pruned_through: 0,
            oldest: Some(all[0].seq),
            last: all[8].seq
        }
    );

    // Nothing goes before the delivery cursor is set, nor past it.
    assert_eq!(store.prune_changes(space, 25, 1000).await.unwrap(), 0);
    store
        .advance_delivery_cursor(space, 0, all[8].seq)
        .await
        .unwrap();
    // A callback of the second plan is still to be re-sent: that plan stays, whole.
    let pending = DeliveryAttempt {
        id: 0,
        space,
        change_seq: p2_end,
        event: "e".into(),
        method: CallbackMethod::Post,
        url: "http://127.0.0.1:9/".into(),
        headers: vec![],
        request: "{}".into(),
        attempt: 1,
        at: 20,
        status: Some(500),
        response: String::new(),
        error: None,
        resend: Some(Resend {
            due_ms: 0,
            then_ms: vec![],
            timeout_ms: 1,
            acceptance: Acceptance::Ok,
        }),
    };
    let pending_id = store.record_attempt(&pending, None).await.unwrap();
    let delivered = DeliveryAttempt {
        status: Some(200),
        resend: None,
        at: 10,
        ..pending.clone()
    };
    store.record_attempt(&delivered, None).await.unwrap();
    assert_eq!(store.prune_changes(space, 25, 1000).await.unwrap(), 5);
    assert_eq!(store.prune_changes(space, 25, 1000).await.unwrap(), 0);
    assert_eq!(changes_after(&f, 0).await, all[5..]);
    let span = store.change_span(space).await.unwrap();
    assert_eq!(
        (span.pruned_through, span.oldest),
        (p1_end, Some(all[5].seq))
    );
    assert!(span.lost(0) && !span.lost(p1_end));

    // Given up: the second plan goes; the third is within the horizon.
    store.drop_resends(space).await.unwrap();
    assert_eq!(store.prune_changes(space, 25, 1000).await.unwrap(), 2);
    assert_eq!(changes_after(&f, 0).await, all[7..]);
    // Attempts made before the horizon with no re-send to come go; the kept count.
    store.record_attempt(&pending, None).await.unwrap();
    assert_eq!(store.prune_attempts(space, 25, 1000).await.unwrap(), 2);
    let kept = store.attempts(Some(space), 0, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].id > pending_id && kept[0].resend.is_some());

    // Everything past the horizon: the log is empty but remembers where it ended.
    assert_eq!(
        store.prune_changes(space, 31, 1000).await.unwrap(),
        0,
        "a re-send holds it"
    );
    store.drop_resends(space).await.unwrap();
    assert_eq!(store.prune_changes(space, 31, 1000).await.unwrap(), 2);
    let span = store.change_span(space).await.unwrap();
    assert_eq!(
        span,
        ChangeSpan {
            pruned_through: all[8].seq,
            oldest: None,
            last: all[8].seq
        }
    );
    assert_eq!(span.first_available(), all[8].seq + 1);
    let stats = store.history_stats().await.unwrap();
    assert_eq!((stats.change_rows, stats.oldest_change_at), (0, None));
    assert!(stats.database_bytes > 0);
    store.reclaim(1000).await.unwrap();
}

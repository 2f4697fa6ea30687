//! Keyset pages of edges: stable under writes, and with what is read of their other ends.

use super::*;

roster_store::on_both_backends!(super::fixture;
    keyset_paging_is_stable,
    edge_pages_read_the_other_end_with_each_edge,
);

async fn keyset_paging_is_stable(f: Fixture) {
    let chat = f.entity("chat", "c").await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(f.entity("user", &format!("u{i}")).await);
    }
    f.add_edges(f.add(chat, &users)).await;
    let page = |after, newest_first| PageRequest {
        after,
        limit: 2,
        newest_first,
    };
    let first = f
        .store
        .list_edges(f.space.id, chat, "r", Direction::Members, page(None, false))
        .await
        .unwrap();
    assert_eq!(
        first.items.iter().map(|e| e.member).collect::<Vec<_>>(),
        users[..2]
    );
    // A member removed before the cursor and one added after do not shift the next page.
    f.remove_edges(f.remove(chat, &[users[0]])).await;
    let second = f
        .store
        .list_edges(
            f.space.id,
            chat,
            "r",
            Direction::Members,
            page(first.next, false),
        )
        .await
        .unwrap();
    assert_eq!(
        second.items.iter().map(|e| e.member).collect::<Vec<_>>(),
        users[2..4]
    );
    let third = f
        .store
        .list_edges(
            f.space.id,
            chat,
            "r",
            Direction::Members,
            page(second.next, false),
        )
        .await
        .unwrap();
    assert_eq!(
        third.items.iter().map(|e| e.member).collect::<Vec<_>>(),
        users[4..]
    );
    assert_eq!(third.next, None);
    let newest = f
        .store
        .list_edges(f.space.id, chat, "r", Direction::Members, page(None, true))
        .await
        .unwrap();
    assert_eq!(newest.items[0].member, users[4]);
    let reverse = f
        .store
        .list_edges(
            f.space.id,
            users[3],
            "r",
            Direction::Memberships,
            page(None, false),
        )
        .await
        .unwrap();
    assert_eq!(reverse.items.len(), 1);
    assert_eq!(reverse.items[0].subject, chat);
    assert_eq!(reverse.items[0].created_at, EDGES_AT);
}

/// A page read with the entities or aliases at the other ends is the page of `list_edges`
/// with what `entities` and `aliases_of` say of those ends, page by page, either way round.
async fn edge_pages_read_the_other_end_with_each_edge(f: Fixture) {
    let chat = f.entity("chat", "c").await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(f.entity("user", &format!("u{i}")).await);
    }
    // u2 has no alias in the namespace; u4 has one only in another.
    for i in [0, 1, 3] {
        let alias = format!("ou_{i}");
        f.apply(2, set_alias("open_id/app1", &alias, users[i]))
            .await
            .unwrap();
    }
    f.apply(2, set_alias("open_id/app2", "ou_x", users[4]))
        .await
        .unwrap();
    f.add_edges(f.add(chat, &users)).await;
    let other_chat = f.entity("chat", "d").await;
    f.add_edges(f.add(other_chat, &users[3..4])).await;
    let lists = [
        (chat, Direction::Members),
        (users[3], Direction::Memberships),
    ];
    for (entity, direction) in lists {
        for newest_first in [false, true] {
            let mut after = None;
            loop {
                let page = PageRequest {
                    after,
                    limit: 2,
                    newest_first,
                };
                let edges = f
                    .store
                    .list_edges(f.space.id, entity, "r", direction, page)
                    .await
                    .unwrap();
                let others: Vec<EntityId> = edges
                    .items
                    .iter()
                    .map(|e| match direction {
                        Direction::Members => e.member,
                        Direction::Memberships => e.subject,
                    })
                    .collect();
                let entities = f.store.entities(f.space.id, &others).await.unwrap();
                let aliases = f
                    .store
                    .aliases_of(f.space.id, "open_id/app1", &others)
                    .await
                    .unwrap();
                let with_entities = f
                    .store
                    .list_edges_entities(f.space.id, entity, "r", direction, page)
                    .await
                    .unwrap();
                let want: Vec<(Edge, Entity)> = edges
                    .items
                    .iter()
                    .zip(&others)
                    .map(|(edge, other)| (*edge, entities[other].clone()))
                    .collect();
                assert_eq!(with_entities.items, want);
                assert_eq!(with_entities.next, edges.next);
                let with_aliases = f
                    .store
                    .list_edges_aliases(f.space.id, entity, "r", direction, "open_id/app1", page)
                    .await
                    .unwrap();
                let want: Vec<(Edge, Option<String>)> = edges
                    .items
                    .iter()
                    .zip(&others)
                    .map(|(edge, other)| (*edge, aliases.get(other).cloned()))
                    .collect();
                assert_eq!(with_aliases.items, want);
                assert_eq!(with_aliases.next, edges.next);
                after = edges.next;
                if after.is_none() {
                    break;
                }
            }
        }
    }
    let aliased = f
        .store
        .list_edges_aliases(
            f.space.id,
            chat,
            "r",
            Direction::Members,
            "open_id/app1",
            PageRequest {
                after: None,
                limit: 10,
                newest_first: false,
            },
        )
        .await
        .unwrap();
    let ids: Vec<Option<&str>> = aliased.items.iter().map(|(_, a)| a.as_deref()).collect();
    assert_eq!(ids, [Some("ou_0"), Some("ou_1"), None, Some("ou_3"), None]);
}

//! Space dumps (snapshots, resets): loaded into another space, replacing what it held.

use super::*;

roster_store::on_both_backends!(super::fixture;
    dumps_load_into_another_space_and_replace_contents,
);

async fn dumps_load_into_another_space_and_replace_contents(f: Fixture) {
    // A space with owners, aliases, reciprocal edges and counters.
    let mut plan = f.plan(CREATED_AT);
    let app = plan.create("app", "cli", json!({ "secret": "s" }), None);
    let a = plan.create("user", "a", json!({ "name": "a" }), Some(app.into()));
    let b = plan.create("user", "b", json!({ "name": "b" }), None);
    plan.set_alias("open_id", "ou_a", Target::Created(a));
    plan.set_alias("open_id", "ou_b", Target::Created(b));
    let applied = f.store.apply(plan).await.unwrap();
    let (a, b) = (applied.entity(a).id, applied.entity(b).id);
    let mut add = AddEdges::new(a, "follows", targets(&[b]));
    add.reciprocal = Some(Reciprocal {
        relation: "mutual".into(),
        max_per_entity: None,
    });
    f.apply(EDGES_AT, Step::AddEdges(add.clone()))
        .await
        .unwrap();
    add.subject = b.into();
    add.members = targets(&[a]);
    f.apply(EDGES_AT + 1, Step::AddEdges(add)).await.unwrap();
    let dump = f.store.dump_space(f.space.id).await.unwrap();
    assert_eq!(dump.entities.len(), 3);
    assert_eq!(dump.entities[1].owner.as_ref().unwrap().key, "cli");
    assert_eq!(dump.aliases.len(), 2);
    let relations: Vec<&str> = dump.edges.iter().map(|e| e.relation.as_str()).collect();
    assert_eq!(relations, ["follows", "follows", "mutual", "mutual"]);

    // Loaded as another space: the same contents under new ids, counters recounted.
    let mut copy = dump.clone();
    copy.space.key = "copy".into();
    f.store.load_spaces(vec![copy.clone()]).await.unwrap();
    let spaces = f.store.spaces("test").await.unwrap();
    let copied = spaces.iter().find(|s| s.key == "copy").unwrap();
    assert_eq!(f.store.dump_space(copied.id).await.unwrap(), copy);
    let ids = f
        .store
        .resolve_aliases(copied.id, "open_id", &["ou_a".into(), "ou_b".into()])
        .await
        .unwrap();
    assert!(ids["ou_a"] != a && ids["ou_b"] != b);
    let counts = f
        .store
        .counts(
            copied.id,
            &[ids["ou_a"], ids["ou_b"]],
            "mutual",
            Direction::Members,
        )
        .await
        .unwrap();
    assert_eq!(counts, [(ids["ou_a"], 1), (ids["ou_b"], 1)].into());

    // Loaded over the original after it changed: exactly the dump again.
    let extra = f.entity("user", "c").await;
    f.add_edges(f.add(a, &[extra])).await;
    f.store.load_spaces(vec![dump.clone()]).await.unwrap();
    assert_eq!(f.store.dump_space(f.space.id).await.unwrap(), dump);

    // A dump that contradicts itself loads nothing, in any of the spaces given.
    let mut broken = dump.clone();
    broken.edges[0].member.key = "nobody".into();
    let mut emptied = copy.clone();
    emptied.entities.clear();
    emptied.aliases.clear();
    emptied.edges.clear();
    match f.store.load_spaces(vec![emptied, broken]).await {
        Err(StoreError::InvalidDump(why)) => assert!(why.contains("nobody"), "{why}"),
        other => panic!("expected an invalid dump, got {other:?}"),
    }
    assert_eq!(f.store.dump_space(copied.id).await.unwrap(), copy);
    assert_eq!(f.store.dump_space(f.space.id).await.unwrap(), dump);
}

//! The test harness serves moto with its index queries answered from a per-table map of index
//! partitions, rebuilt after any write (`src/moto_app.py`, fix 5). These tests pin what the
//! adapters rely on: a query on `gsi1` sees every kind of write at once — a put, an update that
//! moves an item to another partition, a delete, a batch write, a transaction — and nothing a
//! cancelled transaction undid; pages follow each other in index order without loss or repeat.

use access_sync_aws::create_table;
use access_sync_aws::testing::shared;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, PutRequest, TransactWriteItem, WriteRequest,
};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

async fn client(table: &str) -> Client {
    let sdk = shared().sdk_config().await;
    let client = Client::new(&sdk);
    create_table(&client, table).await.unwrap();
    client
}

fn item(pk: &str, gsi1pk: &str, gsi1sk: &str) -> Item {
    HashMap::from([
        ("pk".to_string(), s(pk)),
        ("sk".to_string(), s("X")),
        ("gsi1pk".to_string(), s(gsi1pk)),
        ("gsi1sk".to_string(), s(gsi1sk)),
    ])
}

async fn put(c: &Client, table: &str, pk: &str, gsi1pk: &str, gsi1sk: &str) {
    c.put_item()
        .table_name(table)
        .set_item(Some(item(pk, gsi1pk, gsi1sk)))
        .send()
        .await
        .unwrap();
}

/// The `pk`s of one `gsi1` partition, in index order, read in pages of `page`.
async fn partition(c: &Client, table: &str, gsi1pk: &str, page: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let r = c
            .query()
            .table_name(table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(gsi1pk))
            .limit(page)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        out.extend(
            r.items()
                .iter()
                .map(|i| i["pk"].as_s().unwrap().to_string()),
        );
        start = r.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

#[tokio::test]
async fn an_index_query_sees_every_write_at_once() {
    let t = "moto-index-writes";
    let c = client(t).await;
    put(&c, t, "a", "P", "3").await;
    put(&c, t, "b", "P", "1").await;
    put(&c, t, "c", "Q", "2").await;
    assert_eq!(partition(&c, t, "P", 100).await, ["b", "a"]);
    assert_eq!(partition(&c, t, "Q", 100).await, ["c"]);

    // An update moves `a` to Q.
    c.update_item()
        .table_name(t)
        .key("pk", s("a"))
        .key("sk", s("X"))
        .update_expression("SET gsi1pk = :q")
        .expression_attribute_values(":q", s("Q"))
        .send()
        .await
        .unwrap();
    assert_eq!(partition(&c, t, "P", 100).await, ["b"]);
    assert_eq!(partition(&c, t, "Q", 100).await, ["c", "a"]);

    // A delete, then a batch write.
    c.delete_item()
        .table_name(t)
        .key("pk", s("c"))
        .key("sk", s("X"))
        .send()
        .await
        .unwrap();
    assert_eq!(partition(&c, t, "Q", 100).await, ["a"]);
    let batch: Vec<WriteRequest> = ["d", "e"]
        .iter()
        .map(|pk| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(item(pk, "P", pk)))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();
    c.batch_write_item()
        .request_items(t, batch)
        .send()
        .await
        .unwrap();
    assert_eq!(partition(&c, t, "P", 100).await, ["b", "d", "e"]);

    // A transaction that passes is seen; one that is cancelled is not.
    let tput = |pk: &str, p: &str| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(t)
                    .set_item(Some(item(pk, p, pk)))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    c.transact_write_items()
        .transact_items(tput("f", "P"))
        .send()
        .await
        .unwrap();
    assert_eq!(partition(&c, t, "P", 100).await, ["b", "d", "e", "f"]);
    let failing = TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name(t)
                .key("pk", s("nobody"))
                .key("sk", s("X"))
                .condition_expression("attribute_exists(pk)")
                .build()
                .unwrap(),
        )
        .build();
    let cancelled = c
        .transact_write_items()
        .transact_items(tput("g", "P"))
        .transact_items(tput("b", "Q"))
        .transact_items(failing)
        .send()
        .await;
    assert!(cancelled.is_err(), "the condition check must cancel it");
    assert_eq!(partition(&c, t, "P", 100).await, ["b", "d", "e", "f"]);
    assert_eq!(partition(&c, t, "Q", 100).await, ["a"]);
}

#[tokio::test]
async fn index_pages_follow_each_other_without_loss_or_repeat() {
    let t = "moto-index-pages";
    let c = client(t).await;
    let mut want = Vec::new();
    for i in 0..23 {
        let pk = format!("m{i:02}");
        // Index order is by gsi1sk, the reverse of the table's order here.
        put(&c, t, &pk, "P", &format!("{:02}", 50 - i)).await;
        put(&c, t, &format!("other{i}"), "R", "1").await;
        want.insert(0, pk);
    }
    for page in [1, 5, 10, 23, 100] {
        assert_eq!(partition(&c, t, "P", page).await, want, "pages of {page}");
    }
    assert!(partition(&c, t, "nothing", 10).await.is_empty());
}

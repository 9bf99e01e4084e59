//! The test harness serves moto with its TransactWriteItems rollback done item by item instead
//! of by deep-copying whole tables (`src/moto_app.py`). These tests pin the behaviour the
//! adapters rely on: a cancelled transaction leaves every item it named exactly as it was
//! (puts undone, updates undone, deletes undone — including writes moto applied before it
//! reached the failing condition, and items named after it), items it did not name are
//! untouched, and a transaction that passes applies all of its writes.

use access_sync_aws::create_table;
use access_sync_aws::testing::shared;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

async fn client(table: &str) -> Client {
    let sdk = shared().sdk_config().await;
    let client = Client::new(&sdk);
    create_table(&client, table).await.unwrap();
    client
}

fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([
        ("pk".to_string(), AttributeValue::S(pk.to_string())),
        ("sk".to_string(), AttributeValue::S(sk.to_string())),
    ])
}

fn item(pk: &str, sk: &str, v: &str) -> Item {
    let mut i = key(pk, sk);
    i.insert("v".to_string(), AttributeValue::S(v.to_string()));
    i
}

async fn get(c: &Client, table: &str, pk: &str, sk: &str) -> Option<String> {
    let out = c
        .get_item()
        .table_name(table)
        .set_key(Some(key(pk, sk)))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item.map(|i| {
        i.get("v")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    })
}

async fn put(c: &Client, table: &str, pk: &str, sk: &str, v: &str) {
    c.put_item()
        .table_name(table)
        .set_item(Some(item(pk, sk, v)))
        .send()
        .await
        .unwrap();
}

fn tput(table: &str, pk: &str, sk: &str, v: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item(pk, sk, v)))
                .build()
                .unwrap(),
        )
        .build()
}

fn tupdate(table: &str, pk: &str, sk: &str, v: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name(table)
                .set_key(Some(key(pk, sk)))
                .update_expression("SET v = :v")
                .expression_attribute_values(":v", AttributeValue::S(v.to_string()))
                .build()
                .unwrap(),
        )
        .build()
}

fn tdelete(table: &str, pk: &str, sk: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .delete(
            Delete::builder()
                .table_name(table)
                .set_key(Some(key(pk, sk)))
                .build()
                .unwrap(),
        )
        .build()
}

fn must_exist(table: &str, pk: &str, sk: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key(pk, sk)))
                .condition_expression("attribute_exists(pk)")
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn a_cancelled_transaction_leaves_every_item_as_it_was() {
    let t = "tx-cancel";
    let c = client(t).await;
    put(&c, t, "p", "a", "a1").await;
    put(&c, t, "p", "d", "d1").await;
    put(&c, t, "q", "other", "o1").await;
    // Writes before and after the failing check; moto applies the ones before it first.
    let err = c
        .transact_write_items()
        .transact_items(tput(t, "p", "new", "n1"))
        .transact_items(tupdate(t, "p", "a", "a2"))
        .transact_items(tdelete(t, "p", "d"))
        .transact_items(must_exist(t, "p", "missing"))
        .transact_items(tput(t, "r", "late", "l1"))
        .send()
        .await
        .expect_err("the condition check fails");
    assert!(
        err.into_service_error().is_transaction_canceled_exception(),
        "cancelled, not another error"
    );
    assert_eq!(get(&c, t, "p", "new").await, None, "put undone");
    assert_eq!(
        get(&c, t, "p", "a").await.as_deref(),
        Some("a1"),
        "update undone"
    );
    assert_eq!(
        get(&c, t, "p", "d").await.as_deref(),
        Some("d1"),
        "delete undone"
    );
    assert_eq!(get(&c, t, "r", "late").await, None, "a later put undone");
    assert_eq!(get(&c, t, "q", "other").await.as_deref(), Some("o1"));
    // The partition still answers queries with exactly its old items.
    let q = c
        .query()
        .table_name(t)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", AttributeValue::S("p".into()))
        .send()
        .await
        .unwrap();
    let sks: Vec<String> = q
        .items()
        .iter()
        .map(|i| i["sk"].as_s().unwrap().clone())
        .collect();
    assert_eq!(sks, ["a", "d"]);
}

#[tokio::test]
async fn a_conditional_put_that_loses_changes_nothing() {
    let t = "tx-cond";
    let c = client(t).await;
    put(&c, t, "p", "a", "a1").await;
    let guarded = TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(t)
                .set_item(Some(item("p", "a", "a2")))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .unwrap(),
        )
        .build();
    let err = c
        .transact_write_items()
        .transact_items(tput(t, "p", "b", "b1"))
        .transact_items(guarded)
        .send()
        .await
        .expect_err("the item exists");
    assert!(err.into_service_error().is_transaction_canceled_exception());
    assert_eq!(get(&c, t, "p", "a").await.as_deref(), Some("a1"));
    assert_eq!(get(&c, t, "p", "b").await, None);
}

#[tokio::test]
async fn a_transaction_that_passes_applies_all_its_writes() {
    let t = "tx-pass";
    let c = client(t).await;
    put(&c, t, "p", "a", "a1").await;
    put(&c, t, "p", "d", "d1").await;
    c.transact_write_items()
        .transact_items(tput(t, "p", "new", "n1"))
        .transact_items(tupdate(t, "p", "a", "a2"))
        .transact_items(tdelete(t, "p", "d"))
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, t, "p", "new").await.as_deref(), Some("n1"));
    assert_eq!(get(&c, t, "p", "a").await.as_deref(), Some("a2"));
    assert_eq!(get(&c, t, "p", "d").await, None);
    // Then a cancelled one after it restores the state the passing one left.
    let err = c
        .transact_write_items()
        .transact_items(tupdate(t, "p", "a", "a3"))
        .transact_items(tdelete(t, "p", "new"))
        .transact_items(must_exist(t, "p", "d"))
        .send()
        .await
        .expect_err("d was deleted");
    assert!(err.into_service_error().is_transaction_canceled_exception());
    assert_eq!(get(&c, t, "p", "a").await.as_deref(), Some("a2"));
    assert_eq!(get(&c, t, "p", "new").await.as_deref(), Some("n1"));
}

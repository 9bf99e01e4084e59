//! The replay ledger against moto (claim, in flight, lapsed claim, done), and the largest item
//! ingest's limits allow: it is written to moto whole, and moto refuses one a little larger
//! (so the size check measures what DynamoDB enforces).

use access_sync_aws::dynamo::item_size::{DYNAMODB_ITEM_BYTES, item_bytes, largest_items};
use access_sync_aws::dynamo::ledger::replay_pk;
use access_sync_aws::testing::shared;
use access_sync_aws::{DynamoStore, create_table};
use access_sync_ports::{Claim, DeliveryLedger};
use access_sync_rules::limits::Limits;
use chrono::{DateTime, Duration, Utc};

async fn store(table: &str) -> (DynamoStore, aws_sdk_dynamodb::Client) {
    let sdk = shared().sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    create_table(&client, table).await.unwrap();
    (DynamoStore::new(client.clone(), table), client)
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn a_delivery_is_fresh_once_in_flight_while_claimed_and_done_for_good() {
    let (l, client) = store("ledger-claims").await;
    let now = t("2026-12-07T07:00:00Z");
    let hold = now + Duration::seconds(60);
    assert_eq!(l.claim("k1", now, hold).await.unwrap(), Claim::Fresh);
    assert_eq!(
        l.claim("k1", now + Duration::seconds(30), hold)
            .await
            .unwrap(),
        Claim::InFlight { until: hold }
    );
    // One second before its end the claim still holds; at its end it has lapsed (the first
    // attempt died): a retry after the `Retry-After` it was given takes it.
    assert_eq!(
        l.claim("k1", hold - Duration::seconds(1), hold)
            .await
            .unwrap(),
        Claim::InFlight { until: hold }
    );
    assert_eq!(
        l.claim("k1", hold, hold + Duration::seconds(60))
            .await
            .unwrap(),
        Claim::Fresh
    );
    let later = hold + Duration::seconds(61);
    assert_eq!(
        l.claim("k1", later, later + Duration::seconds(60))
            .await
            .unwrap(),
        Claim::Fresh
    );
    l.done("k1", later + Duration::days(7)).await.unwrap();
    for when in [later, later + Duration::days(3)] {
        assert_eq!(
            l.claim("k1", when, when + Duration::seconds(60))
                .await
                .unwrap(),
            Claim::Done
        );
    }
    assert_eq!(l.claim("k2", now, hold).await.unwrap(), Claim::Fresh);
    let item = client
        .get_item()
        .table_name("ledger-claims")
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(replay_pk("k1")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("REPLAY".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["state"].as_s().unwrap(), "done");
    assert_eq!(
        item["ttl"].as_n().unwrap(),
        &(later + Duration::days(7)).timestamp().to_string()
    );
}

#[tokio::test]
async fn the_largest_item_the_limits_allow_is_written_and_a_larger_one_refused() {
    let (_, client) = store("ledger-item-size").await;
    let put = |item| {
        client
            .put_item()
            .table_name("ledger-item-size")
            .set_item(Some(item))
            .send()
    };
    let at_limits = largest_items(&Limits::default());
    assert_eq!(at_limits.len(), 2, "a team and an entitlement it holds");
    for item in at_limits {
        assert!(item_bytes(&item) < DYNAMODB_ITEM_BYTES);
        put(item).await.expect("an item at the limits fits");
    }
    // A team 15% over the default: over DynamoDB's limit, and moto says so.
    let over = Limits {
        team_members: Limits::default().team_members * 115 / 100,
        ..Limits::default()
    };
    let biggest = largest_items(&over)
        .into_iter()
        .max_by_key(item_bytes)
        .unwrap();
    assert!(item_bytes(&biggest) > DYNAMODB_ITEM_BYTES);
    let err = put(biggest).await.expect_err("moto enforces the item size");
    let text = format!("{:?}", err.into_service_error());
    assert!(text.to_lowercase().contains("size"), "{text}");
}

//! EventBridge Scheduler adapter against moto. Each test has its own schedule group (moto
//! drops a group's schedules if the group is created again, so groups are never shared).

use access_sync_aws::testing::shared;
use access_sync_aws::{SchedulerEdges, SchedulerSettings};
use access_sync_ports::{
    CancelOutcome, Edge, EdgeScheduler, Email, GroupId, Pair, ScheduleOutcome,
};
use aws_sdk_scheduler::Client;
use chrono::{DateTime, Duration, Utc};

async fn edges(group: &str) -> (Client, SchedulerEdges) {
    let sdk = shared().sdk_config().await;
    let client = Client::new(&sdk);
    client
        .create_schedule_group()
        .name(group)
        .send()
        .await
        .unwrap();
    let settings = SchedulerSettings {
        group: group.to_string(),
        target_arn: "arn:aws:lambda:us-east-1:123456789012:function:converge".into(),
        role_arn: "arn:aws:iam::123456789012:role/scheduler-invoke".into(),
        dlq_arn: Some("arn:aws:sqs:us-east-1:123456789012:edges-dlq".into()),
        max_retry_attempts: 20,
        max_event_age_seconds: 3600,
    };
    (client.clone(), SchedulerEdges::new(client, settings))
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn edge(at: &str) -> Edge {
    let pair = Pair {
        email: Email::parse("Joe@Example.com").unwrap(),
        group: GroupId::new(201).unwrap(),
    };
    Edge::new(&pair, t(at))
}

async fn count(client: &Client, group: &str) -> usize {
    client
        .list_schedules()
        .group_name(group)
        .send()
        .await
        .unwrap()
        .schedules()
        .len()
}

#[tokio::test]
async fn creating_a_schedule_twice_leaves_one_schedule_with_the_agreed_shape() {
    let (client, edges) = edges("g-twice").await;
    let now = t("2026-12-07T08:00:00Z");
    let e = edge("2026-12-07T09:45:00Z");
    assert_eq!(
        edges.schedule(&e, now).await.unwrap(),
        ScheduleOutcome::Created
    );
    assert_eq!(
        edges.schedule(&e, now).await.unwrap(),
        ScheduleOutcome::AlreadyScheduled
    );
    assert_eq!(count(&client, "g-twice").await, 1);

    let got = client
        .get_schedule()
        .group_name("g-twice")
        .name(e.schedule_name())
        .send()
        .await
        .unwrap();
    assert!(e.schedule_name().len() <= 64);
    assert_eq!(got.schedule_expression(), Some("at(2026-12-07T09:45:00)"));
    assert_eq!(got.schedule_expression_timezone(), Some("UTC"));
    assert_eq!(
        got.flexible_time_window().map(|w| w.mode().as_str()),
        Some("OFF")
    );
    assert_eq!(
        got.action_after_completion().map(|a| a.as_str()),
        Some("DELETE")
    );
    let target = got.target().unwrap();
    assert_eq!(
        target.arn(),
        "arn:aws:lambda:us-east-1:123456789012:function:converge"
    );
    assert_eq!(
        target.role_arn(),
        "arn:aws:iam::123456789012:role/scheduler-invoke"
    );
    assert_eq!(
        target.dead_letter_config().and_then(|d| d.arn()),
        Some("arn:aws:sqs:us-east-1:123456789012:edges-dlq")
    );
    assert_eq!(
        target
            .retry_policy()
            .and_then(|r| r.maximum_retry_attempts()),
        Some(20)
    );
    let input: Edge = serde_json::from_str(target.input().unwrap()).unwrap();
    assert_eq!(input, e);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(target.input().unwrap()).unwrap(),
        serde_json::json!({"email":"joe@example.com","group":201,"edge":"2026-12-07T09:45:00Z"})
    );
}

#[tokio::test]
async fn cancel_removes_the_schedule_and_cancelling_again_is_fine() {
    let (client, edges) = edges("g-cancel").await;
    let now = t("2026-12-07T08:00:00Z");
    let open = edge("2026-12-07T09:45:00Z");
    let close = edge("2026-12-07T11:05:00Z");
    edges.schedule(&open, now).await.unwrap();
    edges.schedule(&close, now).await.unwrap();
    assert_eq!(count(&client, "g-cancel").await, 2);
    assert_eq!(edges.cancel(&open).await.unwrap(), CancelOutcome::Deleted);
    assert_eq!(edges.cancel(&open).await.unwrap(), CancelOutcome::NotFound);
    assert_eq!(count(&client, "g-cancel").await, 1);
    // After a cancel the same edge can be scheduled again.
    assert_eq!(
        edges.schedule(&open, now).await.unwrap(),
        ScheduleOutcome::Created
    );
}

#[tokio::test]
async fn an_edge_at_or_before_now_is_not_scheduled_but_immediate() {
    let (client, edges) = edges("g-past").await;
    let now = t("2026-12-07T09:45:00Z");
    assert_eq!(
        edges
            .schedule(&edge("2026-12-07T09:45:00Z"), now)
            .await
            .unwrap(),
        ScheduleOutcome::Immediate
    );
    assert_eq!(
        edges
            .schedule(&edge("2026-12-07T09:00:00Z"), now)
            .await
            .unwrap(),
        ScheduleOutcome::Immediate
    );
    assert_eq!(count(&client, "g-past").await, 0);
    let soon = now + Duration::seconds(1);
    assert_eq!(
        edges
            .schedule(
                &Edge {
                    edge: soon,
                    ..edge("2026-12-07T09:45:00Z")
                },
                now
            )
            .await
            .unwrap(),
        ScheduleOutcome::Created
    );
}

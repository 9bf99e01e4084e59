//! Creates what the functions expect on moto, as the CDK app does in AWS: the table, the bus
//! with one rule per route into an SQS queue (with a dead-letter queue), the schedule group
//! and the Kisi token secret. Safe to run again: what exists is reused, never replaced (moto
//! silently drops a schedule group's schedules when the group is created twice).

use crate::names::{Names, ROUTES};
use access_sync_aws::SdkConfig;
use anyhow::{Context, Result};
use serde_json::json;

/// The queue URL of each route, in [`ROUTES`] order.
#[derive(Debug, Clone)]
pub struct Queues {
    /// (function, queue URL).
    pub routes: Vec<(&'static str, String)>,
    /// The dead-letter queue's URL.
    pub dlq: String,
}

/// Creates (or finds) every resource; answers the queue URLs.
///
/// # Errors
/// Any AWS call that fails for another reason than "already there".
pub async fn provision(sdk: &SdkConfig, names: &Names) -> Result<Queues> {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    if ddb
        .describe_table()
        .table_name(names.table())
        .send()
        .await
        .is_err()
    {
        access_sync_aws::create_table(&ddb, &names.table())
            .await
            .with_context(|| format!("creating table {}", names.table()))?;
    }

    let eb = aws_sdk_eventbridge::Client::new(sdk);
    if eb
        .describe_event_bus()
        .name(names.bus())
        .send()
        .await
        .is_err()
    {
        eb.create_event_bus()
            .name(names.bus())
            .send()
            .await
            .context("creating the event bus")?;
    }

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let dlq = create_queue(&sqs, &names.dlq(), None).await?;
    let dlq_arn = queue_arn(&sqs, &dlq).await?;
    let mut routes = Vec::new();
    for r in &ROUTES {
        let name = names.queue(r);
        let url = create_queue(&sqs, &name, Some(&dlq_arn)).await?;
        let arn = queue_arn(&sqs, &url).await?;
        let mut pattern = json!({"detail-type": [r.detail_type]});
        if r.from_ingest {
            pattern["source"] = json!([access_sync_runtime::messages::SOURCE_INGEST]);
        }
        eb.put_rule()
            .name(&name)
            .event_bus_name(names.bus())
            .event_pattern(pattern.to_string())
            .send()
            .await
            .with_context(|| format!("rule {name}"))?;
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("queue")
            .arn(arn)
            .build()
            .context("rule target")?;
        eb.put_targets()
            .rule(&name)
            .event_bus_name(names.bus())
            .targets(target)
            .send()
            .await
            .with_context(|| format!("target of rule {name}"))?;
        routes.push((r.function, url));
    }

    let scheduler = aws_sdk_scheduler::Client::new(sdk);
    if scheduler
        .get_schedule_group()
        .name(names.schedule_group())
        .send()
        .await
        .is_err()
    {
        scheduler
            .create_schedule_group()
            .name(names.schedule_group())
            .send()
            .await
            .context("creating the schedule group")?;
    }

    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    put_secret(&secrets, &names.secret(), &names.kisi_key).await?;
    put_secret(
        &secrets,
        &names.canonical_secret(),
        crate::names::LOCAL_CANONICAL_SECRET,
    )
    .await?;
    for p in access_sync_platforms::Platform::ALL {
        let secret = crate::names::local_webhook_secret(p);
        put_secret(&secrets, &names.webhook_secret(p), &secret).await?;
    }
    Ok(Queues { routes, dlq })
}

/// Creates the secret `name` with `value`, or gives an existing one that value.
///
/// # Errors
/// Secrets Manager refused both.
pub async fn put_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &str,
) -> Result<()> {
    if secrets
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .is_err()
    {
        secrets
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .with_context(|| format!("storing secret {name}"))?;
    }
    Ok(())
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str, dlq: Option<&str>) -> Result<String> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let mut req = sqs
        .create_queue()
        .queue_name(name)
        // A failed item comes back after 5 s (the pumps can also hand it back at once).
        .attributes(A::VisibilityTimeout, "5");
    if let Some(arn) = dlq {
        let policy = json!({"deadLetterTargetArn": arn, "maxReceiveCount": 5});
        req = req.attributes(A::RedrivePolicy, policy.to_string());
    }
    let out = req.send().await.with_context(|| format!("queue {name}"))?;
    out.queue_url()
        .map(str::to_string)
        .with_context(|| format!("queue {name} has no URL"))
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("attributes of {url}"))?;
    out.attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .with_context(|| format!("{url} has no ARN"))
}

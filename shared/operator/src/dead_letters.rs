//! Dead-letter queues for the operator: how many messages wait in each and what the first
//! few are, without taking them off the queue.
//!
//! Which queues: `DEAD_LETTER_QUEUES` (comma-separated queue names or URLs) when set; otherwise
//! every queue whose name starts with `STACK_PREFIX` (default `access-sync`, the CDK app's
//! prefix) and ends in `-dlq` or `-failures` (the CDK app's names:
//! `<prefix>-<route>-dlq`, `<prefix>-rule-target-dlq`, `<prefix>-scheduler-dlq`,
//! `<prefix>-on-edge-failures`).
//!
//! Peeking receives with a visibility timeout of 0, so a message stays visible and in place
//! (its receive count grows; a dead-letter queue has no redrive of its own, so nothing moves).

use access_sync_rules::Instant;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde::Serialize;
use serde_json::Value;
use std::future::Future;

/// How many messages of each queue are read for their reasons.
pub const PEEK: i32 = 5;

/// One dead-lettered message, summarised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// When it was first sent to a queue.
    pub sent: Option<Instant>,
    /// How many times it was received.
    pub receives: Option<u32>,
    /// What it was and why it failed, as far as the message says (never its whole body).
    pub reason: String,
}

/// One dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadLetterQueue {
    /// The queue's name.
    pub name: String,
    /// Approximate number of messages waiting.
    pub depth: u64,
    /// The first few.
    pub first: Vec<DeadLetter>,
}

/// The dead-letter queues.
pub trait DeadLetters: Send + Sync {
    /// Every dead-letter queue with its depth and up to `peek` messages.
    ///
    /// # Errors
    /// The queue service's failure, for a human.
    fn queues(
        &self,
        peek: i32,
    ) -> impl Future<Output = Result<Vec<DeadLetterQueue>, String>> + Send;
}

/// [`DeadLetters`] on SQS.
#[derive(Clone, Debug)]
pub struct SqsDeadLetters {
    client: Client,
    names: Vec<String>,
    prefix: String,
}

impl SqsDeadLetters {
    /// On `sdk`, with the queues named by `DEAD_LETTER_QUEUES` or found by `STACK_PREFIX`
    /// (see the module docs), read through `get`.
    pub fn from_lookup(
        sdk: &access_sync_aws::SdkConfig,
        get: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let names = get("DEAD_LETTER_QUEUES")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let prefix = get("STACK_PREFIX")
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "access-sync".into());
        SqsDeadLetters {
            client: Client::new(sdk),
            names,
            prefix,
        }
    }

    async fn urls(&self) -> Result<Vec<String>, String> {
        if !self.names.is_empty() {
            let mut out = Vec::new();
            for n in &self.names {
                if n.starts_with("http://") || n.starts_with("https://") {
                    out.push(n.clone());
                    continue;
                }
                let url = self
                    .client
                    .get_queue_url()
                    .queue_name(n)
                    .send()
                    .await
                    .map_err(|e| {
                        format!("queue {n}: {}", aws_sdk_sqs::error::DisplayErrorContext(e))
                    })?;
                out.extend(url.queue_url().map(str::to_string));
            }
            return Ok(out);
        }
        let listed = self
            .client
            .list_queues()
            .queue_name_prefix(&self.prefix)
            .max_results(1000)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "listing queues: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?;
        Ok(listed
            .queue_urls()
            .iter()
            .filter(|u| {
                let name = name_of(u);
                name.ends_with("-dlq") || name.ends_with("-failures")
            })
            .cloned()
            .collect())
    }
}

fn sqs_error<E: std::error::Error + 'static>(url: &str, e: E) -> String {
    format!(
        "queue {}: {}",
        name_of(url),
        aws_sdk_sqs::error::DisplayErrorContext(e)
    )
}

fn name_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// What a dead-lettered message was and why it failed, from its body: a Lambda on-failure
/// record names the condition and the error; an EventBridge envelope its detail-type and event
/// id. Never the whole body (it may carry personal data).
pub fn reason(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return "not JSON".into();
    };
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    let mut parts = Vec::new();
    if let Some(c) = s("/requestContext/condition") {
        parts.push(format!("invocation failed: {c}"));
    }
    if let Some(e) = s("/responsePayload/errorType") {
        parts.push(e);
    }
    if let Some(e) = s("/responsePayload/errorMessage") {
        parts.push(e.chars().take(200).collect());
    }
    if let Some(t) = s("/detail-type") {
        parts.push(format!("{t} message"));
    }
    if let Some(id) = s("/detail/id").or_else(|| s("/id")) {
        parts.push(format!("id {id}"));
    }
    if parts.is_empty() {
        "no reason recorded (delivered too often without success)".into()
    } else {
        parts.join("; ")
    }
}

impl DeadLetters for SqsDeadLetters {
    async fn queues(&self, peek: i32) -> Result<Vec<DeadLetterQueue>, String> {
        let mut out = Vec::new();
        for url in self.urls().await? {
            let attrs = self
                .client
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .send()
                .await
                .map_err(|e| sqs_error(&url, e))?;
            let depth = attrs
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            let mut first = Vec::new();
            if depth > 0 && peek > 0 {
                let got = self
                    .client
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(peek.clamp(1, 10))
                    .visibility_timeout(0)
                    .wait_time_seconds(0)
                    .message_system_attribute_names(MessageSystemAttributeName::All)
                    .send()
                    .await
                    .map_err(|e| sqs_error(&url, e))?;
                for m in got.messages() {
                    let attr = |n: MessageSystemAttributeName| {
                        m.attributes().and_then(|a| a.get(&n)).cloned()
                    };
                    first.push(DeadLetter {
                        sent: attr(MessageSystemAttributeName::SentTimestamp)
                            .and_then(|t| t.parse::<i64>().ok())
                            .and_then(chrono::DateTime::from_timestamp_millis),
                        receives: attr(MessageSystemAttributeName::ApproximateReceiveCount)
                            .and_then(|t| t.parse().ok()),
                        reason: reason(m.body().unwrap_or_default()),
                    });
                }
            }
            out.push(DeadLetterQueue {
                name: name_of(&url).to_string(),
                depth,
                first,
            });
        }
        out.sort_by(|a, b| b.depth.cmp(&a.depth).then(a.name.cmp(&b.name)));
        Ok(out)
    }
}

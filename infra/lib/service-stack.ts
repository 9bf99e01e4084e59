// The service stack: the six Rust functions and everything that wires them together.
//
//   platforms ──HTTPS──▶ ingest (function URL) ──PutEvents──▶ bus
//   bus ─rule booking──▶ booking queue ──▶ on_booking     ┐
//   bus ─rule plan─────▶ plan queue ─────▶ on_plan_change ├─ facts + idempotency ─PutEvents converge─▶ bus
//   bus ─rule checkin──▶ checkin queue ──▶ on_checkin     ┘
//   bus ─rule converge─▶ converge queue ─▶ on_edge ◀── one-off schedules (Scheduler role)
//   rate(15 minutes) ──────────────────▶ reconcile_15m ─PutEvents converge─▶ bus
//   rate(syncIntervalMinutes), one schedule per platform ─▶ platform_sync ─PutEvents canonical─▶ bus
//
// on_edge is the only Kisi writer and runs with reserved concurrency 1, which with its
// in-process token bucket keeps every Kisi write under Kisi's 5 requests/s.
//
// Each function has its own role holding exactly what its code calls; the IAM test in
// test/spec/iam.ts walks every statement and fails on any wildcard not listed there with a reason.

import * as cdk from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import * as path from 'node:path';
import { AccessSyncConfig, SyncPlatform } from './config';
import { EmptySecret, Platform, PLATFORMS } from './stateful-stack';

/** The workspace manifest every function binary is built from. */
export const WORKSPACE_MANIFEST = path.join(__dirname, '..', '..', 'Cargo.toml');

/** `source` of the events ingest publishes. */
export const INGEST_SOURCE = 'access-sync.ingest';

/** CloudWatch namespace and metric of the one brake (revokes held for the operator). */
export const BRAKE_NAMESPACE = 'AccessSync';
export const BRAKE_METRIC = 'BrakeHeld';
/** What platform_sync logs while its brake holds endings: counted as the one brake's metric. */
export const SYNC_HELD_LOG = 'SyncHeld';

/** Environment variable carrying each platform's webhook secret name (ingest only). */
export const webhookSecretEnv = (p: Platform): string => `WEBHOOK_SECRET_${p.toUpperCase()}`;

/** Environment variable carrying the canonical route's signing secret name (ingest only). */
export const CANONICAL_SECRET_ENV = 'WEBHOOK_SECRET_CANONICAL';

/** The functions, by binary name (the `[[bin]]` names in the workspace). */
export type FunctionName = 'ingest' | 'on_booking' | 'on_plan_change' | 'on_checkin' | 'on_edge' | 'reconcile_15m' | 'platform_sync' | 'platform_reread';

interface FunctionSpec {
  readonly description: string;
  readonly timeout: cdk.Duration;
  readonly memorySize: number;
}

/**
 * Sizing. Queue visibility is derived from these (6 × timeout), so change them here only.
 * - on_edge: a batch of converges at ~4.85 Kisi requests/s, each request retried within 30 s.
 * - reconcile_15m: ~80 s of Kisi reads per 100k pairs; stays under 15 minutes so runs never overlap.
 */
export const FUNCTIONS: Record<FunctionName, FunctionSpec> = {
  ingest: { description: 'Webhooks in: verify signature, publish canonical events', timeout: cdk.Duration.seconds(10), memorySize: 256 },
  on_booking: { description: 'Booking events: facts, idempotency, converge events', timeout: cdk.Duration.seconds(30), memorySize: 256 },
  on_plan_change: { description: 'Plan events: facts, idempotency, converge events', timeout: cdk.Duration.seconds(30), memorySize: 256 },
  on_checkin: { description: 'Check-in events: facts, idempotency, converge events', timeout: cdk.Duration.seconds(30), memorySize: 256 },
  on_edge: { description: 'The only Kisi writer: converges a member/group, keeps edge schedules', timeout: cdk.Duration.seconds(120), memorySize: 256 },
  reconcile_15m: { description: 'Every 15 minutes: finds drift, brakes mass revokes, re-asserts edges', timeout: cdk.Duration.minutes(14), memorySize: 1024 },
  // A full listing that does not fit pauses SYNC_DEADLINE_MARGIN_SECONDS before the deadline
  // and resumes on the next tick; the whole space is held in memory while it is compared.
  platform_sync: { description: 'The platform as the truth: lists its API, publishes only what differs', timeout: cdk.Duration.minutes(10), memorySize: 1024 },
  // The platform_sync binary on the `reread` queue (an SQS batch): re-reads the records an
  // Optix webhook only hinted at. A function of its own so a running sync (reserved
  // concurrency 1, minutes long) never holds re-reads back; each has its own client and its
  // half of the platform's rate limit (BENCHMARKS.md, "Optix"). One read is a request or two,
  // retried within the client's policy.
  platform_reread: { description: 'Webhook hints: re-reads the named record from the platform API, publishes what it says', timeout: cdk.Duration.minutes(2), memorySize: 256 },
};

/** The binary a function runs: its own, except the re-reader, which is platform_sync's. */
export const BINARY: Record<FunctionName, string> = {
  ingest: 'ingest', on_booking: 'on_booking', on_plan_change: 'on_plan_change', on_checkin: 'on_checkin',
  on_edge: 'on_edge', reconcile_15m: 'reconcile_15m', platform_sync: 'platform_sync', platform_reread: 'platform_sync',
};

/** Seconds before its deadline platform_sync stops listing and stores its cursor. */
export const SYNC_DEADLINE_MARGIN_SECONDS = 60;

/** Reserved concurrency of the public ingest function. */
export const INGEST_CONCURRENCY = 20;

/** SQS-fed functions: the detail-type routed to each, and the batch it takes. */
const ROUTES: ReadonlyArray<{
  fn: FunctionName;
  detailType: string;
  source?: string;
  batchSize: number;
  maxReceiveCount: number;
  maxConcurrency?: number;
}> = [
  { fn: 'on_booking', detailType: 'booking', source: INGEST_SOURCE, batchSize: 10, maxReceiveCount: 5 },
  { fn: 'on_plan_change', detailType: 'plan', source: INGEST_SOURCE, batchSize: 10, maxReceiveCount: 5 },
  { fn: 'on_checkin', detailType: 'checkin', source: INGEST_SOURCE, batchSize: 10, maxReceiveCount: 5 },
  // converge events come from on_booking/on_plan_change/on_checkin and reconcile_15m, so the
  // rule matches the detail-type only; only principals of this account can put on the bus.
  // The SQS poller ignores reserved concurrency: it starts 5 concurrent batches and Lambda
  // throttles all but one. maxConcurrency 2 (the lowest SQS allows) keeps the poller close to
  // the one instance; throttled batches are retried within the visibility timeout (hence 6 ×),
  // and more receives before the DLQ because a throttled receive still counts.
  { fn: 'on_edge', detailType: 'converge', batchSize: 5, maxReceiveCount: 10, maxConcurrency: 2 },
  // ingest's hints (Optix: webhooks are not believed). One re-reader at a time (its client's
  // budget is the re-reads' half of the token's rate limit), hence the same poller limit and
  // receive count as converge.
  { fn: 'platform_reread', detailType: 'reread', source: INGEST_SOURCE, batchSize: 5, maxReceiveCount: 10, maxConcurrency: 2 },
];

/** Read actions the DynamoDB adapters use (TransactWriteItems is authorised per item). */
const DYNAMO_READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'];
/** Write actions the DynamoDB adapters use. */
const DYNAMO_WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

/**
 * The public ingest function's table access, partition by partition (`dynamodb:LeadingKeys`).
 * - Reads: the platforms' normalisers look up members, teams and members by e-mail
 *   (functions/ingest/src/normalize.rs and shared/ports/src/directory.rs, issue 15's contract): `GetItem` of `MEMBER#<id>`/`TEAM#<id>`
 *   records and `Query` of one `EMAIL#<address>` partition. Nothing else: no ENT#, HOLDER#,
 *   MEMBEROF#, ownership, audit, idempotency or mapping items, no batch, no Scan, no index.
 * - Writes: `PutItem` of replay records only (`pk = REPLAY#<sha256 of the delivery>`,
 *   `sk = REPLAY`, a conditional put that refuses a delivery seen before; `ttl` expires it).
 */
export const INGEST_TABLE_ACCESS = {
  read: { actions: ['dynamodb:GetItem', 'dynamodb:Query'], partitions: ['MEMBER#*', 'TEAM#*', 'EMAIL#*'] },
  write: { actions: ['dynamodb:PutItem'], partitions: ['REPLAY#*'] },
} as const;

export interface ServiceStackProps extends cdk.StackProps {
  readonly config: AccessSyncConfig;
  readonly table: dynamodb.ITableV2;
  readonly kisiTokenSecret: EmptySecret;
  readonly webhookSecrets: Record<Platform, EmptySecret>;
  readonly canonicalWebhookSecret: EmptySecret;
  readonly platformSecrets: Partial<Record<SyncPlatform, EmptySecret>>;
}

export class ServiceStack extends cdk.Stack {
  readonly functions = {} as Record<FunctionName, lambda.Function>;
  readonly functionUrl: lambda.FunctionUrl;
  readonly bus: events.EventBus;
  readonly schedulerRole: iam.Role;
  readonly schedulerDlq: sqs.Queue;
  readonly scheduleGroupName: string;
  readonly alarms: cloudwatch.Alarm[] = [];

  private readonly config: AccessSyncConfig;
  private readonly alarmTopic?: sns.ITopic;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const { config, table } = props;
    this.config = config;
    const { prefix } = config;
    if (config.alarmTopicArn) this.alarmTopic = sns.Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn);

    // ---- names known before anything exists (breaks the on_edge ⇄ its own env cycle) ----
    const fnName = (f: FunctionName) => `${prefix}-${f.replace(/_/g, '-')}`;
    // on_edge's ARN built from its fixed name, not from the resource: on_edge's own
    // environment carries it, and a GetAtt on itself would be a circular reference.
    const convergeFunctionArn = this.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: fnName('on_edge'),
      arnFormat: cdk.ArnFormat.COLON_RESOURCE_NAME,
    });

    // ---- bus, edge schedules, Scheduler role ----
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: prefix });

    this.scheduleGroupName = `${prefix}-edges`;
    new scheduler.ScheduleGroup(this, 'EdgeScheduleGroup', {
      scheduleGroupName: this.scheduleGroupName,
      // reconcile_15m re-creates every edge due before its next run, so losing the group's
      // schedules (on replacement or delete) loses no access change.
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    });
    // Pseudo parameters rather than the concrete region/account, so the cdk-nag acknowledgement
    // below names the same resource in every environment.
    const schedulesArn = this.formatArn({
      service: 'scheduler',
      region: cdk.Aws.REGION,
      account: cdk.Aws.ACCOUNT_ID,
      resource: 'schedule',
      resourceName: `${this.scheduleGroupName}/*`,
      arnFormat: cdk.ArnFormat.SLASH_RESOURCE_NAME,
    });

    this.schedulerDlq = this.queue('SchedulerDlq', `${prefix}-scheduler-dlq`, { isDlq: true });

    // The role EventBridge Scheduler assumes for edge schedules: it may invoke on_edge and
    // nothing else (plus deliver what it could not invoke to its DLQ).
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'Assumed by EventBridge Scheduler for edge schedules: invokes on_edge only',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      inlinePolicies: {
        InvokeOnEdge: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [convergeFunctionArn] }),
            new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.schedulerDlq.queueArn] }),
          ],
        }),
      },
    });

    // ---- common environment ----
    const commonEnv: Record<string, string> = {
      TABLE_NAME: table.tableName,
      SCHEDULE_GROUP: this.scheduleGroupName,
      CONVERGE_FUNCTION_ARN: convergeFunctionArn,
      SCHEDULER_ROLE_ARN: this.schedulerRole.roleArn,
      SCHEDULER_DLQ_ARN: this.schedulerDlq.queueArn,
      EVENT_BUS_NAME: this.bus.eventBusName,
      KISI_TOKEN_SECRET: props.kisiTokenSecret.name,
      KISI_BASE_URL: config.kisiBaseUrl,
      LEAD_MINUTES: String(config.leadMinutes),
      LAG_MINUTES: String(config.lagMinutes),
      BRAKE_SHARE_PER_HOUR: String(config.brakeShare),
      BRAKE_FLOOR: String(config.brakeFloor),
      RUST_LOG: config.rustLog,
    };

    // ---- the functions ----
    const ingestEnv: Record<string, string> = { [CANONICAL_SECRET_ENV]: props.canonicalWebhookSecret.name };
    // Where ingest keeps offered API tokens (functions/ingest/src/wiring.rs, api_token_secrets).
    if (config.syncPlatforms.includes('optix')) ingestEnv.PLATFORM_SECRETS_PREFIX = `${prefix}/platforms`;
    for (const p of PLATFORMS) ingestEnv[webhookSecretEnv(p)] = props.webhookSecrets[p].name;

    const edgeFailures = this.queue('OnEdgeFailures', `${prefix}-on-edge-failures`, { isDlq: true });
    const syncFailures = this.queue('PlatformSyncFailures', `${prefix}-platform-sync-failures`, { isDlq: true });

    // platform_sync reads no Kisi and schedules nothing: its own environment, not the common one
    // (functions/platform_sync/src/wiring.rs and settings.rs).
    const syncEnv: Record<string, string> = {
      TABLE_NAME: table.tableName,
      EVENT_BUS_NAME: this.bus.eventBusName,
      PLATFORM_SECRETS_PREFIX: `${prefix}/platforms`,
      SYNC_BRAKE_SHARE: String(config.syncBrakeShare),
      SYNC_BRAKE_FLOOR: String(config.syncBrakeFloor),
      SYNC_FULL_EVERY_HOURS: String(config.syncFullEveryHours),
      SYNC_DEADLINE_MARGIN_SECONDS: String(SYNC_DEADLINE_MARGIN_SECONDS),
      RUST_LOG: config.rustLog,
    };

    // The re-reader reads a record and publishes it: no sync settings, and it never touches the
    // table (TABLE_NAME is required by the shared wiring, which opens no connection with it).
    const rereadEnv: Record<string, string> = {
      TABLE_NAME: table.tableName,
      EVENT_BUS_NAME: this.bus.eventBusName,
      PLATFORM_SECRETS_PREFIX: `${prefix}/platforms`,
      RUST_LOG: config.rustLog,
    };

    for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
      const spec = FUNCTIONS[name];
      let extra: Partial<lambda.FunctionProps> = {};
      if (name === 'ingest') {
        // The URL is public (platforms cannot sign AWS requests), so cap what a flood of bogus
        // requests can take from the account's concurrency. 20 instances of a fast handler
        // serve hundreds of webhooks a second; a throttled platform gets 429 and retries.
        extra = { reservedConcurrentExecutions: INGEST_CONCURRENCY };
      }
      if (name === 'on_edge') {
        extra = {
          // The Kisi rate limit: one instance at a time, each with its token bucket.
          reservedConcurrentExecutions: 1,
          // Scheduler invokes asynchronously; after Lambda's own retries a failed edge lands
          // here (with the error) instead of vanishing. reconcile_15m also repairs it.
          onFailure: new destinations.SqsDestination(edgeFailures),
          retryAttempts: 2,
        };
      }
      if (name === 'reconcile_15m') {
        // A failed run is followed by the next one within 15 minutes; retrying could overlap it.
        extra = { retryAttempts: 0 };
      }
      if (name === 'platform_reread') {
        // One instance: one client, one budget (30 of the token's 60 requests a minute).
        extra = { reservedConcurrentExecutions: 1 };
      }
      if (name === 'platform_sync') {
        extra = {
          // One sync at a time (its state is one cursor per platform) and one client budget
          // against each platform's rate limit.
          reservedConcurrentExecutions: 1,
          // A failed run changed nothing and the next tick resumes it; the failure is kept
          // (with its error) for the operator instead of retried into the next tick.
          onFailure: new destinations.SqsDestination(syncFailures),
          retryAttempts: 0,
        };
      }
      const env = name === 'platform_sync' ? syncEnv
        : name === 'platform_reread' ? rereadEnv
          : { ...commonEnv, ...(name === 'ingest' ? ingestEnv : {}) };
      this.functions[name] = this.rustFunction(name, fnName(name), spec, env, extra);
    }
    const fns = this.functions;

    // ---- ingest: public function URL, every route's signature checked in code ----
    // Platforms cannot sign AWS requests, so the URL takes no AWS credential (auth NONE); the
    // canonical route checks access-sync-signature with its own secret, each platform route its
    // platform's. The reserved concurrency above caps what a flood can take.
    this.functionUrl = fns.ingest.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    new cdk.CfnOutput(this, 'IngestUrl', {
      value: this.functionUrl.url,
      description: `Webhook base URL: ${PLATFORMS.map((p) => `<url>${p}`).join(', ')}; signed canonical events at <url>`,
    });
    this.allowSecrets(fns.ingest, [props.canonicalWebhookSecret.arn, ...PLATFORMS.map((p) => props.webhookSecrets[p].arn)]);
    // Optix replaces its API token by webhook (organization_token_updated): ingest keeps the
    // token a verified delivery carries as the candidate in Optix's credentials secret
    // (shared/aws/src/api_tokens.rs: read, DescribeSecret to tell "no value yet" from
    // "missing", write). That one secret only, and only when Optix is synced.
    const optixSecret = props.platformSecrets.optix;
    if (optixSecret) {
      fns.ingest.addToRolePolicy(new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue'],
        resources: [optixSecret.arn],
      }));
    }
    this.allowPutEvents(fns.ingest);
    // The table, partition by partition: the look-ups the normalisers need and the replay records.
    for (const access of [INGEST_TABLE_ACCESS.read, INGEST_TABLE_ACCESS.write]) {
      fns.ingest.addToRolePolicy(new iam.PolicyStatement({
        actions: [...access.actions],
        resources: [table.tableArn],
        conditions: leadingKeys(access.partitions),
      }));
    }

    // ---- the event path: a queue (with DLQ) per route, filled by a rule on the bus ----
    const ruleDlq = this.queue('RuleTargetDlq', `${prefix}-rule-target-dlq`, { isDlq: true });
    for (const route of ROUTES) {
      const fn = fns[route.fn];
      const base = route.fn === 'on_edge' ? 'converge' : route.detailType;
      const dlq = this.queue(`${pascal(base)}Dlq`, `${prefix}-${base}-dlq`, { isDlq: true });
      const queue = this.queue(`${pascal(base)}Queue`, `${prefix}-${base}`, {
        // AWS: visibility at least 6 × the function timeout, so a retried batch is not
        // delivered again while the first attempt may still be running.
        visibilityTimeout: cdk.Duration.seconds(FUNCTIONS[route.fn].timeout.toSeconds() * 6),
        deadLetterQueue: { queue: dlq, maxReceiveCount: route.maxReceiveCount },
      });
      new events.Rule(this, `${pascal(base)}Rule`, {
        ruleName: `${prefix}-${base}`,
        eventBus: this.bus,
        eventPattern: { detailType: [route.detailType], ...(route.source ? { source: [route.source] } : {}) },
        targets: [
          new eventTargets.SqsQueue(queue, {
            deadLetterQueue: ruleDlq,
            retryAttempts: 185,
            maxEventAge: cdk.Duration.hours(24),
          }),
        ],
      });
      fn.addEventSource(new SqsEventSource(queue, {
        batchSize: route.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: route.maxConcurrency,
      }));
    }

    // ---- data and Kisi access, function by function ----
    for (const f of ['on_booking', 'on_plan_change', 'on_checkin'] as const) {
      this.allowTable(fns[f], table);
      this.allowPutEvents(fns[f]);
    }

    this.allowTable(fns.on_edge, table);
    this.allowSecrets(fns.on_edge, [props.kisiTokenSecret.arn]);
    this.allowSchedules(fns.on_edge, schedulesArn, ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule']);

    // reconcile also writes: audit records (including the brake's) and ownership of pairs that
    // vanished from Kisi (shared/engine/src/reconcile.rs). Kisi writes still go via converge.
    this.allowTable(fns.reconcile_15m, table, { gsi: 'gsi1' });
    this.allowSecrets(fns.reconcile_15m, [props.kisiTokenSecret.arn]);
    this.allowPutEvents(fns.reconcile_15m);
    this.allowSchedules(fns.reconcile_15m, schedulesArn, ['scheduler:CreateSchedule']);
    fns.reconcile_15m.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        // PutMetricData has no resource type: AWS requires "*". The namespace condition keeps
        // the function to its own metrics.
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': BRAKE_NAMESPACE } },
      }),
    );
    cdk.Validations.of(fns.reconcile_15m.role!).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `cloudwatch:PutMetricData supports no resource-level permissions (AWS requires "*"); the cloudwatch:namespace condition limits it to ${BRAKE_NAMESPACE}.`,
    });

    // ---- reconcile_15m every 15 minutes, through its own Scheduler role ----
    const reconcileScheduleRole = new iam.Role(this, 'ReconcileScheduleRole', {
      description: 'Assumed by EventBridge Scheduler for the 15-minute reconcile: invokes reconcile_15m only',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      inlinePolicies: {
        InvokeReconcile: new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fns.reconcile_15m.functionArn] })],
        }),
      },
    });
    new scheduler.CfnSchedule(this, 'ReconcileSchedule', {
      name: `${prefix}-reconcile-15m`,
      description: 'The 15-minute reconcile',
      scheduleExpression: 'rate(15 minutes)',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: fns.reconcile_15m.functionArn,
        roleArn: reconcileScheduleRole.roleArn,
        input: '{}',
        // A missed run is covered by the next one; the liveness alarm catches a stuck schedule.
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 300 },
      },
    });

    // ---- platform_sync: the platforms' APIs as the truth (issue 17) ----
    // One function; one schedule per platform, whose input names the platform.
    // Table: facts (read; the sync compares with every stored record, a Scan for sk = RECORD),
    // its own sync state and the audit (written). Secrets: only the platforms' credentials.
    this.allowTable(fns.platform_sync, table);
    fns.platform_sync.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Scan'], resources: [table.tableArn] }));
    this.allowPutEvents(fns.platform_sync);
    const platformSecretArns = config.syncPlatforms.map((p) => props.platformSecrets[p]!.arn);
    if (platformSecretArns.length > 0) this.allowSecrets(fns.platform_sync, platformSecretArns);
    // The re-reader: the platforms' credentials (read) and the bus; no table, no Kisi. Its
    // queue's consume grants come with the event source above.
    if (platformSecretArns.length > 0) this.allowSecrets(fns.platform_reread, platformSecretArns);
    this.allowPutEvents(fns.platform_reread);
    const syncScheduleRole = new iam.Role(this, 'SyncScheduleRole', {
      description: 'Assumed by EventBridge Scheduler for the platform syncs: invokes platform_sync only',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      inlinePolicies: {
        InvokeSync: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fns.platform_sync.functionArn] }),
            new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [syncFailures.queueArn] }),
          ],
        }),
      },
    });
    for (const platform of config.syncPlatforms) {
      new scheduler.CfnSchedule(this, `SyncSchedule${pascal(platform)}`, {
        name: `${prefix}-sync-${platform}`,
        description: `platform_sync of ${platform} every ${config.syncIntervalMinutes} minutes`,
        scheduleExpression: `rate(${config.syncIntervalMinutes} minutes)`,
        flexibleTimeWindow: { mode: 'OFF' },
        state: 'ENABLED',
        target: {
          arn: fns.platform_sync.functionArn,
          roleArn: syncScheduleRole.roleArn,
          input: JSON.stringify({ platform }),
          retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 300 },
          deadLetterConfig: { arn: syncFailures.queueArn },
        },
      });
    }

    // ---- alarms ----
    for (const q of [...this.dlqs]) {
      this.alarm(`${kebab(q.node.id)}-depth`, q.metricApproximateNumberOfMessagesVisible({ period: cdk.Duration.minutes(5), statistic: 'Maximum' }),
        `Messages in ${q.node.id}: something failed after all retries; inspect, fix, then redrive`);
    }
    for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
      this.alarm(`${name.replace(/_/g, '-')}-errors`, fns[name].metricErrors({ period: cdk.Duration.minutes(5), statistic: 'Sum' }),
        `${name} returned errors`);
    }

    // The one brake: on_edge (the converge worker) logs `metric = "BrakeHeld"` when it holds a
    // revoke past the hour's budget, and reconcile_15m logs it every run while holds wait for
    // the operator, so the alarm stays on until they are released or discarded. The filters
    // turn the log lines into the metric (the functions may also put it themselves); Maximum
    // ignores doubles.
    // platform_sync's held endings are the same brake to the operator: its `SyncHeld` lines
    // (logged when it holds and on every run while endings wait) feed the same metric.
    for (const fn of ['on_edge', 'reconcile_15m', 'platform_sync'] as const) {
      new logs.MetricFilter(this, `BrakeMetricFilter${pascal(fn)}`, {
        logGroup: this.logGroups[fn],
        filterPattern: logs.FilterPattern.literal(`"${fn === 'platform_sync' ? SYNC_HELD_LOG : BRAKE_METRIC}"`),
        metricNamespace: BRAKE_NAMESPACE,
        metricName: BRAKE_METRIC,
        metricValue: '1',
      });
    }
    this.alarm('brake-held', new cloudwatch.Metric({
      namespace: BRAKE_NAMESPACE,
      metricName: BRAKE_METRIC,
      statistic: 'Maximum',
      period: cdk.Duration.minutes(15),
    }), 'The brake holds revokes past its hourly budget, or a platform sync holds endings: check the platform and the mapping, then `access-sync brake status` and `release`/`discard` (sync endings: `access-sync sync confirm|discard <platform>`)');

    // Liveness: no reconcile run for an hour means the schedule or its role is broken.
    this.alarm('reconcile-not-running', fns.reconcile_15m.metricInvocations({ period: cdk.Duration.hours(1), statistic: 'Sum' }),
      'reconcile_15m has not run for an hour', {
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
  }

  // ---------------------------------------------------------------------------------------

  private readonly dlqs: sqs.Queue[] = [];
  private readonly logGroups = {} as Record<FunctionName, logs.LogGroup>;

  private rustFunction(
    name: FunctionName,
    functionName: string,
    spec: FunctionSpec,
    environment: Record<string, string>,
    extra: Partial<lambda.FunctionProps>,
  ): lambda.Function {
    const id = pascal(name);
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: this.config.logRetentionDays as logs.RetentionDays });
    this.logGroups[name] = logGroup;
    // Own role, no AWS managed policy: the basic execution policy would let the function
    // create log groups anywhere; this one may only write to its own.
    const role = new iam.Role(this, `${id}Role`, {
      description: `Execution role of ${name}`,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    // The log group's ARN ends in ":*" (its streams, created at run time): the one wildcard
    // here, confined to this function's own group.
    logGroup.grantWrite(role);
    return new RustFunction(this, id, {
      functionName,
      description: spec.description,
      manifestPath: WORKSPACE_MANIFEST,
      binaryName: BINARY[name],
      runtime: 'provided.al2023',
      architecture: lambda.Architecture.ARM_64,
      timeout: spec.timeout,
      memorySize: spec.memorySize,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment,
      reservedConcurrentExecutions: extra.reservedConcurrentExecutions,
      onFailure: extra.onFailure,
      retryAttempts: extra.retryAttempts,
    });
  }

  private queue(id: string, queueName: string, opts: { isDlq?: boolean; visibilityTimeout?: cdk.Duration; deadLetterQueue?: sqs.DeadLetterQueue }): sqs.Queue {
    const q = new sqs.Queue(this, id, {
      queueName,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: opts.isDlq ? cdk.Duration.days(14) : cdk.Duration.days(4),
      visibilityTimeout: opts.visibilityTimeout,
      deadLetterQueue: opts.deadLetterQueue,
    });
    if (opts.isDlq) {
      this.dlqs.push(q);
      cdk.Validations.of(q).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter queue; its depth is alarmed.' });
    }
    return q;
  }

  /** Read and write on the whole table (the private functions), plus Query on `opts.gsi`. */
  private allowTable(fn: lambda.Function, table: dynamodb.ITableV2, opts: { gsi?: string } = {}): void {
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: [...DYNAMO_READ, ...DYNAMO_WRITE],
      resources: [table.tableArn],
    }));
    if (opts.gsi) {
      fn.addToRolePolicy(new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${table.tableArn}/index/${opts.gsi}`],
      }));
    }
  }

  private allowSecrets(fn: lambda.Function, arns: string[]): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: arns }));
  }

  private allowPutEvents(fn: lambda.Function): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }));
  }

  private allowSchedules(fn: lambda.Function, schedulesArn: string, actions: string[]): void {
    // Schedules are named at run time (deterministic per edge), so the resource is every
    // schedule in the one group: "<group>/*". Nothing outside the group.
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [schedulesArn] }));
    cdk.Validations.of(fn.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${this.scheduleGroupName}/*]`,
      reason: `Edge schedules are named at run time (one per member/group edge), so the resource is "${this.scheduleGroupName}/*": only schedules in this deployment's edge group, no other group and no other scheduler resource.`,
    });
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['iam:PassRole'],
      resources: [this.schedulerRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    }));
  }

  /** An alarm named `<prefix>-<name>` (kebab-case), firing at >= 1 unless told otherwise. */
  private alarm(
    name: string,
    metric: cloudwatch.IMetric,
    description: string,
    opts: { comparisonOperator?: cloudwatch.ComparisonOperator; treatMissingData?: cloudwatch.TreatMissingData } = {},
  ): void {
    const alarm = new cloudwatch.Alarm(this, `${pascal(name)}Alarm`, {
      alarmName: `${this.config.prefix}-${name}`,
      alarmDescription: description,
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: opts.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: opts.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (this.alarmTopic) {
      alarm.addAlarmAction(new cwActions.SnsAction(this.alarmTopic));
      alarm.addOkAction(new cwActions.SnsAction(this.alarmTopic));
    }
    this.alarms.push(alarm);
  }
}

/**
 * Limits a DynamoDB statement to items whose partition key matches one of `patterns`.
 * ForAllValues is true for a request with no leading keys at all (a Scan), so the Null test
 * also requires the key to be present: a Scan granted here by mistake would still be refused.
 */
export function leadingKeys(patterns: readonly string[]): Record<string, unknown> {
  return {
    'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...patterns] },
    Null: { 'dynamodb:LeadingKeys': 'false' },
  };
}

function pascal(s: string): string {
  return s.split(/[_-]/).map((w) => (w ? w[0].toUpperCase() + w.slice(1) : w)).join('');
}

function kebab(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

// Every function: present, built from the workspace, arm64 on provided.al2023, JSON logs, and
// the environment the Rust `Config::from_env` (shared/aws/src/config.rs) needs.

import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { BINARY, CANONICAL_SECRET_ENV, FUNCTIONS, INGEST_CONCURRENCY, WORKSPACE_MANIFEST } from '../../lib/service-stack';
import { DEFAULT_RUST_LOG } from '../../lib/config';
import { PLATFORMS } from '../../lib/stateful-stack';
import { defaultSynth, FN, functionId, list, only, render, resources, roleOf, statementsOfRole, synth, target } from '../helpers';

const COMMON_ENV = [
  'TABLE_NAME',
  'SCHEDULE_GROUP',
  'CONVERGE_FUNCTION_ARN',
  'SCHEDULER_ROLE_ARN',
  'SCHEDULER_DLQ_ARN',
  'EVENT_BUS_NAME',
  'KISI_TOKEN_SECRET',
  'KISI_BASE_URL',
  'LEAD_MINUTES',
  'LAG_MINUTES',
  'BRAKE_SHARE_PER_HOUR',
  'BRAKE_FLOOR',
  'RUST_LOG',
];

describe('functions', () => {
  const { service, stacks } = defaultSynth();
  const fns = resources(service, 'AWS::Lambda::Function');

  it('are exactly the seven binaries, each under its fixed name', () => {
    assert.deepEqual(
      fns.map(([, r]) => r.Properties.FunctionName).sort(),
      Object.values(FN).sort(),
    );
    assert.deepEqual(Object.keys(FUNCTIONS).sort(), Object.keys(FN).sort());
  });

  it('run on arm64, provided.al2023, handler bootstrap, with JSON logs into their own log group', () => {
    for (const [id, r] of fns) {
      const p = r.Properties;
      assert.deepEqual(p.Architectures, ['arm64'], id);
      assert.equal(p.Runtime, 'provided.al2023', id);
      assert.equal(p.Handler, 'bootstrap', id);
      assert.equal(p.LoggingConfig.LogFormat, 'JSON', id);
      const lg = target(p.LoggingConfig.LogGroup)!;
      assert.equal(service.Resources[lg].Type, 'AWS::Logs::LogGroup', id);
      assert.equal(service.Resources[lg].Properties.RetentionInDays, 90, id);
    }
  });

  it('are built from the workspace root (the Cargo.toml cargo-lambda-cdk builds)', () => {
    const root = path.dirname(WORKSPACE_MANIFEST);
    for (const [id, r] of fns) assert.equal(r.Metadata['aws:asset:path'], root, id);
    for (const fn of Object.values(stacks.service.functions)) {
      assert.equal(fn.constructor.name, 'RustFunction');
    }
  });

  it('have timeouts and memory from the sizing table', () => {
    for (const [name, spec] of Object.entries(FUNCTIONS)) {
      const p = service.Resources[functionId(service, FN[name as keyof typeof FN])].Properties;
      assert.equal(p.Timeout, spec.timeout.toSeconds(), name);
      assert.equal(p.MemorySize, spec.memorySize, name);
    }
    // reconcile must finish before the next run starts.
    assert.ok(FUNCTIONS.reconcile_15m.timeout.toMinutes() < 15);
  });

  it('all carry the common environment', () => {
    const bus = only(service, 'AWS::Events::EventBus', () => true)[0];
    const schedulerRole = only(service, 'AWS::IAM::Role', (p) => p.Description?.startsWith('Assumed by EventBridge Scheduler for edge'))[0];
    const schedulerDlq = only(service, 'AWS::SQS::Queue', (p) => p.QueueName === 'access-sync-scheduler-dlq')[0];
    for (const [id, r] of fns) {
      if (r.Properties.FunctionName === FN.platform_sync || r.Properties.FunctionName === FN.platform_reread) continue; // their own, checked below
      const env = r.Properties.Environment.Variables;
      for (const k of COMMON_ENV) assert.ok(env[k] !== undefined, `${id} lacks ${k}`);
      assert.match(render(env.TABLE_NAME), /^\$\{Import:AccessSyncStateful:ExportsOutputRefTable/);
      assert.equal(env.SCHEDULE_GROUP, 'access-sync-edges');
      assert.equal(render(env.CONVERGE_FUNCTION_ARN), `arn:\${AWS::Partition}:lambda:eu-west-1:123456789012:function:${FN.on_edge}`);
      assert.equal(render(env.SCHEDULER_ROLE_ARN), `\${${schedulerRole}.Arn}`);
      assert.equal(render(env.SCHEDULER_DLQ_ARN), `\${${schedulerDlq}.Arn}`);
      assert.equal(render(env.EVENT_BUS_NAME), `\${${bus}}`);
      assert.equal(env.KISI_TOKEN_SECRET, 'access-sync/kisi-api-key');
      assert.equal(env.KISI_BASE_URL, 'https://api.kisi.io');
      assert.equal(env.LEAD_MINUTES, '5');
      assert.equal(env.LAG_MINUTES, '5');
      assert.equal(env.BRAKE_SHARE_PER_HOUR, '0.1');
      assert.equal(env.BRAKE_FLOOR, '20');
      assert.equal(env.RUST_LOG, DEFAULT_RUST_LOG);
    }
  });

  it('platform_sync gets its own environment: no Kisi, no edge schedules', () => {
    const bus = only(service, 'AWS::Events::EventBus', () => true)[0];
    const env = service.Resources[functionId(service, FN.platform_sync)].Properties.Environment.Variables;
    assert.deepEqual(Object.keys(env).sort(), [
      'EVENT_BUS_NAME', 'PLATFORM_SECRETS_PREFIX', 'RUST_LOG', 'SYNC_BRAKE_FLOOR', 'SYNC_BRAKE_SHARE',
      'SYNC_DEADLINE_MARGIN_SECONDS', 'SYNC_FULL_EVERY_HOURS', 'TABLE_NAME',
    ]);
    assert.equal(render(env.EVENT_BUS_NAME), `\${${bus}}`);
    assert.equal(env.PLATFORM_SECRETS_PREFIX, 'access-sync/platforms');
    assert.deepEqual([env.SYNC_BRAKE_SHARE, env.SYNC_BRAKE_FLOOR, env.SYNC_FULL_EVERY_HOURS], ['0.1', '5', '24']);
    // The margin leaves the function time to store its cursor before the timeout.
    assert.ok(Number(env.SYNC_DEADLINE_MARGIN_SECONDS) * 5 <= FUNCTIONS.platform_sync.timeout.toSeconds());
  });

  it('platform_reread runs platform_sync\'s binary with only what a re-read needs: no Kisi, no sync settings', () => {
    const bus = only(service, 'AWS::Events::EventBus', () => true)[0];
    const env = service.Resources[functionId(service, FN.platform_reread)].Properties.Environment.Variables;
    assert.deepEqual(Object.keys(env).sort(), ['EVENT_BUS_NAME', 'PLATFORM_SECRETS_PREFIX', 'RUST_LOG', 'TABLE_NAME']);
    assert.equal(render(env.EVENT_BUS_NAME), `\${${bus}}`);
    assert.equal(env.PLATFORM_SECRETS_PREFIX, 'access-sync/platforms');
    assert.equal(BINARY.platform_reread, 'platform_sync');
  });

  it('with optix in syncPlatforms, optix gets its schedule and the sync and the re-reader may read its credentials', () => {
    const both = synth({ syncPlatforms: 'officernd,optix' });
    const names = resources(both.service, 'AWS::Scheduler::Schedule').map(([, s]) => s.Properties.Name).sort();
    assert.ok(names.includes('access-sync-sync-optix') && names.includes('access-sync-sync-officernd'), names.join());
    for (const f of [FN.platform_sync, FN.platform_reread]) {
      const reads = statementsOfRole(both.service, roleOf(both.service, functionId(both.service, f)))
        .filter((s) => list<string>(s.Action).includes('secretsmanager:GetSecretValue'))
        .flatMap((s) => list(s.Resource).map(render));
      assert.equal(reads.length, 2, f);
      assert.ok(reads.some((r) => r.includes('PlatformOptix')), `${f}: ${reads.join()}`);
    }
  });

  it('platform_sync runs every 15 minutes per configured platform, the platform in the input, through a role that invokes it only', () => {
    const fnId = functionId(service, FN.platform_sync);
    const schedules = resources(service, 'AWS::Scheduler::Schedule').filter(([, s]) => target(s.Properties.Target.Arn) === fnId);
    assert.deepEqual(schedules.map(([, s]) => [s.Properties.Name, s.Properties.ScheduleExpression, s.Properties.Target.Input]),
      [['access-sync-sync-officernd', 'rate(15 minutes)', '{"platform":"officernd"}']]);
    const [, s] = schedules[0];
    const dlq = target(s.Properties.Target.DeadLetterConfig.Arn)!;
    assert.equal(service.Resources[dlq].Type, 'AWS::SQS::Queue');
    const role = target(s.Properties.Target.RoleArn)!;
    const stmts = statementsOfRole(service, role);
    assert.deepEqual(stmts.map((x) => [x.Action, list(x.Resource).map(render)]), [
      ['lambda:InvokeFunction', [`\${${fnId}.Arn}`]],
      ['sqs:SendMessage', [`\${${dlq}.Arn}`]],
    ]);
    const none = synth({ syncPlatforms: '' }).service;
    assert.equal(resources(none, 'AWS::Scheduler::Schedule').filter(([, x]) => x.Properties.Target.Input?.includes('platform')).length, 0);
  });

  it('only ingest gets the webhook secret names (the canonical route and each platform)', () => {
    for (const [, r] of fns) {
      const env = r.Properties.Environment.Variables;
      const webhookKeys = Object.keys(env).filter((k) => k.startsWith('WEBHOOK_SECRET_')).sort();
      if (r.Properties.FunctionName === FN.ingest) {
        assert.deepEqual(webhookKeys, ['WEBHOOK_SECRET_CANONICAL', ...PLATFORMS.map((p) => `WEBHOOK_SECRET_${p.toUpperCase()}`)].sort());
        assert.equal(CANONICAL_SECRET_ENV, 'WEBHOOK_SECRET_CANONICAL');
        assert.equal(env.WEBHOOK_SECRET_CANONICAL, 'access-sync/webhooks/canonical');
        for (const p of PLATFORMS) assert.equal(env[`WEBHOOK_SECRET_${p.toUpperCase()}`], `access-sync/webhooks/${p}`);
      } else {
        assert.deepEqual(webhookKeys, []);
      }
    }
  });

  it('CONVERGE_FUNCTION_ARN names the on_edge function that exists', () => {
    const onEdge = service.Resources[functionId(service, FN.on_edge)];
    const env = onEdge.Properties.Environment.Variables;
    assert.ok(render(env.CONVERGE_FUNCTION_ARN).endsWith(`:function:${onEdge.Properties.FunctionName}`));
  });

  it('on_edge, the only Kisi writer, platform_sync (one cursor per platform) and platform_reread (one client budget) have reserved concurrency 1', () => {
    const ones: string[] = [FN.on_edge, FN.platform_sync, FN.platform_reread];
    for (const f of ones) assert.equal(service.Resources[functionId(service, f)].Properties.ReservedConcurrentExecutions, 1, f);
    // No other function runs with that limit by accident, and only ingest is capped otherwise.
    for (const [, r] of fns) {
      const rc = r.Properties.ReservedConcurrentExecutions;
      if (ones.includes(r.Properties.FunctionName)) continue;
      assert.equal(rc, r.Properties.FunctionName === FN.ingest ? INGEST_CONCURRENCY : undefined);
    }
  });

  it('each function has a role of its own', () => {
    const roles = fns.map(([id]) => roleOf(service, id));
    assert.equal(new Set(roles).size, fns.length);
    for (const r of roles) assert.equal(service.Resources[r].Properties.ManagedPolicyArns, undefined);
  });

  it('ingest is reachable through a public function URL (signatures are checked in code)', () => {
    const ingest = functionId(service, FN.ingest);
    const [, url] = only(service, 'AWS::Lambda::Url', () => true);
    assert.equal(target(url.Properties.TargetFunctionArn), ingest);
    assert.equal(url.Properties.AuthType, 'NONE');
    const perms = resources(service, 'AWS::Lambda::Permission').filter(([, p]) => target(p.Properties.FunctionName) === ingest);
    assert.deepEqual(perms.map(([, p]) => p.Properties.Action).sort(), ['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl']);
    assert.ok(service.Outputs.IngestUrl);
  });

  it('async invocations: on_edge and platform_sync failures go to a queue, reconcile and platform_sync are not retried', () => {
    const cfgs = resources(service, 'AWS::Lambda::EventInvokeConfig');
    const byFn = new Map(cfgs.map(([, c]) => [target(c.Properties.FunctionName), c.Properties]));
    const edge = byFn.get(functionId(service, FN.on_edge))!;
    const dest = target(edge.DestinationConfig.OnFailure.Destination)!;
    assert.equal(service.Resources[dest].Type, 'AWS::SQS::Queue');
    assert.equal(byFn.get(functionId(service, FN.reconcile_15m))!.MaximumRetryAttempts, 0);
    const sync = byFn.get(functionId(service, FN.platform_sync))!;
    assert.equal(sync.MaximumRetryAttempts, 0);
    assert.equal(service.Resources[target(sync.DestinationConfig.OnFailure.Destination)!].Type, 'AWS::SQS::Queue');
  });
});

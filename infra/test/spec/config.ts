// CDK context: defaults, overrides (strings from -c or numbers from JSON), and one clear line
// per bad key.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_RUST_LOG, parseConfig } from '../../lib/config';
import { cdkJsonContext, synth } from '../helpers';

const from = (ctx: Record<string, unknown>) => parseConfig((k) => ctx[k]);

describe('configuration', () => {
  it('has defaults for everything', () => {
    assert.deepEqual(from({}), {
      prefix: 'access-sync',
      region: undefined,
      kisiBaseUrl: 'https://api.kisi.io',
      leadMinutes: 5,
      lagMinutes: 5,
      brakeShare: 0.1,
      brakeFloor: 20,
      rustLog: DEFAULT_RUST_LOG,
      logRetentionDays: 90,
      alarmTopicArn: undefined,
      syncPlatforms: ['officernd'],
      syncIntervalMinutes: 15,
      syncBrakeShare: 0.1,
      syncBrakeFloor: 5,
      syncFullEveryHours: 24,
    });
  });

  it('syncPlatforms: a list or comma-separated, only platforms with an API client, empty allowed', () => {
    assert.deepEqual(from({ syncPlatforms: 'OfficeRnD, officernd' }).syncPlatforms, ['officernd']);
    assert.deepEqual(from({ syncPlatforms: ['officernd'] }).syncPlatforms, ['officernd']);
    assert.deepEqual(from({ syncPlatforms: '' }).syncPlatforms, []);
    assert.deepEqual(from({ syncPlatforms: 'officernd,optix,nexudus,teamup' }).syncPlatforms, ['officernd', 'optix', 'nexudus', 'teamup']);
    assert.throws(() => from({ syncPlatforms: 'officernd,glofox' }), /syncPlatforms: "glofox" has no API client/);
  });

  it('cdk.json and cdk.context.example.json hold valid settings', () => {
    assert.equal(from(cdkJsonContext()).rustLog, DEFAULT_RUST_LOG, 'cdk.json repeats the default RUST_LOG');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const example = require('../../cdk.context.example.json');
    const c = from(example);
    assert.equal(c.region, 'eu-west-1');
  });

  it('the default RUST_LOG keeps the runtime, HTTP, TLS and SDK libraries at warn, the rest at info', () => {
    const directives = DEFAULT_RUST_LOG.split(',');
    assert.equal(directives[0], 'info');
    const quiet = new Map(directives.slice(1).map((d) => d.split('=') as [string, string]));
    for (const t of ['lambda_runtime', 'lambda_runtime_api_client', 'hyper', 'reqwest', 'aws_smithy_runtime', 'aws_config', 'h2', 'rustls']) {
      assert.equal(quiet.get(t), 'warn', t);
    }
    for (const [t, level] of quiet) {
      assert.equal(level, 'warn', t);
      assert.match(t, /^[a-z][a-z0-9_]*$/, `${t}: a crate target (underscores, as tracing names it)`);
      assert.ok(!t.startsWith('access_sync'), 'our own crates stay at info');
    }
  });

  it('accepts strings from -c as well as numbers', () => {
    const c = from({ leadMinutes: '15', lagMinutes: 0, brakeShare: '0.25', region: 'us-east-2', kisiBaseUrl: 'https://kisi.example.test/' });
    assert.equal(c.leadMinutes, 15);
    assert.equal(c.lagMinutes, 0);
    assert.equal(c.brakeShare, 0.25);
    assert.equal(c.region, 'us-east-2');
  });

  it('reports every bad key at once', () => {
    try {
      from({ leadMinutes: '-1', lagMinutes: 'soon', brakeShare: 2, brakeFloor: -1, kisiBaseUrl: 'http://api.kisi.io', region: 'Europe', prefix: 'Access Sync', logRetentionDays: 10, alarmTopicArn: 'ops',
        syncIntervalMinutes: 1, syncBrakeShare: 0, syncBrakeFloor: 'x', syncFullEveryHours: 0 });
      assert.fail('expected a ConfigError');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.problems.map((p) => p.split(':')[0]).sort(), [
        'alarmTopicArn', 'brakeFloor', 'brakeShare', 'kisiBaseUrl', 'lagMinutes', 'leadMinutes', 'logRetentionDays', 'prefix', 'region',
        'syncBrakeFloor', 'syncBrakeShare', 'syncFullEveryHours', 'syncIntervalMinutes',
      ]);
    }
  });

  it('context reaches the functions and the stack region', () => {
    const { service, stacks } = synth({ region: 'eu-central-1', leadMinutes: '10', lagMinutes: '2', brakeShare: '0.05', kisiBaseUrl: 'https://kisi.example.test', rustLog: 'debug' });
    assert.equal(stacks.service.region, 'eu-central-1');
    const fns = Object.values(service.Resources as Record<string, { Type: string; Properties: { Environment: { Variables: Record<string, unknown> } } }>).filter((r) => r.Type === 'AWS::Lambda::Function');
    for (const f of fns) {
      const env = f.Properties.Environment.Variables;
      assert.equal(env.RUST_LOG, 'debug');
      if (env.PLATFORM_SECRETS_PREFIX !== undefined) continue; // platform_sync: checked below
      assert.equal(env.LEAD_MINUTES, '10');
      assert.equal(env.LAG_MINUTES, '2');
      assert.equal(env.BRAKE_SHARE_PER_HOUR, '0.05');
      assert.equal(env.KISI_BASE_URL, 'https://kisi.example.test');
    }
  });

  it('the sync settings reach platform_sync and its schedules', () => {
    const { service } = synth({ syncIntervalMinutes: '30', syncBrakeShare: '0.2', syncBrakeFloor: '0', syncFullEveryHours: '6' });
    const fns = Object.values(service.Resources as Record<string, { Type: string; Properties: Record<string, any> }>);
    const sync = fns.filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === 'access-sync-platform-sync');
    assert.equal(sync.length, 1);
    const env = sync[0].Properties.Environment.Variables;
    assert.deepEqual([env.SYNC_BRAKE_SHARE, env.SYNC_BRAKE_FLOOR, env.SYNC_FULL_EVERY_HOURS], ['0.2', '0', '6']);
    const schedules = fns.filter((r) => r.Type === 'AWS::Scheduler::Schedule' && r.Properties.Target.Input?.includes('platform'));
    assert.deepEqual(schedules.map((s) => s.Properties.ScheduleExpression), ['rate(30 minutes)']);
  });
});

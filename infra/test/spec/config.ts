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
    });
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
      from({ leadMinutes: '-1', lagMinutes: 'soon', brakeShare: 2, brakeFloor: -1, kisiBaseUrl: 'http://api.kisi.io', region: 'Europe', prefix: 'Access Sync', logRetentionDays: 10, alarmTopicArn: 'ops' });
      assert.fail('expected a ConfigError');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.problems.map((p) => p.split(':')[0]).sort(), [
        'alarmTopicArn', 'brakeFloor', 'brakeShare', 'kisiBaseUrl', 'lagMinutes', 'leadMinutes', 'logRetentionDays', 'prefix', 'region',
      ]);
    }
  });

  it('context reaches the functions and the stack region', () => {
    const { service, stacks } = synth({ region: 'eu-central-1', leadMinutes: '10', lagMinutes: '2', brakeShare: '0.05', kisiBaseUrl: 'https://kisi.example.test', rustLog: 'debug' });
    assert.equal(stacks.service.region, 'eu-central-1');
    const fns = Object.values(service.Resources as Record<string, { Type: string; Properties: { Environment: { Variables: Record<string, unknown> } } }>).filter((r) => r.Type === 'AWS::Lambda::Function');
    for (const f of fns) {
      const env = f.Properties.Environment.Variables;
      assert.equal(env.LEAD_MINUTES, '10');
      assert.equal(env.LAG_MINUTES, '2');
      assert.equal(env.BRAKE_SHARE_PER_HOUR, '0.05');
      assert.equal(env.KISI_BASE_URL, 'https://kisi.example.test');
      assert.equal(env.RUST_LOG, 'debug');
    }
  });
});

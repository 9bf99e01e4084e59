// The stateful stack: the table the adapters expect (shared/aws/src/dynamo) and empty secrets,
// all retained when the stack goes.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { PLATFORMS } from '../../lib/stateful-stack';
import { defaultSynth, only, resources } from '../helpers';

describe('stateful stack', () => {
  const { stateful, stacks } = defaultSynth();

  it('has one table: pk/sk strings, gsi1 on gsi1pk/gsi1sk projecting all, on demand, PITR, TTL on ttl', () => {
    const [, t] = only(stateful, 'AWS::DynamoDB::GlobalTable', () => true);
    const p = t.Properties;
    assert.deepEqual(p.KeySchema, [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    assert.deepEqual(
      [...p.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
      ['gsi1pk', 'gsi1sk', 'pk', 'sk'].map((n) => ({ AttributeName: n, AttributeType: 'S' })),
    );
    assert.deepEqual(p.GlobalSecondaryIndexes, [
      {
        IndexName: 'gsi1',
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    assert.equal(p.BillingMode, 'PAY_PER_REQUEST');
    assert.deepEqual(p.TimeToLiveSpecification, { AttributeName: 'ttl', Enabled: true });
    for (const r of p.Replicas) {
      assert.equal(r.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, true);
      assert.equal(r.DeletionProtectionEnabled, true);
    }
    assert.equal(t.DeletionPolicy, 'Retain');
    assert.equal(t.UpdateReplacePolicy, 'Retain');
  });

  it('creates the Kisi key, one webhook secret per platform and the canonical route secret, without values, retained', () => {
    const secrets = resources(stateful, 'AWS::SecretsManager::Secret');
    assert.deepEqual(
      secrets.map(([, s]) => s.Properties.Name).sort(),
      ['access-sync/kisi-api-key', 'access-sync/webhooks/canonical', ...PLATFORMS.map((p) => `access-sync/webhooks/${p}`),
        'access-sync/platforms/officernd'].sort(),
    );
    for (const [id, s] of secrets) {
      assert.equal(s.Properties.SecretString, undefined, id);
      assert.equal(s.Properties.GenerateSecretString, undefined, id);
      assert.equal(s.DeletionPolicy, 'Retain', id);
      assert.match(s.Properties.Description, /put-secret-value/, id);
    }
  });

  it("the canonical route's secret says what it signs, and its name is an output", () => {
    const [, s] = only(stateful, 'AWS::SecretsManager::Secret', (p) => p.Name === 'access-sync/webhooks/canonical');
    assert.match(s.Properties.Description, /HMAC-SHA256/);
    assert.match(s.Properties.Description, /access-sync-signature: t=<unix>,v1=<hex>/);
    assert.match(s.Properties.Description, /empty, the route is closed/);
    assert.equal(stacks.stateful.canonicalWebhookSecret.name, 'access-sync/webhooks/canonical');
    assert.deepEqual(stateful.Outputs.CanonicalWebhookSecretName, { Value: 'access-sync/webhooks/canonical' });
    assert.deepEqual(stateful.Outputs.KisiApiKeySecretName, { Value: 'access-sync/kisi-api-key' });
  });

  it('is protected from deletion', () => {
    assert.equal(stacks.stateful.terminationProtection, true);
  });
});

// Alarms: every dead-letter queue's depth, every function's errors, the one brake, and
// reconcile liveness. A DLQ is found from the template (redrive targets, rule DLQs, the
// on_edge failure destination, the Scheduler DLQ), so a new DLQ without an alarm fails here.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { BRAKE_METRIC, BRAKE_NAMESPACE } from '../../lib/service-stack';
import { defaultSynth, FN, functionId, Json, list, resources, synth, target } from '../helpers';

const alarmsOf = (t: Json) => resources(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
const dim = (a: Json, name: string) => list<Json>(a.Dimensions).find((d) => d.Name === name)?.Value;

describe('alarms', () => {
  const { service } = defaultSynth();
  const alarms = alarmsOf(service);

  it('one on the depth of every dead-letter queue', () => {
    const dlqs = new Set<string>();
    for (const [, q] of resources(service, 'AWS::SQS::Queue')) {
      const d = target(q.Properties.RedrivePolicy?.deadLetterTargetArn);
      if (d) dlqs.add(d);
    }
    for (const [, r] of resources(service, 'AWS::Events::Rule')) {
      for (const t of r.Properties.Targets) if (t.DeadLetterConfig) dlqs.add(target(t.DeadLetterConfig.Arn)!);
    }
    for (const [, c] of resources(service, 'AWS::Lambda::EventInvokeConfig')) {
      const d = target(c.Properties.DestinationConfig?.OnFailure?.Destination);
      if (d) dlqs.add(d);
    }
    const env = service.Resources[functionId(service, FN.on_edge)].Properties.Environment.Variables;
    dlqs.add(target(env.SCHEDULER_DLQ_ARN)!);
    assert.equal(dlqs.size, 9); // + the reread queue's
    for (const d of dlqs) {
      const a = alarms.filter((x) => x.MetricName === 'ApproximateNumberOfMessagesVisible' && target(dim(x, 'QueueName')) === d);
      assert.equal(a.length, 1, `no depth alarm for ${d}`);
      assert.equal(a[0].Threshold, 1);
      assert.equal(a[0].ComparisonOperator, 'GreaterThanOrEqualToThreshold');
    }
  });

  it('one on the errors of every function', () => {
    for (const name of Object.values(FN)) {
      const id = functionId(service, name);
      const a = alarms.filter((x) => x.MetricName === 'Errors' && x.Namespace === 'AWS/Lambda' && target(dim(x, 'FunctionName')) === id);
      assert.equal(a.length, 1, name);
      assert.equal(a[0].Threshold, 1);
    }
  });

  it('one on the held-revokes metric of the one brake, fed from the on_edge and reconcile logs and platform_sync\'s held endings by metric filters', () => {
    const a = alarms.filter((x) => x.Namespace === BRAKE_NAMESPACE && x.MetricName === BRAKE_METRIC);
    assert.equal(a.length, 1);
    assert.equal(BRAKE_METRIC, 'BrakeHeld');
    assert.equal(a[0].AlarmName, 'access-sync-brake-held');
    assert.equal(a[0].Dimensions, undefined);
    assert.equal(a[0].Statistic, 'Maximum');
    assert.equal(a[0].ComparisonOperator, 'GreaterThanOrEqualToThreshold');
    const filters = resources(service, 'AWS::Logs::MetricFilter').map(([, f]) => f.Properties);
    assert.equal(filters.length, 3);
    const groups = new Set(filters.map((f) => target(f.LogGroupName)));
    for (const fn of [FN.on_edge, FN.reconcile_15m, FN.platform_sync]) {
      const r = service.Resources[functionId(service, fn)];
      assert.ok(groups.has(target(r.Properties.LoggingConfig.LogGroup)), `no filter on ${fn}'s log`);
    }
    for (const f of filters) {
      assert.deepEqual(f.MetricTransformations, [{ MetricNamespace: BRAKE_NAMESPACE, MetricName: BRAKE_METRIC, MetricValue: '1' }]);
    }
  });

  it('one when reconcile has not run for an hour', () => {
    const id = functionId(service, FN.reconcile_15m);
    const a = alarms.filter((x) => x.MetricName === 'Invocations' && target(dim(x, 'FunctionName')) === id);
    assert.equal(a.length, 1);
    assert.equal(a[0].ComparisonOperator, 'LessThanThreshold');
    assert.equal(a[0].TreatMissingData, 'breaching');
  });

  it('are named <prefix>-<what>, uniquely', () => {
    const names = alarms.map((a) => a.AlarmName as string);
    assert.equal(new Set(names).size, names.length);
    for (const n of names) assert.match(n, /^access-sync-[a-z0-9-]+$/);
    assert.ok(names.includes('access-sync-reconcile-15m-errors'));
    assert.ok(names.includes('access-sync-on-edge-failures-depth'));
  });

  it('notify the alarmTopicArn topic when one is configured, and nothing otherwise', () => {
    for (const a of alarms) assert.equal(a.AlarmActions, undefined);
    const topic = 'arn:aws:sns:eu-west-1:123456789012:ops';
    const withTopic = alarmsOf(synth({ alarmTopicArn: topic }).service);
    assert.equal(withTopic.length, alarms.length);
    for (const a of withTopic) {
      assert.deepEqual(a.AlarmActions, [topic]);
      assert.deepEqual(a.OKActions, [topic]);
    }
  });
});

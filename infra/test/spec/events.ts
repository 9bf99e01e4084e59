// The event path: bus rules route each detail-type to its queue, each queue feeds its function
// with partial batch failure reporting, has a DLQ with redrive, and a visibility timeout of at
// least 6 × the function timeout. Plus the Scheduler pieces (group, 15-minute reconcile).

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { INGEST_SOURCE } from '../../lib/service-stack';
import { defaultSynth, FN, functionId, Json, list, only, render, resources, target } from '../helpers';

describe('event routing', () => {
  const { service } = defaultSynth();
  const rules = resources(service, 'AWS::Events::Rule');
  const mappings = resources(service, 'AWS::Lambda::EventSourceMapping');
  const bus = only(service, 'AWS::Events::EventBus', () => true);

  /** The function (physical name) each queue feeds, via its event source mapping. */
  const fedBy = (queueId: string): string => {
    const [, m] = mappings.find(([, m]) => target(m.Properties.EventSourceArn) === queueId)!;
    return service.Resources[target(m.Properties.FunctionName)!].Properties.FunctionName;
  };

  it('the bus is named after the prefix', () => {
    assert.equal(bus[1].Properties.Name, 'access-sync');
  });

  const expected: Array<[string, string | undefined, string]> = [
    ['booking', INGEST_SOURCE, FN.on_booking],
    ['plan', INGEST_SOURCE, FN.on_plan_change],
    ['checkin', INGEST_SOURCE, FN.on_checkin],
    ['converge', undefined, FN.on_edge],
    // Optix webhooks are hints: ingest asks for a re-read, the API decides.
    ['reread', INGEST_SOURCE, FN.platform_reread],
  ];
  for (const [detailType, source, fn] of expected) {
    it(`detail-type ${detailType} reaches ${fn} through its own queue`, () => {
      const matching = rules.filter(([, r]) => list(r.Properties.EventPattern['detail-type']).includes(detailType));
      assert.equal(matching.length, 1);
      const [, rule] = matching[0];
      assert.equal(target(rule.Properties.EventBusName), bus[0]);
      assert.deepEqual(rule.Properties.EventPattern['detail-type'], [detailType]);
      assert.deepEqual(rule.Properties.EventPattern.source, source ? [source] : undefined);
      assert.equal(rule.Properties.Targets.length, 1);
      const t = rule.Properties.Targets[0];
      const queue = target(t.Arn)!;
      assert.equal(service.Resources[queue].Type, 'AWS::SQS::Queue');
      assert.equal(fedBy(queue), fn);
      // Delivery failures from the rule are kept, not dropped.
      assert.ok(target(t.DeadLetterConfig.Arn));
      assert.equal(t.RetryPolicy.MaximumRetryAttempts, 185);
    });
  }

  it('no two rules share a queue and every mapped queue is filled by a rule', () => {
    const ruleQueues = rules.map(([, r]) => target(r.Properties.Targets[0].Arn));
    assert.equal(new Set(ruleQueues).size, ruleQueues.length);
    assert.deepEqual(mappings.map(([, m]) => target(m.Properties.EventSourceArn)).sort(), [...ruleQueues].sort());
  });

  it('event source mappings report batch item failures', () => {
    assert.equal(mappings.length, 5);
    for (const [id, m] of mappings) {
      assert.deepEqual(m.Properties.FunctionResponseTypes, ['ReportBatchItemFailures'], id);
      assert.ok(m.Properties.BatchSize >= 1 && m.Properties.BatchSize <= 10, id);
    }
  });

  it('the converge and re-read pollers are held to the lowest concurrency SQS allows (on_edge and the re-reader run one at a time)', () => {
    for (const [, m] of mappings) {
      const fn = service.Resources[target(m.Properties.FunctionName)!].Properties.FunctionName;
      const one = fn === FN.on_edge || fn === FN.platform_reread;
      assert.deepEqual(m.Properties.ScalingConfig, one ? { MaximumConcurrency: 2 } : undefined, fn);
    }
  });

  it('every source queue has visibility >= 6 x its function timeout and a DLQ with redrive', () => {
    for (const [id, m] of mappings) {
      const queue = service.Resources[target(m.Properties.EventSourceArn)!].Properties;
      const fn = service.Resources[target(m.Properties.FunctionName)!].Properties;
      assert.ok(queue.VisibilityTimeout >= 6 * fn.Timeout, `${id}: ${queue.VisibilityTimeout} < 6 x ${fn.Timeout}`);
      const dlq = target(queue.RedrivePolicy.deadLetterTargetArn)!;
      assert.equal(service.Resources[dlq].Type, 'AWS::SQS::Queue');
      assert.ok(queue.RedrivePolicy.maxReceiveCount >= 3 && queue.RedrivePolicy.maxReceiveCount <= 10, id);
    }
  });

  it('every queue is encrypted and refuses plain HTTP', () => {
    const policies = resources(service, 'AWS::SQS::QueuePolicy');
    for (const [id, q] of resources(service, 'AWS::SQS::Queue')) {
      assert.equal(q.Properties.SqsManagedSseEnabled, true, id);
      const denies = policies
        .filter(([, p]) => list(p.Properties.Queues).some((x: Json) => target(x) === id))
        .flatMap(([, p]) => list(p.Properties.PolicyDocument.Statement))
        .filter((s: Json) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false');
      assert.equal(denies.length, 1, id);
    }
  });
});

describe('Scheduler', () => {
  const { service } = defaultSynth();

  it('has the edge schedule group', () => {
    only(service, 'AWS::Scheduler::ScheduleGroup', (p) => p.Name === 'access-sync-edges');
  });

  it('runs reconcile_15m every 15 minutes through a role that may invoke only reconcile_15m', () => {
    const [, s] = only(service, 'AWS::Scheduler::Schedule', (p) => p.Name === 'access-sync-reconcile-15m');
    const p = s.Properties;
    assert.equal(p.ScheduleExpression, 'rate(15 minutes)');
    assert.equal(p.State, 'ENABLED');
    assert.equal(p.FlexibleTimeWindow.Mode, 'OFF');
    const reconcile = functionId(service, FN.reconcile_15m);
    assert.equal(render(p.Target.Arn), `\${${reconcile}.Arn}`);
    const role = service.Resources[target(p.Target.RoleArn)!];
    const stmts = list(role.Properties.Policies).flatMap((x: Json) => list(x.PolicyDocument.Statement));
    assert.deepEqual(stmts, [{ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [reconcile, 'Arn'] } }]);
    assert.equal(role.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals['aws:SourceAccount'], '123456789012');
  });
});

// Least privilege, checked on the synthesised templates:
// - every Allow statement in every identity policy names its resources; a wildcard resource
//   fails the test unless it is in WILDCARDS below, with the reason AWS requires it;
// - each function's role holds exactly the actions its code uses;
// - the public ingest function's policy is exactly the statements it needs, statement by
//   statement (resources and conditions included);
// - the Scheduler role can invoke on_edge and nothing else.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import * as cdk from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { INGEST_TABLE_ACCESS } from '../../lib/service-stack';
import { PLATFORMS } from '../../lib/stateful-stack';
import { defaultSynth, synth, FN, functionId, Json, list, only, render, resources, roleOf, statementsOfRole, target } from '../helpers';

interface Wildcard {
  readonly actions: string[];
  readonly resource: RegExp;
  readonly reason: string;
  readonly condition?: Json;
}

/** The only wildcard resources allowed, each with the reason AWS needs it. */
const WILDCARDS: Wildcard[] = [
  {
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resource: /^<log group \w+>:\*$/,
    reason: "A log group's ARN ends in ':*' (its streams, created at run time); each function may write only to its own group.",
  },
  {
    actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'],
    resource: /^arn:\$\{AWS::Partition\}:scheduler:\$\{AWS::Region\}:\$\{AWS::AccountId\}:schedule\/access-sync-edges\/\*$/,
    reason: 'Edge schedules are named at run time, one per member/group edge; only schedules in the edge group.',
  },
  {
    actions: ['cloudwatch:PutMetricData'],
    resource: /^\*$/,
    reason: 'PutMetricData supports no resource-level permissions; the namespace condition keeps it to AccessSync.',
    condition: { StringEquals: { 'cloudwatch:namespace': 'AccessSync' } },
  },
];

/** A resource as text; a log group's GetAtt Arn is shown as the wildcard it really is. */
function resourceText(template: Json, r: Json): string {
  const id = target(r);
  if (id && r['Fn::GetAtt'] && template.Resources[id]?.Type === 'AWS::Logs::LogGroup') return `<log group ${id}>:*`;
  return render(r);
}

/** Every identity-policy statement in the template, with where it lives. */
function identityStatements(template: Json): Array<{ where: string; s: Json }> {
  const out: Array<{ where: string; s: Json }> = [];
  for (const [id, p] of resources(template, 'AWS::IAM::Policy')) {
    for (const s of list(p.Properties.PolicyDocument.Statement)) out.push({ where: id, s });
  }
  for (const [id, p] of resources(template, 'AWS::IAM::ManagedPolicy')) {
    for (const s of list(p.Properties.PolicyDocument.Statement)) out.push({ where: id, s });
  }
  for (const [id, r] of resources(template, 'AWS::IAM::Role')) {
    for (const p of list(r.Properties.Policies)) {
      for (const s of list((p as Json).PolicyDocument.Statement)) out.push({ where: `${id}/${(p as Json).PolicyName}`, s });
    }
  }
  return out;
}

/** Every statement that widens access beyond named resources, as readable lines. */
function violations(t: Json): string[] {
  const out: string[] = [];
  for (const { where, s } of identityStatements(t)) {
    const at = `${where}: ${JSON.stringify(s).slice(0, 300)}`;
    if (s.Effect !== 'Allow') out.push(`not an Allow: ${at}`);
    if (s.NotAction !== undefined || s.NotResource !== undefined) out.push(`NotAction/NotResource: ${at}`);
    const actions = list<string>(s.Action);
    for (const a of actions) if (a.includes('*')) out.push(`wildcard action ${a}: ${at}`);
    for (const r of list(s.Resource)) {
      const text = resourceText(t, r);
      if (!text.includes('*')) continue;
      const allowed = WILDCARDS.find(
        (w) =>
          w.resource.test(text) &&
          actions.every((a) => w.actions.includes(a)) &&
          (w.condition === undefined || JSON.stringify(s.Condition) === JSON.stringify(w.condition)),
      );
      if (!allowed) out.push(`wildcard resource ${text} for ${actions.join(',')} is not allow-listed: ${at}`);
    }
  }
  return out;
}

/** A statement as comparable text: effect, sorted actions, sorted resources, condition. */
function statementText(template: Json, s: Json): string {
  const actions = list<string>(s.Action).slice().sort();
  // Cross-stack imports carry a hash suffix; the logical id before it is what names the resource.
  const res = list(s.Resource).map((r) => resourceText(template, r).replace(/[0-9A-F]{8}\}$/, '}')).sort();
  const extra = Object.keys(s).filter((k) => !['Effect', 'Action', 'Resource', 'Condition'].includes(k));
  return [
    s.Effect,
    actions.join(','),
    'on ' + res.join(' '),
    s.Condition === undefined ? 'unconditional' : 'if ' + JSON.stringify(s.Condition),
    ...(extra.length ? ['unexpected keys ' + extra.join(',')] : []),
  ].join(' | ');
}

/** What ingest's role may do, one line per statement; anything else is a finding. */
function ingestPolicyFindings(template: Json, stateful: Json): string[] {
  const fnId = functionId(template, FN.ingest);
  const logGroup = target(template.Resources[fnId].Properties.LoggingConfig.LogGroup);
  const tableId = only(stateful, 'AWS::DynamoDB::GlobalTable', () => true)[0];
  const table = `\${Import:AccessSyncStateful:ExportsOutputFnGetAtt${tableId}Arn}`;
  const secret = (id: string) => `\${Import:AccessSyncStateful:ExportsOutputRefWebhook${id}}`;
  const leading = (partitions: readonly string[]) =>
    'if ' + JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': partitions }, Null: { 'dynamodb:LeadingKeys': 'false' } });
  const bus = only(template, 'AWS::Events::EventBus', () => true)[0];
  const expected = [
    `Allow | logs:CreateLogStream,logs:PutLogEvents | on <log group ${logGroup}>:* | unconditional`,
    `Allow | secretsmanager:GetSecretValue | on ${['Canonical', ...PLATFORMS.map((p) => p[0].toUpperCase() + p.slice(1))].map(secret).sort().join(' ')} | unconditional`,
    `Allow | events:PutEvents | on \${${bus}.Arn} | unconditional`,
    `Allow | dynamodb:GetItem,dynamodb:Query | on ${table} | ${leading(['MEMBER#*', 'TEAM#*', 'EMAIL#*'])}`,
    `Allow | dynamodb:PutItem | on ${table} | ${leading(['REPLAY#*'])}`,
  ];
  const actual = statementsOfRole(template, roleOf(template, fnId)).map((s) => statementText(template, s));
  const missing = expected.filter((e) => !actual.includes(e)).map((e) => `missing: ${e}`);
  const extra = actual.filter((a) => !expected.includes(a)).map((a) => `not allowed: ${a}`);
  const twice = actual.filter((a, i) => actual.indexOf(a) !== i).map((a) => `twice: ${a}`);
  return [...missing, ...extra, ...twice];
}

describe('IAM', () => {
  const { stateful, service } = defaultSynth();
  const templates: Array<[string, Json]> = [
    ['stateful', stateful],
    ['service', service],
  ];

  it('the allow-list gives a reason for every wildcard it permits', () => {
    for (const w of WILDCARDS) assert.ok(w.reason.length > 30, w.actions.join());
  });

  it('every identity statement is an Allow on named resources (wildcards only as allow-listed)', () => {
    for (const [name, t] of templates) assert.deepEqual(violations(t), [], name);
    assert.ok(identityStatements(service).length > 30);
  });

  it('the walk catches a wildcard that cdk-nag was told to accept', () => {
    const tweaked = synth({}, ({ service: svc }) => {
      const fn = svc.functions.on_checkin;
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Scan'], resources: ['*'] }));
      cdk.Validations.of(fn.role!).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'test: a bad grant slipped past review' });
    });
    const found = violations(tweaked.service);
    assert.equal(found.length, 1);
    assert.match(found[0], /wildcard resource \* for dynamodb:Scan/);
  });

  it('no role carries a managed policy', () => {
    for (const [, t] of templates) {
      for (const [id, r] of resources(t, 'AWS::IAM::Role')) assert.equal(r.Properties.ManagedPolicyArns, undefined, id);
    }
  });

  describe('each function holds exactly what its code uses', () => {
    const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
    const CONSUME = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
    const DYNAMO = [
      'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem',
      'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem',
    ];
    const expected: Record<keyof typeof FN, string[]> = {
      // ingest reads members and teams (an OfficeRnD member event needs its company's list)
      // and records replays; the statements, with their partitions, are checked below.
      ingest: [...LOGS, 'secretsmanager:GetSecretValue', 'events:PutEvents',
        'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'],
      on_booking: [...LOGS, ...CONSUME, ...DYNAMO, 'events:PutEvents'],
      on_plan_change: [...LOGS, ...CONSUME, ...DYNAMO, 'events:PutEvents'],
      on_checkin: [...LOGS, ...CONSUME, ...DYNAMO, 'events:PutEvents'],
      on_edge: [...LOGS, ...CONSUME, 'sqs:SendMessage', ...DYNAMO, 'secretsmanager:GetSecretValue',
        'scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'iam:PassRole'],
      reconcile_15m: [...LOGS, ...DYNAMO, 'secretsmanager:GetSecretValue', 'events:PutEvents',
        'scheduler:CreateSchedule', 'iam:PassRole', 'cloudwatch:PutMetricData'],
      // platform_sync compares with every stored record (FactStore::all_records, a Scan for
      // sk = RECORD), keeps its sync state and audit, reads the platforms' credentials and
      // publishes canonical events. No Kisi key, no schedules.
      platform_sync: [...LOGS, ...DYNAMO, 'dynamodb:Scan', 'secretsmanager:GetSecretValue', 'events:PutEvents',
        // its failure destination (what CDK grants for an SQS on-failure destination)
        'sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      // platform_reread consumes its queue, reads the platforms' credentials and publishes
      // what the API says. No table, no Kisi key, no schedules.
      platform_reread: [...LOGS, ...CONSUME, 'secretsmanager:GetSecretValue', 'events:PutEvents'],
    };
    const grants = (fn: keyof typeof FN): Map<string, string[]> => {
      const m = new Map<string, string[]>();
      for (const s of statementsOfRole(service, roleOf(service, functionId(service, FN[fn])))) {
        for (const a of list<string>(s.Action)) {
          m.set(a, [...(m.get(a) ?? []), ...list(s.Resource).map((r) => resourceText(service, r))]);
        }
      }
      return m;
    };

    for (const fn of Object.keys(expected) as Array<keyof typeof FN>) {
      it(`${fn}`, () => {
        const g = grants(fn);
        assert.deepEqual([...g.keys()].sort(), [...new Set(expected[fn])].sort());
        const fnId = functionId(service, FN[fn]);
        const logGroup = target(service.Resources[fnId].Properties.LoggingConfig.LogGroup);
        assert.deepEqual(g.get('logs:PutLogEvents'), [`<log group ${logGroup}>:*`]);
        for (const r of g.get('dynamodb:PutItem') ?? []) assert.match(r, /^\$\{Import:AccessSyncStateful:ExportsOutputFnGetAttTable\w+Arn\w*\}$/);
        for (const r of g.get('events:PutEvents') ?? []) assert.match(r, /^\$\{Bus\w+\.Arn\}$/);
        for (const r of g.get('iam:PassRole') ?? []) assert.match(r, /^\$\{SchedulerRole\w+\.Arn\}$/);
      });
    }

    it('only reconcile_15m queries the index, and only gsi1', () => {
      for (const fn of Object.keys(expected) as Array<keyof typeof FN>) {
        const idx = (grants(fn).get('dynamodb:Query') ?? []).filter((r) => r.includes('/index/'));
        assert.deepEqual(idx.map((r) => r.replace(/^.*\/index\//, '')), fn === 'reconcile_15m' ? ['gsi1'] : [], fn);
      }
    });

    it('ingest reads the canonical and four platform webhook secrets and nothing else; Kisi readers read only the Kisi key', () => {
      const ingest = grants('ingest').get('secretsmanager:GetSecretValue')!.map((r) => r.replace(/[0-9A-F]{8}\}$/, '}'));
      assert.deepEqual(ingest.sort(), ['Canonical', 'Nexudus', 'Officernd', 'Optix', 'Teamup'].map((p) => `\${Import:AccessSyncStateful:ExportsOutputRefWebhook${p}}`).sort());
      for (const fn of ['platform_sync', 'platform_reread'] as const) {
        assert.deepEqual(grants(fn).get('secretsmanager:GetSecretValue')!.map((r) => r.replace(/[0-9A-F]{8}\}$/, '}')),
          ['${Import:AccessSyncStateful:ExportsOutputRefPlatformOfficernd}'], fn);
      }
      for (const fn of ['on_edge', 'reconcile_15m'] as const) {
        assert.deepEqual(grants(fn).get('secretsmanager:GetSecretValue')!.map((r) => r.replace(/[0-9A-F]{8}\}$/, '}')), ['${Import:AccessSyncStateful:ExportsOutputRefKisiApiKey}']);
      }
    });

    it('with optix synced, ingest may read, describe and write the Optix credentials secret (offered tokens) and no other platform secret', () => {
      const both = synth({ syncPlatforms: 'officernd,optix' }).service;
      const stmts = statementsOfRole(both, roleOf(both, functionId(both, FN.ingest)));
      const onPlatforms = stmts.filter((s) => list(s.Resource).map((r) => resourceText(both, r)).some((r) => r.includes('RefPlatform')));
      assert.deepEqual(onPlatforms.map((s) => [list<string>(s.Action).sort(), list(s.Resource).map((r) => resourceText(both, r).replace(/[0-9A-F]{8}\}$/, '}'))]), [
        [['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'], ['${Import:AccessSyncStateful:ExportsOutputRefPlatformOptix}']],
      ]);
      const env = both.Resources[functionId(both, FN.ingest)].Properties.Environment.Variables;
      assert.equal(env.PLATFORM_SECRETS_PREFIX, 'access-sync/platforms');
      // Without optix: no such grant and no prefix (the default template, checked above).
      assert.equal(service.Resources[functionId(service, FN.ingest)].Properties.Environment.Variables.PLATFORM_SECRETS_PREFIX, undefined);
    });

    it('only the private functions write to any partition; ingest only to REPLAY#, the re-reader to none', () => {
      for (const fn of Object.keys(expected) as Array<keyof typeof FN>) {
        const stmts = statementsOfRole(service, roleOf(service, functionId(service, FN[fn])));
        const writes = stmts.filter((s) => list<string>(s.Action).some((a) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a)));
        if (fn === 'platform_reread') {
          assert.deepEqual(writes, []);
        } else if (fn === 'ingest') {
          assert.deepEqual(writes.map((s) => [s.Action, s.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys']]), [['dynamodb:PutItem', ['REPLAY#*']]]);
        } else {
          assert.ok(writes.length > 0, fn);
        }
      }
    });

    it('PassRole is limited to handing the Scheduler role to Scheduler', () => {
      for (const fn of ['on_edge', 'reconcile_15m'] as const) {
        const s = statementsOfRole(service, roleOf(service, functionId(service, FN[fn]))).find((x) => x.Action === 'iam:PassRole');
        assert.deepEqual(s.Condition, { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
      }
    });
  });

  describe('the public ingest function', () => {
    it('holds exactly its five statements: logs, the five webhook secrets, PutEvents on the bus, partition-bound reads and replay writes', () => {
      assert.deepEqual(ingestPolicyFindings(service, stateful), []);
    });

    it('the table statements come from INGEST_TABLE_ACCESS: no Scan, no batch, no index, no update or delete', () => {
      assert.deepEqual([...INGEST_TABLE_ACCESS.read.actions], ['dynamodb:GetItem', 'dynamodb:Query']);
      assert.deepEqual([...INGEST_TABLE_ACCESS.write.actions], ['dynamodb:PutItem']);
      for (const p of [...INGEST_TABLE_ACCESS.read.partitions, ...INGEST_TABLE_ACCESS.write.partitions]) {
        // A prefix up to '#' then '*': MEMBER#* must not also match MEMBEROF#…
        assert.match(p, /^[A-Z]+#\*$/);
      }
    });

    it('the check fails on an extra action, an extra resource, a widened partition or a lost condition', () => {
      const cases: Array<[string, (fn: iam.IGrantable & { addToRolePolicy(s: iam.PolicyStatement): void }, tableArn: string) => void, RegExp]> = [
        ['extra action', (fn) => fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: ['arn:aws:sqs:eu-west-1:123456789012:x'] })), /not allowed: Allow \| sqs:SendMessage/],
        ['extra secret', (fn) => fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:other'] })), /not allowed: .*secret:other/],
        ['wider partition', (fn, t) => fn.addToRolePolicy(new iam.PolicyStatement({
          actions: ['dynamodb:PutItem'], resources: [t],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['*'] }, Null: { 'dynamodb:LeadingKeys': 'false' } },
        })), /not allowed: Allow \| dynamodb:PutItem .*\["\*"\]/],
        ['unconditional read', (fn, t) => fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [t] })), /not allowed: Allow \| dynamodb:GetItem \| .* \| unconditional/],
      ];
      for (const [name, add, expect] of cases) {
        const tweaked = synth({}, ({ service: svc, stateful: st }) => add(svc.functions.ingest, st.table.tableArn));
        const found = ingestPolicyFindings(tweaked.service, tweaked.stateful);
        assert.equal(found.length, 1, `${name}: ${found.join('\n')}`);
        assert.match(found[0], expect, name);
      }
    });
  });

  describe('the Scheduler role for edge schedules', () => {
    const envArn = service.Resources[functionId(service, FN.on_edge)].Properties.Environment.Variables;
    const roleId = target(envArn.SCHEDULER_ROLE_ARN)!;
    const role = service.Resources[roleId];

    it('is assumed only by EventBridge Scheduler from this account', () => {
      assert.deepEqual(role.Properties.AssumeRolePolicyDocument.Statement, [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
        },
      ]);
    });

    it('can invoke on_edge and nothing else (and send what it cannot deliver to its DLQ)', () => {
      const stmts = statementsOfRole(service, roleId);
      const invoke = stmts.filter((s) => list<string>(s.Action).some((a) => a.startsWith('lambda:')));
      assert.equal(invoke.length, 1);
      assert.deepEqual(list(invoke[0].Action), ['lambda:InvokeFunction']);
      assert.deepEqual(list(invoke[0].Resource).map(render), [render(envArn.CONVERGE_FUNCTION_ARN)]);
      assert.equal(render(envArn.CONVERGE_FUNCTION_ARN), `arn:\${AWS::Partition}:lambda:eu-west-1:123456789012:function:${FN.on_edge}`);
      const rest = stmts.filter((s) => s !== invoke[0]);
      assert.deepEqual(rest, [{ Action: 'sqs:SendMessage', Effect: 'Allow', Resource: envArn.SCHEDULER_DLQ_ARN }]);
      assert.equal(role.Properties.ManagedPolicyArns, undefined);
    });

    it('is passed only by on_edge and reconcile_15m', () => {
      const passers = identityStatements(service)
        .filter(({ s }) => list<string>(s.Action).includes('iam:PassRole'))
        .map(({ where }) => where.replace(/DefaultPolicy\w+$/, ''))
        .sort();
      assert.deepEqual(passers, ['OnEdgeRole', 'Reconcile15mRole']);
    });
  });

  it('resource policies: only the function URL is open to everyone; queues accept only their rules', () => {
    const ingest = functionId(service, FN.ingest);
    for (const [id, p] of resources(service, 'AWS::Lambda::Permission')) {
      if (p.Properties.Principal === '*') {
        assert.equal(target(p.Properties.FunctionName), ingest, id);
        assert.ok(p.Properties.FunctionUrlAuthType === 'NONE' || p.Properties.InvokedViaFunctionUrl === true, id);
      }
    }
    for (const [id, qp] of resources(service, 'AWS::SQS::QueuePolicy')) {
      for (const s of list<Json>(qp.Properties.PolicyDocument.Statement)) {
        if (s.Effect === 'Deny') continue;
        assert.deepEqual(s.Principal, { Service: 'events.amazonaws.com' }, id);
        assert.ok(s.Condition?.ArnEquals?.['aws:SourceArn'], `${id}: no source ARN condition`);
        for (const r of list(s.Resource)) assert.ok(!render(r).includes('*'), id);
      }
    }
  });
});

// cdk-nag's AwsSolutions pack runs as a CDK validation plugin: synthesis fails on any finding
// that is not acknowledged. Every acknowledgement must carry its reason.

import * as cdk from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { defaultSynth, synth } from '../helpers';

describe('cdk-nag AwsSolutions', () => {
  // The pack runs in every synthesis (lib/app.ts registers it; the next test proves it bites).
  it('passes: the synthesis reports no violation', () => {
    const { app } = defaultSynth();
    const report = JSON.parse(readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));
    assert.deepEqual(report.pluginReports, []);
  });

  it('is really checking: an unencrypted queue without DLQ fails synthesis', () => {
    const log = console.log;
    console.log = () => {}; // the validation report is printed; keep test output readable
    try {
      assert.throws(
        () => synth({}, ({ service }) => new sqs.Queue(service, 'Careless', { encryption: sqs.QueueEncryption.UNENCRYPTED })),
        /Validation failed/,
      );
    } finally {
      console.log = log;
    }
  });

  it('every acknowledgement carries a reason', () => {
    const { app } = defaultSynth();
    const acks: Array<[string, string, string]> = [];
    for (const c of app.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type !== cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(m.data as Record<string, string>)) acks.push([c.node.path, id, reason]);
      }
    }
    assert.ok(acks.length > 0);
    for (const [where, id, reason] of acks) {
      assert.match(id, /AwsSolutions-/, where);
      assert.ok(typeof reason === 'string' && reason.length >= 40, `${where} ${id}: reason too thin: ${reason}`);
    }
    const ids = new Set(acks.map(([, id]) => id.replace(/^Annotation::/, '').replace(/\[.*$/, '')));
    assert.deepEqual([...ids].sort(), ['AwsSolutions-IAM5', 'AwsSolutions-SMG4', 'AwsSolutions-SQS3']);
  });
});

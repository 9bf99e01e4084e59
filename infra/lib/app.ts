// Builds the two stacks into an App; shared by bin/app.ts and the tests so they check the
// very tree `cdk synth` produces.

import * as cdk from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from './config';
import { ServiceStack } from './service-stack';
import { StatefulStack } from './stateful-stack';

export interface AccessSyncApp {
  readonly stateful: StatefulStack;
  readonly service: ServiceStack;
}

/**
 * Adds the stateful and service stacks and the cdk-nag AwsSolutions checks to `app`.
 * `defaults` stands in for the CLI's CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION (tests).
 */
export function buildApp(app: cdk.App, defaults: cdk.Environment = {}): AccessSyncApp {
  const config = loadConfig(app.node);
  const env: cdk.Environment = {
    account: defaults.account ?? process.env.CDK_DEFAULT_ACCOUNT,
    // The CLI puts its region (AWS_REGION, the profile, else us-east-1) into CDK_DEFAULT_REGION.
    region: config.region ?? defaults.region ?? process.env.CDK_DEFAULT_REGION,
  };
  const stateful = new StatefulStack(app, `${pascal(config.prefix)}Stateful`, {
    env,
    config,
    description: 'access-sync: DynamoDB table and secrets (retained on delete)',
    terminationProtection: true,
  });
  const service = new ServiceStack(app, `${pascal(config.prefix)}Service`, {
    env,
    config,
    description: 'access-sync: Rust functions, EventBridge bus and rules, SQS queues, Scheduler, alarms',
    table: stateful.table,
    kisiTokenSecret: stateful.kisiTokenSecret,
    webhookSecrets: stateful.webhookSecrets,
    canonicalWebhookSecret: stateful.canonicalWebhookSecret,
    platformSecrets: stateful.platformSecrets,
  });
  cdk.Tags.of(app).add('app', 'access-sync');
  cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { stateful, service };
}

function pascal(s: string): string {
  return s.split('-').map((w) => (w ? w[0].toUpperCase() + w.slice(1) : w)).join('');
}

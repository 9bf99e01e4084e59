// The stateful stack: what must outlive any redeploy of the functions.
//
// The DynamoDB table holds facts, ownership, idempotency records and the audit trail; the
// secrets hold credentials issued by Kisi and the platforms. Both are retained when the stack
// is deleted. The secrets are created EMPTY: a value never passes through a template, and a
// function reading an unfilled secret fails loudly instead of using a made-up value.

import * as cdk from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { AccessSyncConfig } from './config';

/** Platforms that call the ingest function URL, each with its own webhook secret. */
export const PLATFORMS = ['officernd', 'optix', 'nexudus', 'teamup'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** A secret created without a value: its name (for the functions) and ARN (for IAM). */
export interface EmptySecret {
  readonly name: string;
  readonly arn: string;
}

export interface StatefulStackProps extends cdk.StackProps {
  readonly config: AccessSyncConfig;
}

export class StatefulStack extends cdk.Stack {
  readonly table: dynamodb.TableV2;
  readonly kisiTokenSecret: EmptySecret;
  readonly webhookSecrets: Record<Platform, EmptySecret>;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { prefix } = props.config;

    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // TTL only tidies up: expiry checks live in the conditions (TTL deletes days late).
      timeToLiveAttribute: 'ttl',
      globalSecondaryIndexes: [
        {
          // The reconcile walk pages the sharded ownership entries through this index.
          indexName: 'gsi1',
          partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
          projectionType: dynamodb.ProjectionType.ALL,
        },
      ],
      deletionProtection: true,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });

    this.kisiTokenSecret = this.emptySecret(
      'KisiApiKey',
      `${prefix}/kisi-api-key`,
      'Kisi API key (plain string) used by on_edge and reconcile_15m. Fill with: aws secretsmanager put-secret-value',
    );
    const webhookSecrets = {} as Record<Platform, EmptySecret>;
    for (const platform of PLATFORMS) {
      webhookSecrets[platform] = this.emptySecret(
        `Webhook${platform[0].toUpperCase()}${platform.slice(1)}`,
        `${prefix}/webhooks/${platform}`,
        `Webhook signing secret issued by ${platform} (plain string), read by ingest. Fill with: aws secretsmanager put-secret-value`,
      );
    }
    this.webhookSecrets = webhookSecrets;

    new cdk.CfnOutput(this, 'TableName', { value: this.table.tableName });
    new cdk.CfnOutput(this, 'KisiApiKeySecretName', { value: this.kisiTokenSecret.name });
  }

  private emptySecret(id: string, name: string, description: string): EmptySecret {
    // L1 on purpose: the L2 `Secret` generates a random value when given none. With neither
    // SecretString nor GenerateSecretString, CloudFormation creates a secret with no value.
    const secret = new secretsmanager.CfnSecret(this, id, { name, description });
    secret.applyRemovalPolicy(cdk.RemovalPolicy.RETAIN);
    cdk.Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The value is issued by Kisi or the platform and can only be rotated there; an operator puts the new value (see infra/README.md). There is no rotation Lambda that could do it.',
    });
    return { name, arn: secret.ref };
  }
}

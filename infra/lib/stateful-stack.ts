// The stateful stack: what must outlive any redeploy of the functions.
//
// The DynamoDB table holds facts, ownership, idempotency records and the audit trail; the
// secrets hold credentials issued by Kisi and the platforms, and the signing secret of the
// installation's own canonical route. Both are retained when the stack is deleted. The secrets are created EMPTY: a value never passes through a template, and a
// function reading an unfilled secret fails loudly instead of using a made-up value.

import * as cdk from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { AccessSyncConfig, SyncPlatform } from './config';

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
  /** Signing secret of the canonical route (`POST /`, `/events`): the installation's own. */
  readonly canonicalWebhookSecret: EmptySecret;
  /** API credentials of each platform platform_sync reads (`syncPlatforms`). */
  readonly platformSecrets: Partial<Record<SyncPlatform, EmptySecret>>;

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

    // Issued elsewhere: only Kisi or the platform can rotate these (cdk-nag SMG4).
    const issuedElsewhere =
      'The value is issued by Kisi or the platform and can only be rotated there; an operator puts the new value (see infra/README.md). There is no rotation Lambda that could do it.';
    this.kisiTokenSecret = this.emptySecret(
      'KisiApiKey',
      `${prefix}/kisi-api-key`,
      'Kisi API key (plain string) used by on_edge and reconcile_15m. Fill with: aws secretsmanager put-secret-value',
      issuedElsewhere,
    );
    const webhookSecrets = {} as Record<Platform, EmptySecret>;
    for (const platform of PLATFORMS) {
      webhookSecrets[platform] = this.emptySecret(
        `Webhook${platform[0].toUpperCase()}${platform.slice(1)}`,
        `${prefix}/webhooks/${platform}`,
        `Webhook signing secret issued by ${platform} (plain string), read by ingest. Fill with: aws secretsmanager put-secret-value`,
        issuedElsewhere,
      );
    }
    this.webhookSecrets = webhookSecrets;
    // The canonical route's secret is the installation's own, shared with whatever sends
    // canonical events. Like the platforms' secrets, while it is empty the route is closed.
    this.canonicalWebhookSecret = this.emptySecret(
      'WebhookCanonical',
      `${prefix}/webhooks/canonical`,
      "Signing secret of this installation's canonical route (POST / and /events on the ingest URL), read by ingest: " +
        'the HMAC-SHA256 key for the header access-sync-signature: t=<unix>,v1=<hex> (plain string). ' +
        'While empty, the route is closed. Fill with: aws secretsmanager put-secret-value',
      'The value is shared with the senders of canonical events, which hold their own copy: a rotation Lambda could change it here but not there. ' +
        'An operator puts the new value and updates the senders (see infra/README.md).',
    );

    // The platform's API credentials for platform_sync (a JSON document whose fields the
    // platform's client documents; OfficeRnD: client_id, client_secret, org_slug). While empty,
    // each sync answers not_configured and changes nothing.
    this.platformSecrets = {};
    for (const platform of props.config.syncPlatforms) {
      this.platformSecrets[platform] = this.emptySecret(
        `Platform${platform[0].toUpperCase()}${platform.slice(1)}`,
        `${prefix}/platforms/${platform}`,
        `API credentials of ${platform} (JSON, see the README "Connect OfficeRnD"), read by platform_sync. Fill with: aws secretsmanager put-secret-value`,
        issuedElsewhere,
      );
    }

    new cdk.CfnOutput(this, 'TableName', { value: this.table.tableName });
    new cdk.CfnOutput(this, 'KisiApiKeySecretName', { value: this.kisiTokenSecret.name });
    new cdk.CfnOutput(this, 'CanonicalWebhookSecretName', { value: this.canonicalWebhookSecret.name });
  }

  /** An empty, retained secret; `rotationReason` says why it has no rotation Lambda (SMG4). */
  private emptySecret(id: string, name: string, description: string, rotationReason: string): EmptySecret {
    // L1 on purpose: the L2 `Secret` generates a random value when given none. With neither
    // SecretString nor GenerateSecretString, CloudFormation creates a secret with no value.
    const secret = new secretsmanager.CfnSecret(this, id, { name, description });
    secret.applyRemovalPolicy(cdk.RemovalPolicy.RETAIN);
    cdk.Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: rotationReason,
    });
    return { name, arn: secret.ref };
  }
}

// Deployment settings, read once from CDK context and checked before anything is built.
//
// Defaults live in `cdk.json`; override them per deployment with `-c key=value` or a
// `cdk.context.json` (see `cdk.context.example.json`). Values from `-c` arrive as strings,
// values from JSON files may be numbers, so every reader accepts both.

import { Node } from 'constructs';

/** Everything the stacks take from context. */
export interface AccessSyncConfig {
  /** Prefix of every physical name (stacks, secrets, functions, bus, schedule group). */
  readonly prefix: string;
  /** Region to deploy to; `undefined` means the CLI's region (`AWS_REGION` / profile). */
  readonly region?: string;
  /** Kisi API base URL, e.g. `https://api.kisi.io`. */
  readonly kisiBaseUrl: string;
  /** Default minutes access opens before a booking starts (mapping files may override). */
  readonly leadMinutes: number;
  /** Default minutes access stays open after a booking ends (mapping files may override). */
  readonly lagMinutes: number;
  /** The one brake: share of managed pairs that may lose access (revoke or shorter window) in any hour, all triggers together; past it revokes are held for the operator. */
  readonly brakeShare: number;
  /** Revokes always allowed per hour, however few pairs are managed. */
  readonly brakeFloor: number;
  /** `RUST_LOG` for every function. */
  readonly rustLog: string;
  /** Days CloudWatch Logs keeps function logs. */
  readonly logRetentionDays: number;
  /** Optional SNS topic ARN every alarm notifies; without it alarms only change state. */
  readonly alarmTopicArn?: string;
  /**
   * Platforms whose API platform_sync reads (issue 17): each gets its credentials secret
   * `<prefix>/platforms/<platform>` (empty until the operator fills it) and its own schedule.
   * Only platforms with an API client in this build (`SYNC_PLATFORMS`). A space on Optix needs
   * `optix` here: its webhooks are only hints, re-read through its API by platform_reread with
   * this secret (`{"token", "organization_id"}`, shared/sources/src/optix/secret.rs). So does a
   * space on TeamUp (`teamup`): its unsigned webhooks are only nudges re-read through its API.
   */
  readonly syncPlatforms: SyncPlatform[];
  /** Minutes between scheduled syncs of each platform. */
  readonly syncIntervalMinutes: number;
  /** A sync that would end more than this share of the platform's active entitlements ... */
  readonly syncBrakeShare: number;
  /** ... and more than this many, is held for the operator (`SYNC_BRAKE_FLOOR`). */
  readonly syncBrakeFloor: number;
  /** Longest time between complete full listings; incremental syncs in between. */
  readonly syncFullEveryHours: number;
}

/** Platforms with an API client (`access_sync_sources::connect`): one line per platform. */
export const SYNC_PLATFORMS = ['officernd', 'optix', 'nexudus', 'teamup'] as const;
export type SyncPlatform = (typeof SYNC_PLATFORMS)[number];

/**
 * Default `RUST_LOG`: everything at info, except the Lambda runtime, HTTP, TLS and AWS SDK
 * plumbing, which log requests (and at debug/trace their bodies: webhook payloads, personal
 * data) and are kept at warn. A target matches every target it prefixes (`hyper` also covers
 * `hyper_util`); the list names them anyway so each is visibly quiet. The functions redact on
 * their side too; an operator who needs the libraries' lines sets `rustLog` explicitly.
 */
export const DEFAULT_RUST_LOG = [
  'info',
  ...['lambda_runtime', 'lambda_runtime_api_client', 'lambda_http', 'hyper', 'hyper_util', 'h2', 'reqwest', 'rustls', 'tower',
    'aws_smithy_runtime', 'aws_smithy_http_client', 'aws_config'].map((t) => `${t}=warn`),
].join(',');

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** One problem per bad key, all reported at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`bad CDK context:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and checks the configuration from a construct tree's context (usually the App). */
export function loadConfig(node: Node): AccessSyncConfig {
  return parseConfig((key) => node.tryGetContext(key));
}

/** Reads and checks the configuration through `get` (context, or a map in tests). */
export function parseConfig(get: (key: string) => unknown): AccessSyncConfig {
  const problems: string[] = [];

  const text = (key: string, fallback?: string): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return fallback;
    if (typeof v !== 'string') {
      problems.push(`${key}: expected a string, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v.trim();
  };
  const number = (key: string, fallback: number, min: number, max: number, integer: boolean): number => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return fallback;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      problems.push(`${key}: expected ${integer ? 'a whole number' : 'a number'} in ${min}..${max}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return n;
  };

  // CloudWatch Logs accepts only these retention periods.
  const retention = (days: number): number => {
    if (!LOG_RETENTION_DAYS.includes(days)) {
      problems.push(`logRetentionDays: expected one of ${LOG_RETENTION_DAYS.join(', ')}, got ${days}`);
      return 90;
    }
    return days;
  };

  const prefix = text('prefix', 'access-sync')!;
  // Function names add up to 13 characters ("-reconcile-15m") and must stay within 64;
  // schedule group names allow [0-9a-zA-Z-_.]; secret names allow more, so this is the strictest.
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(prefix)) {
    problems.push(`prefix: expected lower-case letters, digits and '-', starting with a letter, at most 40 characters, got ${JSON.stringify(prefix)}`);
  }

  const region = text('region');
  if (region !== undefined && !/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region)) {
    problems.push(`region: expected an AWS region such as eu-west-1, got ${JSON.stringify(region)}`);
  }

  const kisiBaseUrl = text('kisiBaseUrl', 'https://api.kisi.io')!;
  try {
    const u = new URL(kisiBaseUrl);
    if (u.protocol !== 'https:') problems.push(`kisiBaseUrl: must be https, got ${JSON.stringify(kisiBaseUrl)}`);
  } catch {
    problems.push(`kisiBaseUrl: not a URL: ${JSON.stringify(kisiBaseUrl)}`);
  }

  const alarmTopicArn = text('alarmTopicArn');
  if (alarmTopicArn !== undefined && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/.test(alarmTopicArn)) {
    problems.push(`alarmTopicArn: expected an SNS topic ARN, got ${JSON.stringify(alarmTopicArn)}`);
  }

  // A list from a JSON file, or comma-separated from `-c syncPlatforms=officernd,nexudus`.
  const syncPlatforms = ((): SyncPlatform[] => {
    const v = get('syncPlatforms');
    if (v === undefined || v === null) return ['officernd'];
    const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [v];
    const out: SyncPlatform[] = [];
    for (const item of items) {
      const name = typeof item === 'string' ? item.trim().toLowerCase() : item;
      if (name === '') continue;
      if (!(SYNC_PLATFORMS as readonly unknown[]).includes(name)) {
        problems.push(`syncPlatforms: ${JSON.stringify(item)} has no API client (want some of ${SYNC_PLATFORMS.join(', ')})`);
      } else if (!out.includes(name as SyncPlatform)) {
        out.push(name as SyncPlatform);
      }
    }
    return out;
  })();

  const config: AccessSyncConfig = {
    prefix,
    region,
    kisiBaseUrl,
    leadMinutes: number('leadMinutes', 5, 0, 1440, true),
    lagMinutes: number('lagMinutes', 5, 0, 1440, true),
    // 0 would forbid every revoke; above 1 the brake could never hold.
    brakeShare: number('brakeShare', 0.1, 0.001, 1, false),
    brakeFloor: number('brakeFloor', 20, 0, 1000000, true),
    rustLog: text('rustLog', DEFAULT_RUST_LOG)!,
    logRetentionDays: retention(number('logRetentionDays', 90, 1, 3653, true)),
    alarmTopicArn,
    syncPlatforms,
    syncIntervalMinutes: number('syncIntervalMinutes', 15, 5, 1440, true),
    syncBrakeShare: number('syncBrakeShare', 0.1, 0.001, 1, false),
    syncBrakeFloor: number('syncBrakeFloor', 5, 0, 1000000, true),
    syncFullEveryHours: number('syncFullEveryHours', 24, 1, 744, true),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

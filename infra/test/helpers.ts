// Synthesises the app the way `cdk synth` does (cdk.json context, bundling skipped) and offers
// small lookups over the resulting CloudFormation JSON.

import * as cdk from 'aws-cdk-lib';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AccessSyncApp, buildApp } from '../lib/app';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Json = any;

export interface Synth {
  readonly app: cdk.App;
  readonly stacks: AccessSyncApp;
  readonly stateful: Json;
  readonly service: Json;
}

/** The context `cdk synth` would see from cdk.json. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')).context;
}

/** A fresh App with cdk.json's context plus `context`, without the Rust build. */
export function newApp(context: Record<string, unknown> = {}): cdk.App {
  // The two aws: keys are what the CLI sets: skip bundling (SKIP_BUNDLING) and write asset metadata.
  return new cdk.App({
    context: { ...cdkJsonContext(), ...context, 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-asset-metadata': true },
  });
}

/** Builds and synthesises the app; `tweak` may change the tree before synthesis. */
export function synth(context: Record<string, unknown> = {}, tweak?: (s: AccessSyncApp) => void): Synth {
  const app = newApp(context);
  const stacks = buildApp(app, { account: ACCOUNT, region: REGION });
  tweak?.(stacks);
  const assembly = app.synth();
  return {
    app,
    stacks,
    stateful: assembly.getStackByName(stacks.stateful.stackName).template,
    service: assembly.getStackByName(stacks.service.stackName).template,
  };
}

let cached: Synth | undefined;
/** The default synthesis, shared by the tests of one file. */
export function defaultSynth(): Synth {
  cached ??= synth();
  return cached;
}

/** Resources of `type` as [logicalId, resource] pairs. */
export function resources(template: Json, type: string): Array<[string, Json]> {
  return Object.entries(template.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
}

/** The one resource of `type` whose properties satisfy `pred`. */
export function only(template: Json, type: string, pred: (props: Json, id: string) => boolean): [string, Json] {
  const found = resources(template, type).filter(([id, r]) => pred(r.Properties ?? {}, id));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

/** `[x]` for a single value, the array itself for an array. */
export function list<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The logical id a `Ref` or `Fn::GetAtt` points at, else undefined. */
export function target(v: Json): string | undefined {
  if (v && typeof v === 'object') {
    if (typeof v.Ref === 'string') return v.Ref;
    if (Array.isArray(v['Fn::GetAtt'])) return v['Fn::GetAtt'][0];
  }
  return undefined;
}

/** Flattens an intrinsic into a readable string (`${Ref}`, `${Id.Arn}`, joins concatenated). */
export function render(v: Json): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    if (typeof v.Ref === 'string') return `\${${v.Ref}}`;
    if (Array.isArray(v['Fn::GetAtt'])) return `\${${v['Fn::GetAtt'].join('.')}}`;
    if (Array.isArray(v['Fn::Join'])) return (v['Fn::Join'][1] as Json[]).map(render).join(v['Fn::Join'][0]);
    if (v['Fn::ImportValue'] !== undefined) return `\${Import:${render(v['Fn::ImportValue'])}}`;
  }
  return JSON.stringify(v);
}

/** Logical id of the Lambda function with this physical name. */
export function functionId(template: Json, functionName: string): string {
  return only(template, 'AWS::Lambda::Function', (p) => p.FunctionName === functionName)[0];
}

/** Logical id of the role a function runs as. */
export function roleOf(template: Json, fnId: string): string {
  return target(template.Resources[fnId].Properties.Role)!;
}

/** Every identity-policy statement attached to a role: inline policies and AWS::IAM::Policy. */
export function statementsOfRole(template: Json, roleId: string): Json[] {
  const role = template.Resources[roleId];
  const inline = list(role.Properties.Policies).flatMap((p: Json) => list(p.PolicyDocument.Statement));
  const attached = resources(template, 'AWS::IAM::Policy')
    .filter(([, p]) => list(p.Properties.Roles).some((r: Json) => target(r) === roleId))
    .flatMap(([, p]) => list(p.Properties.PolicyDocument.Statement));
  return [...inline, ...attached];
}

/** Physical names of the functions, by binary name. */
export const FN = {
  ingest: 'access-sync-ingest',
  on_booking: 'access-sync-on-booking',
  on_plan_change: 'access-sync-on-plan-change',
  on_checkin: 'access-sync-on-checkin',
  on_edge: 'access-sync-on-edge',
  reconcile_15m: 'access-sync-reconcile-15m',
  platform_sync: 'access-sync-platform-sync',
  platform_reread: 'access-sync-platform-reread',
} as const;

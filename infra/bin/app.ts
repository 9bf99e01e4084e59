#!/usr/bin/env node
// Entry point of `npx cdk …` (see cdk.json).
//
// SKIP_BUNDLING=1 skips the Rust release build (cargo lambda build) for every stack, so CI and
// tests synthesise in seconds without the functions' binaries. `-c aws:cdk:bundling-stacks=[]`
// is refused by the CLI ("aws:" keys are reserved) and plain `context` is overridden by it,
// hence `postCliContext`.

import * as cdk from 'aws-cdk-lib';
import { buildApp } from '../lib/app';

const skipBundling = Boolean(process.env.SKIP_BUNDLING);
const app = new cdk.App(skipBundling ? { postCliContext: { 'aws:cdk:bundling-stacks': [] } } : {});
const { service } = buildApp(app);
if (skipBundling) {
  // Without bundling the function code asset is the bare workspace directory: fine for
  // templates, wrong for a deploy. Say so wherever the CLI prints warnings.
  cdk.Annotations.of(service).addWarningV2(
    'access-sync:skipBundling',
    'SKIP_BUNDLING is set: the Rust functions were not built. Use this synth for checks only; deploy from a synth without it (scripts/synth-full.sh).',
  );
}
app.synth();

#!/usr/bin/env node
// Entry point of `npx cdk …` (see cdk.json).
//
// SKIP_BUNDLING=1 skips the Rust release build (cargo lambda build) for every stack, so CI and
// tests synthesise in seconds without the functions' binaries. `-c aws:cdk:bundling-stacks=[]`
// is refused by the CLI ("aws:" keys are reserved) and plain `context` is overridden by it,
// hence `postCliContext`.

import * as cdk from 'aws-cdk-lib';
import { buildApp } from '../lib/app';

const app = new cdk.App(process.env.SKIP_BUNDLING ? { postCliContext: { 'aws:cdk:bundling-stacks': [] } } : {});
buildApp(app);
app.synth();

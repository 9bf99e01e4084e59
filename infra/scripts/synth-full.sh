#!/usr/bin/env bash
# Full synth: builds the six Rust functions for arm64 with cargo-lambda (release) and packages
# them into cdk.out, ready for `npx cdk deploy --app cdk.out`. Slow: ~4-5 min cold, then
# ~45 s per changed function. Needs cargo-lambda on PATH (`pip install cargo-lambda==1.9.2`, it
# brings zig) and the aarch64-unknown-linux-gnu target. No Docker: cargo-lambda-cdk falls back
# to Docker only when `cargo lambda` is missing, so that is checked first.
#
# Environment: CDK_DEFAULT_ACCOUNT (default 123456789012, enough for a synth) and AWS_REGION
# (default eu-west-1); extra arguments go to `cdk synth` (e.g. -c kisiBaseUrl=...).
set -euo pipefail
cd "$(dirname "$0")/.."

export CDK_DISABLE_CLI_TELEMETRY=true AWS_EC2_METADATA_DISABLED=true
unset SKIP_BUNDLING

if ! cargo lambda --version >/dev/null 2>&1; then
  echo "error: cargo-lambda not found on PATH. Install it (python3 -m venv .venv-tools && .venv-tools/bin/pip install cargo-lambda==1.9.2) and put its bin on PATH." >&2
  exit 1
fi
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi

[ -d node_modules ] || npm ci --no-audit --no-fund

# One build of all six binaries first, so the per-function bundling below only copies them.
BINS=(ingest on_booking on_plan_change on_checkin on_edge reconcile_15m)
( cd .. && cargo lambda build --release --arm64 "${BINS[@]/#/--bin=}" )

rm -rf cdk.out
CDK_DEFAULT_ACCOUNT="${CDK_DEFAULT_ACCOUNT:-123456789012}" AWS_REGION="${AWS_REGION:-eu-west-1}" \
  npx cdk synth -q --no-notices "$@"
ls -l cdk.out/asset.*/bootstrap 2>/dev/null || true

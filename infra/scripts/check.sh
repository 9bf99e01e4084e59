#!/usr/bin/env bash
# CI for the CDK app: install from the lockfile, type-check, template assertions (which include
# cdk-nag AwsSolutions), offline synth without the Rust build, cfn-lint on the templates.
# Needs node 20+ and npm; no AWS credentials, no Docker, no Rust. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

export CDK_DISABLE_CLI_TELEMETRY=true
# No credentials here: do not probe the EC2 metadata service for them.
export AWS_EC2_METADATA_DISABLED=true

START=$SECONDS
LAST=$SECONDS
step() {
  if [ -n "${STEP:-}" ]; then printf '== %s: %ss\n' "$STEP" $((SECONDS - LAST)); fi
  STEP="$*"
  LAST=$SECONDS
  printf '\n== %s\n' "$STEP"
}

step "npm ci"
npm ci --no-audit --no-fund

step "tsc (type check)"
npx tsc -p . --noEmit

step "npm test (template assertions + cdk-nag)"
npm test

step "cdk synth (SKIP_BUNDLING, offline)"
rm -rf cdk.out
SKIP_BUNDLING=1 CDK_DEFAULT_ACCOUNT=123456789012 AWS_REGION=eu-west-1 \
  npx cdk synth -q --no-notices

step "cfn-lint"
if ! command -v cfn-lint >/dev/null 2>&1; then
  # CI without the project's tool venv: install the pinned version next to the app (git-ignored).
  if [ ! -x .venv/bin/cfn-lint ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  fi
  export PATH="$PWD/.venv/bin:$PATH"
fi
cfn-lint --version
cfn-lint -i W3005 -- cdk.out/*.template.json

step "done"
printf '== infra checks passed in %ss\n' $((SECONDS - START))

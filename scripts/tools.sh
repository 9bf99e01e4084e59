# Sourced by scripts/test and scripts/demo: makes sure the tools the project needs are here.
# Installs into .venv-tools/ (git-ignored) from PyPI; safe to run again.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found. Install Rust 1.95 (https://rustup.rs) and run this again." >&2
  exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "error: python3 not found (needed for moto server and the scenario runner)." >&2
  exit 1
fi

MOTO_VERSION="5.2.1"
if [ ! -x .venv-tools/bin/moto_server ]; then
  echo "== installing moto[server]==$MOTO_VERSION into .venv-tools (once)"
  python3 -m venv .venv-tools
  .venv-tools/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
CARGO_LAMBDA_VERSION="1.9.2"
if [ ! -x .venv-tools/bin/cargo-lambda ]; then
  echo "== installing cargo-lambda==$CARGO_LAMBDA_VERSION into .venv-tools (once; brings zig)"
  [ -d .venv-tools ] || python3 -m venv .venv-tools
  .venv-tools/bin/pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
export PATH="$PWD/.venv-tools/bin:$PATH"

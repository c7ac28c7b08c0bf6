#!/usr/bin/env bash
# Runs the AWS SAM CLI from a project-local, git-ignored virtualenv (.venv/), installing the pinned
# version from PyPI on first use (and again only when the pin changes). Runs from the repo root, so
#   scripts/sam.sh validate --lint     lints template.yaml offline (cfn-lint; no AWS account needed)
#   scripts/sam.sh build               cross-compiles every function for arm64 (needs Go on PATH),
#                                      stripped and with -tags lambda.norpc (GOFLAGS below)
# Environment: PYTHON (default python3), SAM_CLI_VERSION (default the pin below).
set -euo pipefail

SAM_CLI_VERSION="${SAM_CLI_VERSION:-1.170.0}"
PYTHON="${PYTHON:-python3}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.aws-sam-cli-$SAM_CLI_VERSION"

install_sam() {
	if [ ! -x "$venv/bin/python" ]; then
		echo "sam.sh: creating $venv" >&2
		"$PYTHON" -m venv "$venv"
	fi
	echo "sam.sh: installing aws-sam-cli==$SAM_CLI_VERSION into $venv" >&2
	"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION"
	rm -f "$venv"/.aws-sam-cli-*
	touch "$stamp"
}

if [ ! -e "$stamp" ] || [ ! -x "$venv/bin/sam" ]; then
	# One installer at a time (make may run two sam targets back to back; two shells may race).
	mkdir -p "$venv"
	exec 9>"$venv/.install.lock"
	if command -v flock >/dev/null 2>&1; then flock 9; fi
	if [ ! -e "$stamp" ] || [ ! -x "$venv/bin/sam" ]; then
		install_sam
	fi
	exec 9>&-
fi

# No account is needed for validate --lint or build: no telemetry, no update check, a dummy region
# (the CLI wants one to be set) unless the caller chose one.
export SAM_CLI_TELEMETRY=0
export SAM_CLI_DISABLE_UPDATE_CHECK="${SAM_CLI_DISABLE_UPDATE_CHECK:-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-cn-north-1}}"

# The Go flags of every function's bootstrap (template.yaml's go1.x builder takes them only from the
# environment): stripped (-s -w: no symbol table, no DWARF), without aws-lambda-go's RPC mode
# (lambda.norpc: provided.al2023 speaks only the Runtime API) and without local paths (-trimpath,
# so the same commit builds the same bytes anywhere). Appended to the caller's GOFLAGS;
# Go splits GOFLAGS like a shell, hence the quotes around the -ldflags value.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -tags=lambda.norpc '-ldflags=-s -w'"

cd "$root"
exec "$venv/bin/sam" "$@"

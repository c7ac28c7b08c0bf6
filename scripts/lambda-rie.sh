#!/usr/bin/env bash
# AWS's Lambda Runtime Interface Emulator (aws-lambda-rie) for e2e/lambdarie, which runs every
# function's bootstrap from `sam build` under it.
#
#   scripts/lambda-rie.sh install    install it into .cache/bin/ (git-ignored) unless it is there at
#                                    the pinned version; also qemu-user-static when the bootstraps
#                                    are built for another CPU than this machine's (arm64 on x86-64)
#   scripts/lambda-rie.sh path       print where it is
#
# It comes from the Go module proxy (`go install …/cmd/aws-lambda-rie@$AWS_LAMBDA_RIE_VERSION`);
# the repository has no semver tags, so the pin is a pseudo-version (a commit). qemu-user-static
# comes from the system's package manager (apt-get, as root).
set -euo pipefail

# 2026-10-30, the newest commit the module proxy served on 2026-11-27.
VERSION=${AWS_LAMBDA_RIE_VERSION:-v0.0.0-20261030222936-bef5c4ba774d}
MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/.cache/bin
RIE=$BIN/aws-lambda-rie
STAMP=$BIN/.aws-lambda-rie-$VERSION
GO=${GO:-go}

say() { printf 'lambda-rie: %s\n' "$*" >&2; }

install_rie() {
	if [[ -x $RIE && -e $STAMP ]]; then return; fi
	mkdir -p "$BIN"
	say "installing $MODULE/cmd/aws-lambda-rie@$VERSION into $BIN"
	# The emulator for this machine's CPU, whatever GOOS/GOARCH the caller set.
	GOBIN=$BIN GOOS= GOARCH= GOFLAGS= CGO_ENABLED=0 "$GO" install "$MODULE/cmd/aws-lambda-rie@$VERSION"
	rm -f "$BIN"/.aws-lambda-rie-*
	touch "$STAMP"
}

# The template builds for arm64 (Globals Architectures); on another CPU the bootstraps run
# through qemu-user, as e2e/lambdarie does when it finds qemu-aarch64-static.
install_qemu() {
	local arch
	arch=$(uname -m)
	if [[ $arch == aarch64 || $arch == arm64 ]]; then return; fi
	if command -v qemu-aarch64-static >/dev/null 2>&1 || command -v qemu-aarch64 >/dev/null 2>&1; then return; fi
	if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
		say "the functions are built for arm64 and this machine is $arch: install qemu-user-static (apt-get install qemu-user-static)"
		exit 1
	fi
	say "installing qemu-user-static (runs the arm64 bootstraps on $arch)"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >&2
}

case ${1:-} in
install)
	install_rie
	install_qemu
	;;
path)
	echo "$RIE"
	;;
*)
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac

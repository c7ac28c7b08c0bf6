#!/usr/bin/env bash
# DynamoDB Local for tests and `make run STORE=dynamodb`.
#
#   scripts/dynamodb-local.sh start           start one instance; prints DYNAMODB_ENDPOINT=... and its run id
#   scripts/dynamodb-local.sh stop [RUN_ID]   stop that instance, or every one `start` started
#   scripts/dynamodb-local.sh run -- CMD ...  start, run CMD with DYNAMODB_ENDPOINT exported, always stop,
#                                             exit with CMD's status
#   scripts/dynamodb-local.sh install         only download (and cache) DynamoDB Local
#
# DynamoDB Local comes from Maven Central (mvn dependency:copy-dependencies on a generated pom) and is
# cached in .cache/dynamodb-local/ (git-ignored): the first run downloads, later runs reuse it. Each
# instance is in-memory, on a free port of 127.0.0.1, with its own state folder
# .cache/dynamodb-local/runs/<run id>/ holding pid, port and log, so concurrent runs do not meet.
#
# Environment: DYNAMODB_LOCAL_GROUP / DYNAMODB_LOCAL_VERSION choose the artifact,
# DYNAMODB_LOCAL_JAVA_OPTS adds JVM options (default -Xmx1g), DYNAMODB_LOCAL_CACHE moves the cache.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${DYNAMODB_LOCAL_CACHE:-$ROOT/.cache/dynamodb-local}
GROUP=${DYNAMODB_LOCAL_GROUP:-com.amazonaws}
VERSION=${DYNAMODB_LOCAL_VERSION:-2.6.1}
DIST=$CACHE/$GROUP-$VERSION
RUNS=$CACHE/runs
JAVA_OPTS=${DYNAMODB_LOCAL_JAVA_OPTS:--Xmx1g}
MAIN_CLASS=com.amazonaws.services.dynamodbv2.local.main.ServerRunner

say() { printf 'dynamodb-local: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}

check_java() {
	if ! command -v java >/dev/null 2>&1; then
		die "java not found. DynamoDB Local needs Java 17 or newer: apt-get install openjdk-17-jre-headless"
	fi
	local line major
	line=$(java -version 2>&1 | head -n 1)
	major=$(sed -E 's/.*version "([0-9]+)(\.([0-9]+))?.*/\1 \3/' <<<"$line")
	read -r major minor <<<"$major"
	if [[ $major == 1 ]]; then major=${minor:-0}; fi
	if ! [[ $major =~ ^[0-9]+$ ]] || ((major < 17)); then
		die "DynamoDB Local needs Java 17 or newer, found: $line. Install it: apt-get install openjdk-17-jre-headless"
	fi
}

# install fetches DynamoDB Local and its native sqlite4java libraries into $DIST/lib once.
install() {
	if [[ -f $DIST/.complete ]]; then return; fi
	command -v mvn >/dev/null 2>&1 || die "mvn not found; it fetches DynamoDB Local from Maven Central: apt-get install maven"
	mkdir -p "$CACHE"
	# One download at a time; a concurrent run waits and then finds it complete.
	exec 8>"$CACHE/.install.lock"
	flock 8
	if [[ -f $DIST/.complete ]]; then
		exec 8>&-
		return
	fi
	say "downloading $GROUP:DynamoDBLocal:$VERSION from Maven Central (first run only)"
	local tmp
	tmp=$(mktemp -d "$CACHE/.install.XXXXXX")
	cat >"$tmp/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.cadretrain</groupId>
  <artifactId>dynamodb-local-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>$GROUP</groupId>
      <artifactId>DynamoDBLocal</artifactId>
      <version>$VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
	# stripVersion gives the native library its plain name, libsqlite4java-linux-amd64.so, which
	# sqlite4java looks for on java.library.path.
	if ! mvn -B -q -f "$tmp/pom.xml" dependency:copy-dependencies \
		-DoutputDirectory="$tmp/lib" -Dmdep.stripVersion=true -DincludeScope=runtime >"$tmp/mvn.log" 2>&1; then
		cat "$tmp/mvn.log" >&2
		rm -rf "$tmp"
		exec 8>&-
		die "could not fetch $GROUP:DynamoDBLocal:$VERSION"
	fi
	if [[ ! -f $tmp/lib/DynamoDBLocal.jar ]] || ! ls "$tmp"/lib/libsqlite4java-linux-*.so >/dev/null 2>&1; then
		ls "$tmp/lib" >&2 || true
		rm -rf "$tmp"
		exec 8>&-
		die "the download lacks DynamoDBLocal.jar or the sqlite4java native libraries"
	fi
	rm -rf "$DIST"
	mv "$tmp" "$DIST"
	touch "$DIST/.complete"
	exec 8>&-
	say "cached in $DIST"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

answers() {
	if command -v curl >/dev/null 2>&1; then
		local code
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/" || true)
		[[ -n $code && $code != 000 ]]
	else
		port_in_use "$1"
	fi
}

# the pid recorded in a run folder, if that process is still the DynamoDB Local this script started there.
run_pid() {
	local dir=$1 pid
	[[ -f $dir/pid ]] || return 1
	pid=$(<"$dir/pid")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "-Dcadretrain.dynamodb.local=$dir " || return 1
	echo "$pid"
}

# start_instance starts DynamoDB Local and prints the run folder.
start_instance() {
	check_java
	install
	mkdir -p "$RUNS"
	local dir attempt port pid
	dir=$(mktemp -d "$RUNS/XXXXXXXX")
	for attempt in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 30000))
		if port_in_use "$port"; then continue; fi
		# shellcheck disable=SC2086
		(
			cd "$dir"
			exec java $JAVA_OPTS "-Dcadretrain.dynamodb.local=$dir" \
				-Djava.library.path="$DIST/lib" -Dsqlite4java.library.path="$DIST/lib" \
				-cp "$DIST/lib/*" "$MAIN_CLASS" -inMemory -sharedDb -disableTelemetry -port "$port" \
				</dev/null >"$dir/log" 2>&1
		) &
		pid=$!
		echo "$pid" >"$dir/pid"
		echo "$port" >"$dir/port"
		local i
		for ((i = 0; i < 300; i++)); do
			if ! kill -0 "$pid" 2>/dev/null; then break; fi
			if answers "$port"; then
				echo "http://127.0.0.1:$port" >"$dir/endpoint"
				echo "$dir"
				return 0
			fi
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			cat "$dir/log" >&2
			rm -rf "$dir"
			die "DynamoDB Local did not answer on port $port within 30s"
		fi
		# It exited: most likely the port was taken meanwhile. Try another one.
		wait "$pid" 2>/dev/null || true
		say "attempt $attempt on port $port failed; log: $(tail -n 3 "$dir/log" | tr '\n' ' ')"
	done
	cat "$dir/log" >&2
	rm -rf "$dir"
	die "could not start DynamoDB Local"
}

stop_instance() {
	local dir=$1 pid i
	if pid=$(run_pid "$dir"); then
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}

cmd=${1:-}
shift || true
case $cmd in
install)
	check_java
	install
	;;
start)
	dir=$(start_instance)
	# Remembered for a plain `stop`; instances of a concurrent `run` are not listed there.
	basename "$dir" >>"$CACHE/started"
	echo "DYNAMODB_ENDPOINT=$(<"$dir/endpoint")"
	echo "DYNAMODB_LOCAL_RUN=$(basename "$dir")"
	;;
stop)
	if [[ $# -gt 0 ]]; then
		[[ $1 =~ ^[A-Za-z0-9]+$ ]] || die "bad run id: $1"
		stop_instance "$RUNS/$1"
	elif [[ -f $CACHE/started ]]; then
		while read -r id; do
			[[ $id =~ ^[A-Za-z0-9]+$ ]] && stop_instance "$RUNS/$id"
		done <"$CACHE/started"
		rm -f "$CACHE/started"
	fi
	;;
run)
	[[ ${1:-} == -- ]] && shift
	[[ $# -gt 0 ]] || die "usage: $0 run -- CMD [ARGS...]"
	dir=$(start_instance)
	trap 'stop_instance "$dir"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	DYNAMODB_ENDPOINT=$(<"$dir/endpoint")
	export DYNAMODB_ENDPOINT
	say "DynamoDB Local at $DYNAMODB_ENDPOINT"
	status=0
	"$@" || status=$?
	exit "$status"
	;;
*)
	sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac

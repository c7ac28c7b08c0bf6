# Cadre training records backend. See README.md.
#   make run    the local server on 127.0.0.1:$(PORT) (embedded store; STORE=dynamodb for DynamoDB)
#   make test   everything: unit, store contract suite on both stores, end-to-end, SAM validate + build
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
PORT ?= 3000
STORE ?= embedded
CADRE_DATA_DIR ?= $(CURDIR)/.data
CADRE_CONFIG ?= $(CURDIR)/config/demo.json
export CADRE_DATA_DIR CADRE_CONFIG

.PHONY: run test unit vet sam-validate sam-build demo bench clean

# Built to bin/ and run directly (not `go run`, which reports a Ctrl-C'd program as a failure).
run:
	$(GO) build -o bin/cadred ./cmd/cadred
	exec bin/cadred -addr 127.0.0.1:$(PORT) -store $(STORE) $(if $(DYNAMODB_ENDPOINT),-dynamodb-endpoint $(DYNAMODB_ENDPOINT))

# Go tests run once, with DynamoDB Local started for the whole run (and stopped afterwards);
# CADRE_REQUIRE_DYNAMODB makes the DynamoDB tests fail rather than skip if it is not there.
test: vet
	CADRE_REQUIRE_DYNAMODB=1 scripts/dynamodb-local.sh run -- $(GO) test -count=1 -timeout 20m ./...
	$(MAKE) sam-validate sam-build

unit:
	$(GO) test -count=1 ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

sam-validate:
	scripts/sam.sh validate --lint

sam-build:
	scripts/sam.sh build

# Write throughput of the embedded store (docs/benchmarks.md says how to read the numbers).
bench:
	$(GO) test -run '^$$' -bench CreateRecord -benchtime 2s -count 3 ./shared/bolt/

clean:
	rm -rf .aws-sam bin

# make demo: build the local server and cmd/demo, start the server on a free port (DEMO_PORT to
# choose one) with a fresh temporary data dir, wait for GET /v1/health, load the demo data set
# through the API and print statuses and form entries; the server is always stopped afterwards.
# Against an already running `make run` (127.0.0.1:$(PORT)) load it directly, as often as you like:
#   go run ./cmd/demo                                  (or: go run ./cmd/demo -url http://127.0.0.1:$(PORT))
demo:
	@tmp=$$(mktemp -d); srv=; \
	trap 'if [ -n "$$srv" ]; then kill $$srv 2>/dev/null || true; wait $$srv 2>/dev/null || true; fi; rm -rf "$$tmp"' EXIT; \
	$(GO) build -o "$$tmp/cadred" ./cmd/cadred; \
	$(GO) build -o "$$tmp/demo" ./cmd/demo; \
	port=$${DEMO_PORT:-}; \
	while [ -z "$$port" ]; do p=$$((20000 + RANDOM % 40000)); \
	  if ! (exec 3<>/dev/tcp/127.0.0.1/$$p) 2>/dev/null; then port=$$p; fi; \
	done; \
	url=http://127.0.0.1:$$port; \
	CADRE_DATA_DIR="$$tmp/data" "$$tmp/cadred" -addr 127.0.0.1:$$port -store embedded 2>"$$tmp/cadred.log" & srv=$$!; \
	for i in $$(seq 1 150); do \
	  if curl -fsS -o /dev/null "$$url/v1/health" 2>/dev/null; then break; fi; \
	  if ! kill -0 $$srv 2>/dev/null; then echo "cadred did not start:" >&2; cat "$$tmp/cadred.log" >&2; exit 1; fi; \
	  sleep 0.1; \
	done; \
	curl -fsS -o /dev/null "$$url/v1/health" || { echo "cadred not healthy at $$url after 15s:" >&2; tail -20 "$$tmp/cadred.log" >&2; exit 1; }; \
	echo "cadred on $$url (data dir $$tmp/data, removed afterwards)"; \
	"$$tmp/demo" -url "$$url" || { rc=$$?; echo "--- cadred log (last 30 lines):" >&2; tail -30 "$$tmp/cadred.log" >&2; exit $$rc; }

# make load: like make demo, build the local server and cmd/loadgen, start the server on a free port
# (LOAD_PORT to choose one) with a fresh temporary data dir, run the bounded load against it
# (LOADGEN_FLAGS for more flags, e.g. LOADGEN_FLAGS='-concurrency 16') and print the server's peak
# RSS; the server is always stopped afterwards. docs/benchmarks.md says how to read the numbers.
# Against an already running `make run`: go run ./cmd/loadgen
.PHONY: load
load:
	@tmp=$$(mktemp -d); srv=; \
	trap 'if [ -n "$$srv" ]; then kill $$srv 2>/dev/null || true; wait $$srv 2>/dev/null || true; fi; rm -rf "$$tmp"' EXIT; \
	$(GO) build -o "$$tmp/cadred" ./cmd/cadred; \
	$(GO) build -o "$$tmp/loadgen" ./cmd/loadgen; \
	port=$${LOAD_PORT:-}; \
	while [ -z "$$port" ]; do p=$$((20000 + RANDOM % 40000)); \
	  if ! (exec 3<>/dev/tcp/127.0.0.1/$$p) 2>/dev/null; then port=$$p; fi; \
	done; \
	url=http://127.0.0.1:$$port; \
	CADRE_DATA_DIR="$$tmp/data" "$$tmp/cadred" -addr 127.0.0.1:$$port -store embedded 2>"$$tmp/cadred.log" & srv=$$!; \
	for i in $$(seq 1 150); do \
	  if curl -fsS -o /dev/null "$$url/v1/health" 2>/dev/null; then break; fi; \
	  if ! kill -0 $$srv 2>/dev/null; then echo "cadred did not start:" >&2; cat "$$tmp/cadred.log" >&2; exit 1; fi; \
	  sleep 0.1; \
	done; \
	curl -fsS -o /dev/null "$$url/v1/health" || { echo "cadred not healthy at $$url after 15s:" >&2; tail -20 "$$tmp/cadred.log" >&2; exit 1; }; \
	echo "cadred on $$url (data dir $$tmp/data, removed afterwards)"; \
	rc=0; "$$tmp/loadgen" -url "$$url" $(LOADGEN_FLAGS) || rc=$$?; \
	echo "cadred peak RSS: $$(awk '/VmHWM/ {print $$2, $$3}' /proc/$$srv/status 2>/dev/null || echo unknown)"; \
	if [ $$rc -ne 0 ]; then echo "--- cadred log (last 30 lines):" >&2; tail -30 "$$tmp/cadred.log" >&2; fi; \
	exit $$rc

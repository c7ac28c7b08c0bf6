# Cadre training records backend. See README.md.
#   make run    the local server on 127.0.0.1:$(PORT) (embedded store; STORE=dynamodb for DynamoDB)
#   make test   everything, in order: gofmt/vet, SAM validate + build, then the Go tests (unit, store
#               contract suite on both stores, end-to-end, the built functions under the Lambda emulator)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
PORT ?= 3000
STORE ?= embedded
CADRE_DATA_DIR ?= $(CURDIR)/.data
CADRE_CONFIG ?= $(CURDIR)/config/demo.json
export CADRE_DATA_DIR CADRE_CONFIG

.PHONY: run test unit vet fuzz chaos sam-validate sam-build lambda-rie lambda-sizes demo bench cost clean

# Built to bin/ and run directly (not `go run`, which reports a Ctrl-C'd program as a failure).
run:
	$(GO) build -o bin/cadred ./cmd/cadred
	exec bin/cadred -addr 127.0.0.1:$(PORT) -store $(STORE) $(if $(DYNAMODB_ENDPOINT),-dynamodb-endpoint $(DYNAMODB_ENDPOINT))

# In order: gofmt/vet, sam validate --lint, sam build (the bootstraps e2e/lambdarie runs), the Lambda
# emulator (installed once), then the Go tests once, with DynamoDB Local started for the whole run and
# stopped afterwards (the emulators are the tests' own children, stopped by them).
# CADRE_REQUIRE_DYNAMODB / CADRE_REQUIRE_RIE make those tests fail rather than skip if a part is missing.
test: vet sam-validate sam-build lambda-rie
	CADRE_REQUIRE_DYNAMODB=1 CADRE_REQUIRE_RIE=1 scripts/dynamodb-local.sh run -- $(GO) test -count=1 -timeout 20m ./...

unit:
	$(GO) test -count=1 ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	@test -x .cache/bin/staticcheck || GOBIN=$(CURDIR)/.cache/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	.cache/bin/staticcheck ./...

STATICCHECK_VERSION ?= v0.8.2

# Fuzz each fuzz target for FUZZTIME (default 30s) in turn; `make test` runs only their seed
# corpora (and what earlier runs found, in testdata/fuzz/).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do 	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do 	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; 	  done; 	done

sam-validate:
	scripts/sam.sh validate --lint

# Stripped, -tags lambda.norpc (scripts/sam.sh sets GOFLAGS; template.yaml says why).
sam-build:
	scripts/sam.sh build

# aws-lambda-rie into .cache/bin (and qemu-user-static where the arm64 bootstraps need it), if missing.
lambda-rie:
	scripts/lambda-rie.sh install

# Sizes of the built bootstraps and of their deployment zips (docs/benchmarks.md).
lambda-sizes:
	scripts/lambda-sizes.sh

# Write throughput of the embedded store (docs/benchmarks.md says how to read the numbers).
bench:
	$(GO) test -run '^$$' -bench CreateRecord -benchtime 2s -count 3 ./shared/bolt/

# The root unit report over REPORT_CADRES cadres (default 100,000) on the embedded store, checked equal
# to a recount from the records (docs/benchmarks.md “Unit report”). Seeding and the full recompute
# take minutes; the report itself is what is timed.
.PHONY: bench-report
bench-report:
	$(GO) test -run '^$$' -bench UnitReport -benchtime 20x -timeout 60m ./shared/app/

# DynamoDB request units and the AWS cost of webhook completions, counted by an SDK middleware
# against DynamoDB Local and priced at list prices (docs/benchmarks.md); COST_BATCHES=n batches of 100,
# COST_PER_CADRE=k completions of each cadre per batch (default 1).
cost:
	scripts/dynamodb-local.sh run -- $(GO) test -count=1 -run TestCostPerMillionCompletions -v ./shared/dynamo/

# The crash test: a fresh cadred under 10,000 signed webhook completions from 48 retrying senders,
# SIGKILLed and restarted 3 times, then lost / doubled / missing form entries counted through the
# API (must all be 0). CHAOS_FLAGS='-items 20000 -senders 64' for more.
chaos:
	$(GO) build -o bin/cadred ./cmd/cadred
	$(GO) build -o bin/chaos ./cmd/chaos
	bin/chaos -cadred bin/cadred $(CHAOS_FLAGS)

clean:
	rm -rf .aws-sam bin

# make demo: build the local server and cmd/demo, start the server on a free port (DEMO_PORT to
# choose one) with a fresh temporary data dir, wait for GET /v1/health, load the demo data set
# through the API and print statuses and form entries; the server is always stopped afterwards.
# Against an already running `make run` (127.0.0.1:$(PORT)) load it directly, as often as you like:
#   go run ./cmd/demo                                  (or: go run ./cmd/demo -url http://127.0.0.1:$(PORT))
demo:
	$(GO) build -o bin/demo ./cmd/demo
	SERVER_PORT=$(DEMO_PORT) scripts/with-server.sh bin/demo -url '{url}'

# make load: like make demo, build the local server and cmd/loadgen, start the server on a free port
# (LOAD_PORT to choose one) with a fresh temporary data dir, run the bounded load against it
# (LOADGEN_FLAGS for more flags, e.g. LOADGEN_FLAGS='-concurrency 16') and print the server's peak
# RSS; the server is always stopped afterwards. docs/benchmarks.md says how to read the numbers.
# Against an already running `make run`: go run ./cmd/loadgen
.PHONY: load
load:
	$(GO) build -o bin/loadgen ./cmd/loadgen
	SERVER_PORT=$(LOAD_PORT) SERVER_RSS=1 scripts/with-server.sh bin/loadgen -url '{url}' $(LOADGEN_FLAGS)

# make lag: the stream lag of issue 12 — a burst of 10,000 writes on a fresh embedded store (5,000
# self-study POSTs and 500 signed webhooks of 10 completions, half of them full-time, over 200
# cadres), then how long after the last acknowledged write every cadre's stored snapshot equals a
# fresh evaluation and every full-time completion has its appraisal form entry.
.PHONY: lag
lag:
	$(MAKE) --no-print-directory load LOADGEN_FLAGS='-cadres 200 -requests 5500 -mix write=10,webhook=1 -batch 10 -sample 200 $(LOADGEN_FLAGS)'

# make scale: seed SCALE_CADRES cadres × 10 records into a fresh embedded store (bulk path), then
# time a full recompute, the same with nothing changed and a 100,000-cadre unit, with file size,
# bytes per record and peak RSS beyond the mapped file. docs/benchmarks.md has the figures.
SCALE_CADRES ?= 100000
.PHONY: scale
scale:
	$(GO) build -o bin/cadrescale ./cmd/cadrescale
	bin/cadrescale -cadres $(SCALE_CADRES) $(SCALE_FLAGS)

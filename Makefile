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

run:
	$(GO) run ./cmd/cadred -addr 127.0.0.1:$(PORT) -store $(STORE) $(if $(DYNAMODB_ENDPOINT),-dynamodb-endpoint $(DYNAMODB_ENDPOINT))

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

clean:
	rm -rf .aws-sam bin

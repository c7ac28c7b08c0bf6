#!/usr/bin/env bash
# Writes the event templates of the Lambda emulator tests (e2e/lambdarie) with the pinned SAM CLI's
# `sam local generate-event` (scripts/sam.sh installs it), exactly as generated; the test adapts
# path, body, headers and records. Rerun after bumping SAM_CLI_VERSION and commit the result:
#   e2e/lambdarie/testdata/generate.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sam="$here/../../../scripts/sam.sh"
# An API Gateway HTTP API (payload format 2.0) request, what every HttpApi event delivers.
"$sam" local generate-event apigateway http-api-proxy >"$here/http-api-proxy.json"
# A DynamoDB stream batch (INSERT, MODIFY, REMOVE), what the DynamoDB events deliver.
"$sam" local generate-event dynamodb update >"$here/dynamodb-update.json"
# An EventBridge scheduled event.
"$sam" local generate-event cloudwatch scheduled-event >"$here/scheduled-event.json"
# An SQS batch, what the notice queue delivers to deliver-notices.
"$sam" local generate-event sqs receive-message >"$here/sqs-receive-message.json"

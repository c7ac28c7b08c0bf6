// Package docs carries the HTTP contract into the binary: docs/openapi.yaml, read by the
// end-to-end tests, which check every request and response against it, and its JSON form
// docs/openapi.json, served at GET /v1/openapi.json. docs/api.md explains the same contract in
// prose.
//
// openapi.json is generated from openapi.yaml (edit the YAML, then `go generate ./docs`;
// TestOpenAPIJSONIsGenerated fails while they differ), so that no binary links a YAML parser
// (docs/benchmarks.md “Lambda deployment packages”).
package docs

//go:generate go run ./genopenapi

import _ "embed"

// OpenAPIYAML is docs/openapi.yaml as written.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// OpenAPIJSON is docs/openapi.yaml as JSON (docs/openapi.json, generated).
//
//go:embed openapi.json
var OpenAPIJSON []byte

// Package docs carries the HTTP contract into the binary: docs/openapi.yaml, served as JSON at
// GET /v1/openapi.json and read by the end-to-end tests, which check every request and response
// against it. docs/api.md explains the same contract in prose.
package docs

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"gopkg.in/yaml.v3"
)

// OpenAPIYAML is docs/openapi.yaml as written.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(OpenAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml: %w", err)
	}
	return json.Marshal(jsonable(doc))
})

// OpenAPIJSON returns docs/openapi.yaml converted to JSON (converted once).
func OpenAPIJSON() ([]byte, error) { return openAPIJSON() }

// jsonable turns YAML's map[any]any (keys that are not strings, such as unquoted status codes)
// into map[string]any, which encoding/json can write.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	}
	return v
}

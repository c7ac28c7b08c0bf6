// Package openapijson converts docs/openapi.yaml to the JSON that GET /v1/openapi.json serves.
// It runs at `go generate ./docs` (docs/genopenapi writes docs/openapi.json) and in the
// test that keeps the two files equal, never in a server or function: the binaries embed the
// JSON, so none of them links a YAML parser.
package openapijson

import (
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Convert returns the YAML document as compact JSON (object keys sorted, as encoding/json writes
// maps), followed by a newline.
func Convert(yamlDoc []byte) ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(yamlDoc, &doc); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml: %w", err)
	}
	b, err := json.Marshal(jsonable(doc))
	if err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml as JSON: %w", err)
	}
	return append(b, '\n'), nil
}

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

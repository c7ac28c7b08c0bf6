package docs_test

import (
	"bytes"
	"testing"

	"github.com/cadre-training/cadretrain/docs"
	"github.com/cadre-training/cadretrain/docs/openapijson"
)

// TestOpenAPIJSONIsGenerated: the served docs/openapi.json is docs/openapi.yaml as it stands.
func TestOpenAPIJSONIsGenerated(t *testing.T) {
	want, err := openapijson.Convert(docs.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs.OpenAPIJSON, want) {
		t.Fatal("docs/openapi.json is not docs/openapi.yaml: run `go generate ./docs` and commit docs/openapi.json")
	}
}

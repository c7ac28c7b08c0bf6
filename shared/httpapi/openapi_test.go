package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cadre-training/cadretrain/docs"
	"github.com/cadre-training/cadretrain/docs/openapijson"
	"github.com/cadre-training/cadretrain/shared/httpapi"
)

// TestOpenAPIListsTheRouteTable: docs/openapi.yaml is a valid OpenAPI 3.1 document whose
// operations are exactly the route table, so a route cannot be served undocumented or documented
// unserved. (The e2e suite checks the bodies.)
func TestOpenAPIListsTheRouteTable(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	var inDoc, inTable []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			inDoc = append(inDoc, method+" "+path)
			if op.Responses == nil || op.Responses.Value("500") == nil {
				t.Errorf("%s %s: no 500 problem response", method, path)
			}
		}
	}
	for _, r := range httpapi.Routes() {
		inTable = append(inTable, r.Method+" "+r.Path)
	}
	slices.Sort(inDoc)
	slices.Sort(inTable)
	if !slices.Equal(inDoc, inTable) {
		t.Errorf("docs/openapi.yaml operations:\n  %s\nroute table:\n  %s", strings.Join(inDoc, "\n  "), strings.Join(inTable, "\n  "))
	}
}

// TestOpenAPIServedAsJSON: GET /v1/openapi.json needs no key and serves the embedded document.
func TestOpenAPIServedAsJSON(t *testing.T) {
	h := httpapi.New(httpapi.Deps{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/openapi.json", nil))
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	var got struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.OpenAPI, "3.1") || got.Paths["/v1/openapi.json"] == nil {
		t.Errorf("served document: openapi %q, %d paths", got.OpenAPI, len(got.Paths))
	}
	// What is served is docs/openapi.yaml as it stands (docs/openapi.json is generated from it).
	want, err := openapijson.Convert(docs.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(w.Body.Bytes()), bytes.TrimSpace(want)) {
		t.Error("GET /v1/openapi.json is not docs/openapi.yaml: run `go generate ./docs` and commit docs/openapi.json")
	}
}

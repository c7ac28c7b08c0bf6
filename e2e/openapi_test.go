package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/cadre-training/cadretrain/docs"
)

// The contract every request and response of this suite is checked against: docs/openapi.yaml,
// the same bytes the server serves at GET /v1/openapi.json.
var contract = sync.OnceValues(func() (routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(docs.OpenAPIYAML)
	if err != nil {
		return nil, err
	}
	// The servers list names make run's address; the suite's servers listen on free ports.
	doc.Servers = nil
	return legacy.NewRouter(doc)
})

// checkContract validates one exchange against docs/openapi.yaml and fails the test when it
// does not conform:
//   - a request to a path and method the document does not list must get a 404 problem;
//   - a request the document rejects must be refused by the server too (a 4xx): a server that
//     accepts it, or a document that forbids what the server serves, is drift either way;
//   - every response must match the document's response for its status (status listed,
//     Content-Type and body schema), problems included.
func checkContract(t *testing.T, hr *http.Request, reqBody []byte, r response) {
	t.Helper()
	router, err := contract()
	if err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if hr.Method == http.MethodOptions && hr.Header.Get("Access-Control-Request-Method") != "" {
		return // a CORS preflight is answered before routing; docs/api.md “CORS” describes it
	}
	// A copy with a fresh body: the sent one has been read.
	vr := hr.Clone(context.Background())
	vr.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(vr)
	if err == nil && strings.HasSuffix(vr.URL.Path, "/") != strings.HasSuffix(route.Path, "/") {
		// kin-openapi's router forgives a trailing slash; the document (and the server) do not.
		err = fmt.Errorf("no path %s (the document has %s)", vr.URL.Path, route.Path)
	}
	if err != nil {
		if r.status != http.StatusNotFound || !strings.HasPrefix(r.header.Get("Content-Type"), problemCT) {
			t.Errorf("contract: %s %s is not in docs/openapi.yaml (%v) but was answered %d %s", hr.Method, hr.URL.Path, err, r.status, r.header.Get("Content-Type"))
			return
		}
		schema := route0Problem(router)
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil || schema == nil {
			t.Errorf("contract: the 404 of an unlisted route is not a problem document: %s", r.body)
			return
		}
		if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("contract: the 404 of an unlisted route does not match Problem: %v", err)
		}
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && r.status < 400 {
		t.Errorf("contract: docs/openapi.yaml rejects the request %s %s, but the server answered %d:\n%v\nrequest body: %.500s", hr.Method, hr.URL.Path, r.status, reqErr, reqBody)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 r.status,
		Header:                 r.header,
		Body:                   io.NopCloser(bytes.NewReader(r.body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("contract: the response to %s %s (%d) does not match docs/openapi.yaml:\n%v\nbody: %.1000s", hr.Method, hr.URL.Path, r.status, err, r.body)
	}
}

// route0Problem returns the Problem schema of the document behind router.
func route0Problem(router routers.Router) *openapi3.Schema {
	probe, _ := http.NewRequest("GET", "/v1/health", nil)
	route, _, err := router.FindRoute(probe)
	if err != nil || route.Spec.Components == nil {
		return nil
	}
	if s, ok := route.Spec.Components.Schemas["Problem"]; ok && s.Value != nil {
		return s.Value
	}
	return nil
}

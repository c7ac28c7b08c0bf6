package httpapi_test

import (
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/httpapi"
)

// TestCORS: a browser page from a configured origin (cors_origins) gets its preflight answered
// and may read responses; another origin's preflight is a 403 problem and its responses carry no
// CORS headers (docs/api.md “CORS”).
func TestCORS(t *testing.T) {
	cfg, err := config.Parse([]byte(`{"cors_origins": ["https://hr.example.gov.cn"]}`))
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(httpapi.Deps{Config: config.Static(cfg), StoreKind: "embedded"})
	serve := func(method, origin string, header map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/v1/health", nil)
		r.Header.Set("Origin", origin)
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	pre := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}
	for _, tc := range []struct {
		name, method, origin string
		header               map[string]string
		status               int
		allowOrigin          string
		allowMethods         string
	}{
		{"preflight, allowed", "OPTIONS", "https://hr.example.gov.cn", pre, 204, "https://hr.example.gov.cn", "GET, PUT, POST"},
		{"preflight, other origin", "OPTIONS", "https://evil.example.com", pre, 403, "", ""},
		{"request, allowed", "GET", "https://hr.example.gov.cn", nil, 200, "https://hr.example.gov.cn", ""},
		{"request, other origin", "GET", "https://evil.example.com", nil, 200, "", ""},
		{"OPTIONS that is no preflight", "OPTIONS", "https://hr.example.gov.cn", nil, 404, "https://hr.example.gov.cn", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(tc.method, tc.origin, tc.header)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != tc.allowOrigin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.allowOrigin)
			}
			if got := w.Header().Get("Access-Control-Allow-Methods"); got != tc.allowMethods {
				t.Errorf("Access-Control-Allow-Methods %q, want %q", got, tc.allowMethods)
			}
			if !slices.Contains(w.Header().Values("Vary"), "Origin") {
				t.Errorf("Vary %v lacks Origin", w.Header().Values("Vary"))
			}
			if tc.status >= 400 && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
				t.Errorf("Content-Type %q, want a problem", w.Header().Get("Content-Type"))
			}
		})
	}
	if w := serve("GET", "https://hr.example.gov.cn", nil); !strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "Content-Disposition") {
		t.Errorf("Access-Control-Expose-Headers %q", w.Header().Get("Access-Control-Expose-Headers"))
	}
}

// TestCORSMatchesTemplate: template.yaml's HttpApi CorsConfiguration (API Gateway answers CORS in
// AWS) allows the same methods and headers as the handler.
func TestCORSMatchesTemplate(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	n := find(&root, "Resources", "HttpApi", "Properties", "CorsConfiguration")
	if n == nil || n.Tag != "!If" || len(n.Content) != 3 {
		t.Fatalf("HttpApi CorsConfiguration is not !If [HasCorsOrigins, {…}, !Ref AWS::NoValue]")
	}
	var cors struct {
		AllowMethods  []string `yaml:"AllowMethods"`
		AllowHeaders  []string `yaml:"AllowHeaders"`
		ExposeHeaders []string `yaml:"ExposeHeaders"`
		MaxAge        string   `yaml:"MaxAge"`
	}
	if err := n.Content[1].Decode(&cors); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what      string
		tpl, code []string
	}{
		{"AllowMethods", cors.AllowMethods, httpapi.CORSAllowMethods},
		{"AllowHeaders", cors.AllowHeaders, httpapi.CORSAllowHeaders},
		{"ExposeHeaders", cors.ExposeHeaders, httpapi.CORSExposeHeaders},
		{"MaxAge", []string{cors.MaxAge}, []string{httpapi.CORSMaxAge}},
	} {
		if !slices.Equal(c.tpl, c.code) {
			t.Errorf("%s: template %v, handler %v", c.what, c.tpl, c.code)
		}
	}
}

// find walks mapping keys from n (a document node or a mapping).
func find(n *yaml.Node, path ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, key := range path {
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// FuzzRequestBodies sends arbitrary bodies through the real handlers (a real embedded store):
// every answer is a JSON document with a 2xx or 4xx status — never a 500, a panic or plain text.
// The webhook bodies are signed with the platform's secret, so they reach the parser.
func FuzzRequestBodies(f *testing.F) {
	seeds := []string{
		`{"name": "张三", "unit": "cn/cq/yuzhong", "rank": "principal_staff_1"}`,
		`{"name": "张三", "unit": "cn/cq", "unit": "cn/sc", "rank": "一级主任科员"}`,
		`{"hours": 1.5, "studied_on": "2026-03-02"}`,
		`{"hours": 1e400, "studied_on": "0000-01-01"}`,
		`{"event_id": "e1", "cadre_id": "c-1", "kind": "centralized", "full_time": true, "start_date": "2026-03-01", "end_date": "2026-04-30", "hours": 320}`,
		`{"completions": [{"event_id": "e2", "cadre_id": "c-1", "kind": "online", "hours": 2, "studied_on": "2026-03-02"}, {}]}`,
		`{"reason": "误报"}`,
		`{"cadre_id": "c-1"}`,
		"{\"name\": \"\xff\"}", `[]`, `null`, `{"a":`, "",
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	fx := newFixture(f, "")
	if w := fx.do("PUT", "/v1/cadres/c-1", "demo-hr-key-cq-not-for-production", strings.NewReader(seeds[0])); w.Code != 201 {
		f.Fatalf("setup: %d %s", w.Code, w.Body)
	}
	wh, err := standardwebhooks.NewWebhook("whsec_ZGVtby1wbGF0Zm9ybS1zZWNyZXQtMDAwMi1uZXdrZXk=")
	if err != nil {
		f.Fatal(err)
	}
	routes := []struct{ method, path, key string }{
		{"PUT", "/v1/cadres/c-1", "demo-hr-key-cq-not-for-production"},
		{"POST", "/v1/cadres/c-1/self-study", "demo-hr-key-cq-not-for-production"},
		{"POST", "/v1/cadres/c-1/trainings", "demo-hr-key-cq-not-for-production"},
		{"POST", "/v1/records/r_x/void", "demo-hr-key-cq-not-for-production"},
		{"POST", "/v1/recompute", "demo-admin-key-not-for-production"},
		{"POST", "/v1/webhooks/completions/elearn-demo", ""},
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := routes[int(route)%len(routes)]
		req := httptest.NewRequest(rt.method, rt.path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "fuzz")
		if rt.key != "" {
			req.Header.Set("Authorization", "Bearer "+rt.key)
		} else {
			now := time.Now()
			sig, err := wh.Sign("msg_fuzz", now, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("webhook-id", "msg_fuzz")
			req.Header.Set("webhook-timestamp", itoa(now.Unix()))
			req.Header.Set("webhook-signature", sig)
		}
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt.method, rt.path, body, w.Code, w.Body)
		}
		if !json.Valid(bytes.TrimSpace(w.Body.Bytes())) {
			t.Fatalf("%s %s %q: body is not JSON: %s", rt.method, rt.path, body, w.Body)
		}
	})
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

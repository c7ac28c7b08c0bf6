package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/httpapi"
	"github.com/cadre-training/cadretrain/shared/training"
)

// fakeStore is a real embedded store whose GetCadre can be replaced, for error paths that real
// parts cannot produce.
type fakeStore struct {
	training.Store
	getCadre func(context.Context, string) (training.Cadre, error)
}

func (f *fakeStore) GetCadre(ctx context.Context, id string) (training.Cadre, error) {
	if f.getCadre != nil {
		return f.getCadre(ctx, id)
	}
	return f.Store.GetCadre(ctx, id)
}

type fixture struct {
	h     http.Handler
	store *fakeStore
	logs  *bytes.Buffer
}

func newFixture(t testing.TB, function string) *fixture {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cadre.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg, err := config.LoadFile("../../config/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: &fakeStore{Store: st}, logs: &bytes.Buffer{}}
	d := httpapi.Deps{Service: app.New(f.store), Config: config.Static(cfg), StoreKind: "embedded",
		Log: slog.New(slog.NewJSONHandler(f.logs, nil))}
	f.h = httpapi.New(d)
	for _, fn := range httpapi.Functions() {
		if fn.Name == function {
			f.h = httpapi.NewFunction(d, fn)
		}
	}
	return f
}

func (f *fixture) do(method, path, key string, body io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, body)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

func isProblem(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %s %s, want a %d problem", w.Code, w.Header().Get("Content-Type"), w.Body, status)
	}
}

// TestInternalErrorIsAReference: a store failure answers 500 with a reference and nothing
// internal; the cause is in the log under that reference.
func TestInternalErrorIsAReference(t *testing.T) {
	f := newFixture(t, "")
	f.store.getCadre = func(context.Context, string) (training.Cadre, error) {
		return training.Cadre{}, errors.New("bbolt: disk I/O error at page 42")
	}
	w := f.do("GET", "/v1/cadres/c-1", "demo-hr-key-cq-not-for-production", nil)
	isProblem(t, w, 500)
	if strings.Contains(w.Body.String(), "page 42") || !strings.Contains(w.Body.String(), "reference req_") {
		t.Fatalf("body %s: must give a reference and hide the cause", w.Body)
	}
	if !strings.Contains(f.logs.String(), "page 42") {
		t.Fatalf("the cause is not logged:\n%s", f.logs)
	}
}

// TestPanicIsA500: a panic in a handler answers one request with a 500 problem.
func TestPanicIsA500(t *testing.T) {
	f := newFixture(t, "")
	f.store.getCadre = func(context.Context, string) (training.Cadre, error) { panic("nil map") }
	isProblem(t, f.do("GET", "/v1/cadres/c-1", "demo-hr-key-cq-not-for-production", nil), 500)
	isProblem(t, f.do("GET", "/v1/cadres/c-1", "demo-hr-key-cq-not-for-production", nil), 500) // and the next one too
}

// endless fails the test if more than limit bytes are read from it.
type endless struct {
	t     *testing.T
	read  int
	limit int
}

func (e *endless) Read(p []byte) (int, error) {
	e.read += len(p)
	if e.read > e.limit {
		e.t.Errorf("read %d bytes of an oversized body", e.read)
		return 0, io.EOF
	}
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// TestBodyLimit: a body over 1 MiB is refused with 413 before it is read when its length is
// declared, and after at most 1 MiB when it is not (docs/api.md “Errors”).
func TestBodyLimit(t *testing.T) {
	f := newFixture(t, "")
	req := httptest.NewRequest("PUT", "/v1/cadres/c-1", &endless{t: t, limit: 0})
	req.ContentLength = 9 << 20
	req.Header.Set("Authorization", "Bearer demo-hr-key-cq-not-for-production")
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	isProblem(t, w, 413)

	req = httptest.NewRequest("PUT", "/v1/cadres/c-1", &endless{t: t, limit: 2 << 20})
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer demo-hr-key-cq-not-for-production")
	req.Header.Set("Content-Type", "application/json")
	w = httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	isProblem(t, w, 413)
}

// TestUnauthorizedSaysOneThingAndLogsWhy: every authentication failure gets the same message;
// the reason is logged (never the key).
func TestUnauthorizedSaysOneThingAndLogsWhy(t *testing.T) {
	f := newFixture(t, "")
	var bodies []string
	for _, key := range []string{"", "not-a-key"} {
		w := f.do("GET", "/v1/cadres/c-1", key, nil)
		isProblem(t, w, 401)
		bodies = append(bodies, w.Body.String())
	}
	if bodies[0] != bodies[1] {
		t.Fatalf("401 bodies differ:\n%s\n%s", bodies[0], bodies[1])
	}
	for _, why := range []string{"no Authorization header", "unknown API key"} {
		if !strings.Contains(f.logs.String(), why) {
			t.Errorf("log lacks %q:\n%s", why, f.logs)
		}
	}
	if strings.Contains(f.logs.String(), "not-a-key") {
		t.Errorf("the presented key was logged:\n%s", f.logs)
	}
}

// TestUnmatchedAndOtherFunctions: an unknown path is a 404 problem; a function serves only its
// own routes.
func TestUnmatchedAndOtherFunctions(t *testing.T) {
	f := newFixture(t, "")
	isProblem(t, f.do("GET", "/v2/nothing", "", nil), 404)
	g := newFixture(t, httpapi.FnRecordSelfStudy)
	isProblem(t, g.do("GET", "/v1/health", "", nil), 404)
	if w := f.do("GET", "/v1/health", "", nil); w.Code != 200 {
		t.Fatalf("health: %d", w.Code)
	}
}

// TestSelfStudyRetryWithRotatedKey: a retry of a self-study entry by the same HR system after its
// API key was rotated (a new key of the same units) is a duplicate of the first, not a second
// record: idempotency is scoped by the cadre, not the key.
func TestSelfStudyRetryWithRotatedKey(t *testing.T) {
	f := newFixture(t, "")
	cfg, err := config.Parse([]byte(`{"platforms": {}, "api_keys": [
		{"key": "old-key-of-the-hr-system-0123456789", "role": "hr", "units": ["cn/cq"]},
		{"key": "new-key-of-the-hr-system-0123456789", "role": "hr", "units": ["cn/cq"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	f.h = httpapi.New(httpapi.Deps{Service: app.New(f.store), Config: config.Static(cfg), Log: slog.New(slog.DiscardHandler)})
	put := f.do("PUT", "/v1/cadres/c-1", "old-key-of-the-hr-system-0123456789",
		strings.NewReader(`{"name": "张三", "unit": "cn/cq/yuzhong", "rank": "principal_staff_1"}`))
	if put.Code != 201 {
		t.Fatalf("PUT: %d %s", put.Code, put.Body)
	}
	post := func(key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/cadres/c-1/self-study", strings.NewReader(`{"hours": 1.5, "studied_on": "2026-03-02"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "ss-2026-001")
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, req)
		return w
	}
	first, retry := post("old-key-of-the-hr-system-0123456789"), post("new-key-of-the-hr-system-0123456789")
	if first.Code != 201 || retry.Code != 200 {
		t.Fatalf("first %d, retry with the rotated key %d %s; want 201 then 200 (duplicate)", first.Code, retry.Code, retry.Body)
	}
	recs, err := f.store.ListRecords(context.Background(), "c-1")
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d records, %v; want 1", len(recs), err)
	}
}

// hrTraining posts an HR training entry for cadre c-h1 (created first) with the given body.
func (f *fixture) hrTraining(t *testing.T, key, body, lang string) *httptest.ResponseRecorder {
	t.Helper()
	if w := f.do(http.MethodPut, "/v1/cadres/c-h1", "demo-hr-key-cq-not-for-production",
		strings.NewReader(`{"name": "张三", "unit": "cn/cq/a", "rank": "principal_staff_1"}`)); w.Code/100 != 2 {
		t.Fatalf("PUT cadre: %d %s", w.Code, w.Body)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/cadres/c-h1/trainings", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer demo-hr-key-cq-not-for-production")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

// TestTrainingDays: docs/rules.md “Half days” — days in steps of 0.5 are accepted and shown as
// sent (2.5, 3); anything else is a 400 naming days that stores nothing.
func TestTrainingDays(t *testing.T) {
	f := newFixture(t, "")
	const span3 = `"kind": "centralized", "start_date": "2025-03-01", "end_date": "2025-03-03", "hours": 20`
	for _, tc := range []struct {
		name, days string
		status     int
		want       string // the days shown, or the field message
	}{
		{"TwoAndAHalf", `2.5`, 201, `2.5`},
		{"Half", `0.5`, 201, `0.5`},
		{"Whole", `3`, 201, `3`},
		{"WholeWithPoint", `3.0`, 201, `3`},
		{"QuarterRejected", `0.25`, 400, "must be a number of days in steps of 0.5 (e.g. 3 or 2.5)"},
		{"ThirdRejected", `0.3`, 400, "must be a number of days in steps of 0.5 (e.g. 3 or 2.5)"},
		{"TwoQuarterRejected", `2.25`, 400, "must be a number of days in steps of 0.5 (e.g. 3 or 2.5)"},
		{"StringRejected", `"2.5"`, 400, "must be a JSON number, not a string"},
		{"NegativeRejected", `-0.5`, 400, "must be greater than 0 (in steps of 0.5)"},
		{"ZeroRejected", `0`, 400, "must be greater than 0 (in steps of 0.5)"},
		{"OverSpanRejected", `3.5`, 400, "must not exceed the 3 calendar days from start_date to end_date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.hrTraining(t, "days-"+tc.name, `{`+span3+`, "days": `+tc.days+`}`, "")
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == 201 {
				if !strings.Contains(w.Body.String(), `"days":`+tc.want+`,`) {
					t.Fatalf("body %s does not show days %s", w.Body, tc.want)
				}
				return
			}
			var p struct {
				Errors []training.FieldError `json:"errors"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Field != "days" || p.Errors[0].Message != tc.want {
				t.Fatalf("errors %+v (%v), want one on days: %q", p.Errors, err, tc.want)
			}
			recs, err := f.store.ListRecords(context.Background(), "c-h1")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if r.ExternalID == "days-"+tc.name {
					t.Fatalf("a refused training was stored: %+v", r)
				}
			}
		})
	}
}

// TestChineseFieldMessages: under Accept-Language zh-CN the field messages of a duplicate JSON
// key and of bad days are Chinese.
func TestChineseFieldMessages(t *testing.T) {
	f := newFixture(t, "")
	for _, tc := range []struct{ name, body, field, want string }{
		{"DuplicateKey", `{"kind": "centralized", "kind": "online", "start_date": "2025-03-01", "end_date": "2025-03-03", "hours": 20}`, "kind", "重复出现（同一字段只能给出一次）"},
		{"QuarterDay", `{"kind": "centralized", "start_date": "2025-03-01", "end_date": "2025-03-03", "hours": 20, "days": 0.25}`, "days", "必须是以 0.5 天为单位的天数（如 3 或 2.5）"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.hrTraining(t, "zh-"+tc.name, tc.body, "zh-CN")
			isProblem(t, w, 400)
			var p struct {
				Detail string                `json:"detail"`
				Errors []training.FieldError `json:"errors"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Detail != "请求中有无效字段" {
				t.Errorf("detail %q, want it in Chinese", p.Detail)
			}
			for _, e := range p.Errors {
				if e.Field == tc.field {
					if e.Message != tc.want {
						t.Fatalf("%s: %q, want %q", tc.field, e.Message, tc.want)
					}
					return
				}
			}
			t.Fatalf("no error on %s: %+v", tc.field, p.Errors)
		})
	}
}

package httpapi_test

import (
	"bytes"
	"context"
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
	f.h = httpapi.New(httpapi.Deps{Service: app.New(f.store), Config: config.Static(cfg), StoreKind: "embedded",
		Log: slog.New(slog.NewJSONHandler(f.logs, nil)), Function: function})
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

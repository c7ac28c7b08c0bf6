// Package e2e tests the HTTP contract of docs/api.md end to end: the one-machine server
// (shared/server) started in-process on 127.0.0.1:0 with the demo configuration,
// called over real HTTP, on both stores — embedded (a bbolt file in a temp dir) and DynamoDB
// (DYNAMODB_ENDPOINT, a table of its own per run, deleted afterwards; skipped when unset unless
// CADRE_REQUIRE_DYNAMODB=1).
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/dynamo/dynamotest"
	"github.com/cadre-training/cadretrain/shared/server"
	"github.com/cadre-training/cadretrain/shared/sheet/xlsx"
	"github.com/cadre-training/cadretrain/shared/training"
)

// The demo configuration (config/demo.json).
const (
	platform   = "elearn-demo"
	keyCQ      = "demo-hr-key-cq-not-for-production"
	keySC      = "demo-hr-key-sc-not-for-production"
	keyAdmin   = "demo-admin-key-not-for-production"
	unitCQ     = "cn/cq/yuzhong/xinfang"
	unitSC     = "cn/sc/chengdu"
	secretOld  = "whsec_ZGVtby1wbGF0Zm9ybS1zZWNyZXQtMDAwMS1yb3RhdGU="
	secretNew  = "whsec_ZGVtby1wbGF0Zm9ybS1zZWNyZXQtMDAwMi1uZXdrZXk="
	deadline   = 15 * time.Second
	repoRoot   = ".."
	jsonCT     = "application/json"
	problemCT  = "application/problem+json"
	townshipRk = "principal_staff_1"
)

type env struct {
	url  string
	kind string
	run  string // unique per run: prefixes ids
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func logger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

// startServer starts the local server on the given store kind, or skips; opts adjust its options.
func startServer(t *testing.T, kind string, opts ...func(*server.Options)) *env {
	t.Helper()
	cfg, err := config.LoadFile(filepath.Join(repoRoot, "config", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var store training.Store
	switch kind {
	case "embedded":
		s, err := bolt.Open(filepath.Join(dir, "cadretrain.db"))
		if err != nil {
			t.Fatal(err)
		}
		store = s
	case "dynamodb":
		store = dynamotest.Store(t)
	}
	o := server.Options{
		Addr:         "127.0.0.1:0",
		Store:        store,
		StoreKind:    kind,
		Config:       config.Static(cfg),
		DataDir:      dir,
		Poll:         100 * time.Millisecond,
		RetryBackoff: 50 * time.Millisecond,
		WriteTimeout: 5 * time.Minute, // a 100-item batch on DynamoDB Local on a loaded machine
		XLSX:         xlsx.Write,
		Log:          logger(t),
	}
	for _, opt := range opts {
		opt(&o)
	}
	srv, err := server.Start(context.Background(), o)
	if err != nil {
		_ = store.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, server.DeadLetterFile)); err == nil && len(b) > 0 {
			t.Errorf("dead letters were written:\n%s", b)
		}
	})
	return &env{url: srv.URL(), kind: kind, run: randHex(4)}
}

// ---- HTTP helpers

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

type req struct {
	method, path, key string
	body              any // []byte/string sent as is, anything else as JSON
	contentType       string
	header            map[string]string
}

func (e *env) do(t *testing.T, r req) response {
	t.Helper()
	var (
		body io.Reader
		sent []byte
	)
	switch b := r.body.(type) {
	case nil:
	case []byte:
		sent = b
	case string:
		sent = []byte(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		sent = j
	}
	if r.body != nil {
		body = bytes.NewReader(sent)
	}
	hr, err := http.NewRequest(r.method, e.url+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		ct := r.contentType
		if ct == "" {
			ct = jsonCT
		}
		hr.Header.Set("Content-Type", ct)
	}
	if r.key != "" {
		hr.Header.Set("Authorization", "Bearer "+r.key)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, body: b}
	checkContract(t, hr, sent, out)
	return out
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
}

// wantProblem checks an RFC 9457 problem with status and, for validation errors, exactly the
// named fields (in any order).
func wantProblem(t *testing.T, r response, status int, fields ...string) map[string]any {
	t.Helper()
	wantStatus(t, r, status)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, problemCT) {
		t.Errorf("Content-Type %q, want %s", ct, problemCT)
	}
	p := r.json(t)
	for _, k := range []string{"type", "title", "detail"} {
		if s, _ := p[k].(string); s == "" {
			t.Errorf("problem has no %s: %s", k, r.body)
		}
	}
	if n, _ := p["status"].(float64); int(n) != status {
		t.Errorf("problem status %v, want %d", p["status"], status)
	}
	if len(fields) > 0 {
		got := map[string]bool{}
		errs, _ := p["errors"].([]any)
		for _, e := range errs {
			m, _ := e.(map[string]any)
			f, _ := m["field"].(string)
			if msg, _ := m["message"].(string); msg == "" {
				t.Errorf("error for %q has no message", f)
			}
			got[f] = true
		}
		for _, f := range fields {
			if !got[f] {
				t.Errorf("errors do not name %q: %s", f, r.body)
			}
		}
		if len(got) != len(fields) {
			t.Errorf("errors name %d fields, want %d (%v): %s", len(got), len(fields), fields, r.body)
		}
	}
	return p
}

// webhook posts body to the platform's webhook, signed with secrets (each a signature) at ts.
func (e *env) webhook(t *testing.T, plat string, body []byte, ts time.Time, secrets ...string) response {
	t.Helper()
	msgID := "msg_" + randHex(8)
	var sigs []string
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := wh.Sign(msgID, ts, body)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig)
	}
	h := map[string]string{"webhook-id": msgID, "webhook-timestamp": fmt.Sprint(ts.Unix())}
	if len(sigs) > 0 {
		h["webhook-signature"] = strings.Join(sigs, " ")
	}
	return e.do(t, req{method: "POST", path: "/v1/webhooks/completions/" + plat, body: body, header: h})
}

func (e *env) send(t *testing.T, completion any) response {
	t.Helper()
	b, err := json.Marshal(completion)
	if err != nil {
		t.Fatal(err)
	}
	return e.webhook(t, platform, b, time.Now(), secretOld)
}

func (e *env) id(name string) string { return e.run + "-" + name }

func (e *env) putCadre(t *testing.T, key, id, unit, rank string) map[string]any {
	t.Helper()
	r := e.do(t, req{method: "PUT", path: "/v1/cadres/" + id, key: key, body: map[string]any{
		"name": "张三", "unit": unit, "rank": rank, "rank_effective_on": "2023-01-01", "leadership_member": false, "joined_on": "2019-07-01",
	}})
	wantStatus(t, r, http.StatusCreated)
	return r.json(t)
}

func centralized(eventID, cadre, start, end string, days int, hours float64, fullTime bool) map[string]any {
	return map[string]any{
		"event_id": eventID, "cadre_id": cadre, "kind": "centralized", "full_time": fullTime,
		"course_id": "cls-" + eventID, "course_title": "中青年干部培训班", "institution": "中央党校（国家行政学院）",
		"institution_type": "party_school", "start_date": start, "end_date": end, "days": days, "hours": hours,
		"assessment": "passed", "completed_at": end + "T17:00:00+08:00",
	}
}

// eventually polls fn (which returns "" when satisfied, else what it saw) until the deadline.
func eventually(t *testing.T, what string, fn func() string) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		saw := fn()
		if saw == "" {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s: not within %s; last saw %s", what, deadline, saw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func results(t *testing.T, r response) []map[string]any {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var out struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Results
}

func requirement(t *testing.T, status map[string]any, id string) map[string]any {
	t.Helper()
	reqs, _ := status["requirements"].([]any)
	for _, r := range reqs {
		m, _ := r.(map[string]any)
		if m["id"] == id {
			return m
		}
	}
	t.Fatalf("no requirement %s in %v", id, status)
	return nil
}

func measure(m map[string]any, part, unit string) any {
	p, _ := m[part].(map[string]any)
	return p[unit]
}

// ---- the suite

// testCase is one named case of a suite.
type testCase struct {
	name string
	fn   func(*testing.T, *env)
}

// runOnBothStores starts one server on each store (embedded; DynamoDB Local, when there) and runs
// the cases against it in order.
func runOnBothStores(t *testing.T, cases []testCase) {
	t.Helper()
	onBothStores(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, e) })
		}
	})
}

// onBothStores runs fn against a server (startServer with opts) on each store: embedded bbolt, and
// DynamoDB Local when DYNAMODB_ENDPOINT is set.
func onBothStores(t *testing.T, fn func(t *testing.T, e *env), opts ...func(*server.Options)) {
	t.Helper()
	for _, kind := range []string{"embedded", "dynamodb"} {
		t.Run(kind, func(t *testing.T) { fn(t, startServer(t, kind, opts...)) })
	}
}

func TestE2E(t *testing.T) {
	runOnBothStores(t, []testCase{
		{"Health", testHealth},
		{"UnmatchedRouteIsProblemNotFound", testUnmatchedRoute},
		{"CadreProfile", testCadreProfile},
		{"CadreValidation", testCadreValidation},
		{"Authentication", testAuthentication},
		{"WebhookSingle", testWebhookSingle},
		{"WebhookSignatures", testWebhookSignatures},
		{"WebhookLimits", testWebhookLimits},
		{"WebhookBatchMixed", testWebhookBatchMixed},
		{"WebhookBatchManyCadres", testWebhookBatchManyCadres},
		{"SelfStudy", testSelfStudy},
		{"RecordsAndVoid", testRecordsAndVoid},
		{"FormEntriesAndWithdrawal", testFormEntries},
		{"SnapshotFollowsRecords", testSnapshotFollows},
		{"QuotaStatusAsOf", testQuotaStatusAsOf},
		{"Recompute", testRecompute},
		{"LeadershipAndUnitBoundary", testLeadershipAndUnitBoundary},
		{"ExactHours", testExactHours},
		{"HROffice", testHROffice},
	})
}

func testHealth(t *testing.T, e *env) {
	r := e.do(t, req{method: "GET", path: "/v1/health"})
	wantStatus(t, r, 200)
	m := r.json(t)
	if m["status"] != "ok" || m["store"] != e.kind {
		t.Errorf("health %s, want status ok and store %s", r.body, e.kind)
	}
}

// The template's $default route sends what no docs/api.md route matches to hr-api, which answers
// with a problem (docs/api.md: every 4xx is problem+json), not API Gateway's {"message":"Not Found"}.
func testUnmatchedRoute(t *testing.T, e *env) {
	for _, rq := range []req{{method: "GET", path: "/v1/nothing"}, {method: "DELETE", path: "/v1/cadres/x"}, {method: "GET", path: "/v1/health/"}} {
		p := wantProblem(t, e.do(t, rq), 404)
		if d, _ := p["detail"].(string); !strings.Contains(d, rq.method+" "+rq.path) {
			t.Errorf("%s %s: detail %q does not name the request", rq.method, rq.path, d)
		}
	}
}

func testCadreProfile(t *testing.T, e *env) {
	id := e.id("profile")
	created := e.putCadre(t, keyCQ, id, unitCQ, "四级调研员")
	if created["cadre_id"] != id || created["unit"] != unitCQ || created["rank"] != "researcher_4" || created["category"] != "county_and_above" {
		t.Errorf("created profile %v", created)
	}
	r := e.do(t, req{method: "PUT", path: "/v1/cadres/" + id, key: keyCQ, body: map[string]any{
		"name": "张三", "unit": unitCQ, "rank": "bureau_deputy", "rank_effective_on": "2025-04-01",
	}})
	wantStatus(t, r, http.StatusOK)
	hist, _ := r.json(t)["rank_history"].([]any)
	if len(hist) != 2 {
		t.Errorf("rank_history %v, want 2 entries after a rank change", hist)
	}
	r = e.do(t, req{method: "GET", path: "/v1/cadres/" + id, key: keyCQ})
	wantStatus(t, r, 200)
	if got := r.json(t); got["rank"] != "bureau_deputy" || got["name"] != "张三" {
		t.Errorf("profile %s", r.body)
	}
	// Outside the key's units: 404, existence not revealed; admin sees everything.
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + id, key: keySC}), 404)
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + e.id("nobody"), key: keyCQ}), 404)
	wantStatus(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + id, key: keyAdmin}), 200)
	for _, p := range []string{"/records", "/quota-status", "/appointment-records", "/appraisal-records"} {
		wantProblem(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + id + p, key: keySC}), 404)
	}
}

func testCadreValidation(t *testing.T, e *env) {
	id := e.id("invalid")
	// Several bad fields at once, each named.
	r := e.do(t, req{method: "PUT", path: "/v1/cadres/" + id, key: keyCQ, body: map[string]any{
		"unit": unitCQ, "rank": "emperor", "rank_effective_on": "2025-13-01",
	}})
	wantProblem(t, r, 400, "name", "rank", "rank_effective_on")
	// An unknown field is rejected and named.
	r = e.do(t, req{method: "PUT", path: "/v1/cadres/" + id, key: keyCQ, body: map[string]any{
		"name": "李四", "unit": unitCQ, "rank": townshipRk, "nickname": "x",
	}})
	wantProblem(t, r, 400, "nickname")
	// Nothing was written.
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + id, key: keyCQ}), 404)
	// Wrong Content-Type → 415; over 1 MiB → 413.
	wantProblem(t, e.do(t, req{method: "PUT", path: "/v1/cadres/" + id, key: keyCQ, body: `{"name":"x"}`, contentType: "text/plain"}), 415)
	big := `{"name": "` + strings.Repeat("x", 1<<20) + `"}`
	wantProblem(t, e.do(t, req{method: "PUT", path: "/v1/cadres/" + id, key: keyCQ, body: big}), 413)
	// Bad query parameters are named too.
	e.putCadre(t, keyCQ, id, unitCQ, townshipRk)
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + id + "/quota-status?as_of=2025-02-30", key: keyCQ}), 400, "as_of")
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + id + "/records?year=twenty", key: keyCQ}), 400, "year")
}

func testAuthentication(t *testing.T, e *env) {
	path := "/v1/cadres/" + e.id("auth")
	r := e.do(t, req{method: "GET", path: path})
	wantProblem(t, r, 401)
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	wantProblem(t, e.do(t, req{method: "GET", path: path, key: "no-such-key"}), 401)
	wantProblem(t, e.do(t, req{method: "GET", path: path, header: map[string]string{"Authorization": "Basic " + keyCQ}}), 401)
	// Role too low.
	wantProblem(t, e.do(t, req{method: "POST", path: "/v1/recompute", key: keyCQ, body: map[string]any{"all": true}}), 403)
	wantProblem(t, e.do(t, req{method: "POST", path: "/v1/recompute", body: map[string]any{"all": true}}), 401)
}

func testWebhookSingle(t *testing.T, e *env) {
	cadre := e.id("wh-single")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	c := centralized(e.id("evt-1"), cadre, "2025-03-03", "2025-03-07", 5, 40, true)
	res := results(t, e.send(t, c))
	if len(res) != 1 || res[0]["status"] != "created" || res[0]["event_id"] != c["event_id"] || res[0]["record_id"] == "" || res[0]["record_id"] == nil {
		t.Fatalf("first delivery %v, want created with a record_id", res)
	}
	recordID := res[0]["record_id"]
	// Replay: duplicate, same record, nothing changes.
	res = results(t, e.send(t, c))
	if res[0]["status"] != "duplicate" || res[0]["record_id"] != recordID {
		t.Errorf("replay %v, want duplicate of %v", res, recordID)
	}
	// Same event id, other content: 409 for a single completion.
	c2 := centralized(e.id("evt-1"), cadre, "2025-03-03", "2025-03-07", 5, 41, true)
	wantProblem(t, e.send(t, c2), 409)
	// Invalid single completion: 400 naming every bad field.
	bad := centralized(e.id("evt-bad"), cadre, "2025-03-07", "2025-03-03", 5, 40.123, true)
	bad["kind"] = "centralized"
	wantProblem(t, e.send(t, bad), 400, "end_date", "hours")
	unknown := centralized(e.id("evt-unknown-field"), cadre, "2025-03-03", "2025-03-07", 5, 40, true)
	unknown["teacher"] = "王"
	wantProblem(t, e.send(t, unknown), 400, "teacher")
	// Unknown cadre: rejected with a reason, nothing stored.
	res = results(t, e.send(t, centralized(e.id("evt-ghost"), e.id("ghost"), "2025-03-03", "2025-03-07", 5, 40, true)))
	if res[0]["status"] != "rejected" || res[0]["errors"] == nil {
		t.Errorf("unknown cadre %v, want rejected with errors", res)
	}
	// Only one record exists.
	r := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/records", key: keyCQ})
	wantStatus(t, r, 200)
	if recs, _ := r.json(t)["records"].([]any); len(recs) != 1 {
		t.Errorf("records %s, want exactly the one created", r.body)
	}
}

func testWebhookSignatures(t *testing.T, e *env) {
	cadre := e.id("wh-sig")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	body := func(ev string) []byte {
		b, _ := json.Marshal(centralized(e.id(ev), cadre, "2025-04-01", "2025-04-02", 2, 16, false))
		return b
	}
	now := time.Now()
	wrong := "whsec_" + "c29tZS1vdGhlci1zZWNyZXQtdGhhdC1pcy13cm9uZw=="
	wantProblem(t, e.webhook(t, platform, body("sig-none"), now), 401)
	wantProblem(t, e.webhook(t, platform, body("sig-wrong"), now, wrong), 401)
	// Outside the 300 s tolerance, by a margin that a slow request on a loaded machine cannot eat.
	wantProblem(t, e.webhook(t, platform, body("sig-stale"), time.Now().Add(-310*time.Second), secretOld), 401)
	wantProblem(t, e.webhook(t, platform, body("sig-future"), time.Now().Add(310*time.Second), secretOld), 401)
	wantProblem(t, e.webhook(t, "no-such-platform", body("sig-platform"), now, secretOld), 401)
	// Tampered body: signed one body, sent another.
	{
		b := body("sig-tamper")
		wh, _ := standardwebhooks.NewWebhook(secretOld)
		sig, _ := wh.Sign("msg_t", now, b)
		r := e.do(t, req{method: "POST", path: "/v1/webhooks/completions/" + platform, body: bytes.Replace(b, []byte(`"hours":16`), []byte(`"hours":17`), 1),
			header: map[string]string{"webhook-id": "msg_t", "webhook-timestamp": fmt.Sprint(now.Unix()), "webhook-signature": sig}})
		wantProblem(t, r, 401)
	}
	// Rotation: either secret works; several signatures, any match.
	for name, secrets := range map[string][]string{
		"sig-old": {secretOld}, "sig-new": {secretNew}, "sig-both": {wrong, secretNew}, "sig-within": {secretOld},
	} {
		ts := now
		if name == "sig-within" {
			ts = now.Add(-250 * time.Second)
		}
		res := results(t, e.webhook(t, platform, body(name), ts, secrets...))
		if res[0]["status"] != "created" {
			t.Errorf("%s: %v, want created", name, res)
		}
	}
	// Signed, but not JSON: 415.
	b := []byte("event_id=x")
	wh, _ := standardwebhooks.NewWebhook(secretOld)
	sig, _ := wh.Sign("msg_ct", now, b)
	r := e.do(t, req{method: "POST", path: "/v1/webhooks/completions/" + platform, body: b, contentType: "application/x-www-form-urlencoded",
		header: map[string]string{"webhook-id": "msg_ct", "webhook-timestamp": fmt.Sprint(now.Unix()), "webhook-signature": sig}})
	wantProblem(t, r, 415)
}

func testWebhookLimits(t *testing.T, e *env) {
	cadre := e.id("wh-limits")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	var items []any
	for i := 0; i < 101; i++ {
		items = append(items, centralized(e.id(fmt.Sprintf("lim-%d", i)), cadre, "2025-04-01", "2025-04-02", 2, 16, false))
	}
	b, _ := json.Marshal(map[string]any{"completions": items})
	wantProblem(t, e.webhook(t, platform, b, time.Now(), secretOld), 413)
	b, _ = json.Marshal(map[string]any{"completions": items[:100]})
	if res := results(t, e.webhook(t, platform, b, time.Now(), secretOld)); len(res) != 100 || res[99]["status"] != "created" {
		t.Errorf("a batch of 100: %d results, last %v", len(res), res[len(res)-1])
	}
	big := centralized(e.id("lim-big"), cadre, "2025-04-01", "2025-04-02", 2, 16, false)
	big["course_title"] = strings.Repeat("长", 400000) // > 1 MiB in UTF-8
	b, _ = json.Marshal(big)
	wantProblem(t, e.webhook(t, platform, b, time.Now(), secretOld), 413)
}

func testWebhookBatchMixed(t *testing.T, e *env) {
	cadre := e.id("wh-batch")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	existing := centralized(e.id("mix-existing"), cadre, "2025-05-06", "2025-05-07", 2, 12, false)
	results(t, e.send(t, existing))
	conflicting := centralized(e.id("mix-existing-2"), cadre, "2025-05-06", "2025-05-07", 2, 12, false)
	results(t, e.send(t, conflicting))
	conflicting["hours"] = 13
	invalid := centralized(e.id("mix-invalid"), cadre, "2025-05-06", "2025-05-07", 3, -1, false)
	online := map[string]any{"event_id": e.id("mix-online"), "cadre_id": cadre, "kind": "online", "hours": 2.5, "completed_at": "2025-05-08T10:00:00+08:00", "course_title": "网课"}
	batch := []any{
		centralized(e.id("mix-new"), cadre, "2025-05-01", "2025-05-02", 2, 12, false),
		existing,
		conflicting,
		invalid,
		centralized(e.id("mix-ghost"), e.id("ghost"), "2025-05-01", "2025-05-02", 2, 12, false),
		online,
	}
	b, _ := json.Marshal(map[string]any{"completions": batch})
	res := results(t, e.webhook(t, platform, b, time.Now(), secretNew))
	want := []string{"created", "duplicate", "conflict", "invalid", "rejected", "created"}
	if len(res) != len(want) {
		t.Fatalf("%d results, want %d: %v", len(res), len(want), res)
	}
	for i, w := range want {
		item := batch[i].(map[string]any)
		if res[i]["status"] != w || res[i]["event_id"] != item["event_id"] {
			t.Errorf("results[%d] = %v, want %s for %v", i, res[i], w, item["event_id"])
		}
	}
	fields := map[string]bool{}
	errs, _ := res[3]["errors"].([]any)
	for _, x := range errs {
		fields[x.(map[string]any)["field"].(string)] = true
	}
	if !fields["completions[3].hours"] || !fields["completions[3].days"] {
		t.Errorf("invalid item errors %v, want completions[3].hours and completions[3].days", res[3]["errors"])
	}
}

// testWebhookBatchManyCadres: the items of a batch that name several cadres are stored as if one
// after another (docs/decisions.md “Records”): per cadre in their order — a same training from the
// same source replaces the earlier item's record (docs/rules.md “One training, one count”), a
// repeat is a duplicate — and, when two cadres' items share an event id, the first item is the one
// created and the other a conflict.
func testWebhookBatchManyCadres(t *testing.T, e *env) {
	x, y, z := e.id("many-x"), e.id("many-y"), e.id("many-z")
	for _, c := range []string{x, y, z} {
		e.putCadre(t, keyCQ, c, unitCQ, townshipRk)
	}
	first := centralized(e.id("many-1"), x, "2025-05-01", "2025-05-02", 2, 12, false)
	again := centralized(e.id("many-3"), x, "2025-05-01", "2025-05-02", 2, 12, false)
	again["course_id"] = first["course_id"] // the same training under another event id: replaces many-1
	batch := []any{
		first,
		centralized(e.id("many-2"), y, "2025-05-03", "2025-05-04", 2, 12, true),
		again,
		centralized(e.id("many-2"), y, "2025-05-03", "2025-05-04", 2, 12, true),
		centralized(e.id("many-4"), z, "2025-05-05", "2025-05-06", 2, 12, false),
		centralized(e.id("many-5"), e.id("many-ghost"), "2025-05-05", "2025-05-06", 2, 12, false),
		centralized(e.id("many-6"), z, "2025-05-07", "2025-05-08", 2, 12, false),
	}
	b, _ := json.Marshal(map[string]any{"completions": batch})
	res := results(t, e.webhook(t, platform, b, time.Now(), secretNew))
	want := []string{"created", "created", "created", "duplicate", "created", "rejected", "created"}
	if len(res) != len(want) {
		t.Fatalf("%d results, want %d: %v", len(res), len(want), res)
	}
	for i, w := range want {
		if item := batch[i].(map[string]any); res[i]["status"] != w || res[i]["event_id"] != item["event_id"] {
			t.Errorf("results[%d] = %v, want %s for %v", i, res[i], w, item["event_id"])
		}
	}
	archive := func(cadre string) map[string]string { // record id → status
		r := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/records", key: keyCQ})
		wantStatus(t, r, 200)
		out := map[string]string{}
		recs, _ := r.json(t)["records"].([]any)
		for _, x := range recs {
			m := x.(map[string]any)
			out[m["record_id"].(string)] = m["status"].(string)
		}
		return out
	}
	if got, want := archive(x), map[string]string{res[0]["record_id"].(string): "voided", res[2]["record_id"].(string): "active"}; !maps.Equal(got, want) {
		t.Errorf("archive of %s: %v, want %v (the second report replaces the first)", x, got, want)
	}
	if got := archive(y); len(got) != 1 {
		t.Errorf("archive of %s: %v, want one record", y, got)
	}
	if got := archive(z); len(got) != 2 {
		t.Errorf("archive of %s: %v, want two records", z, got)
	}

	// One event id for two cadres in one batch: the first item creates, the second conflicts.
	shared := e.id("many-shared")
	batch = []any{
		centralized(e.id("many-7"), z, "2025-06-01", "2025-06-02", 2, 12, false),
		centralized(shared, x, "2025-06-03", "2025-06-04", 2, 12, false),
		centralized(e.id("many-8"), y, "2025-06-01", "2025-06-02", 2, 12, false),
		centralized(shared, y, "2025-06-03", "2025-06-04", 2, 12, false),
	}
	b, _ = json.Marshal(map[string]any{"completions": batch})
	res = results(t, e.webhook(t, platform, b, time.Now(), secretNew))
	want = []string{"created", "created", "created", "conflict"}
	for i, w := range want {
		if i >= len(res) || res[i]["status"] != w {
			t.Errorf("shared event id: results %v, want statuses %v", res, want)
			break
		}
	}
}

func testSelfStudy(t *testing.T, e *env) {
	cadre := e.id("self")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	path := "/v1/cadres/" + cadre + "/self-study"
	body := map[string]any{"hours": 1.5, "studied_on": "2025-03-02", "course_title": "《信访工作条例》解读", "source": "hr-system"}
	idem := map[string]string{"Idempotency-Key": e.id("idem-1")}
	r := e.do(t, req{method: "POST", path: path, key: keyCQ, body: body, header: idem})
	wantStatus(t, r, 201)
	first := r.json(t)
	if first["record_id"] == nil || first["kind"] != "online" || first["hours"] != 1.5 || first["status"] != "active" {
		t.Errorf("created %s", r.body)
	}
	r = e.do(t, req{method: "POST", path: path, key: keyCQ, body: body, header: idem})
	wantStatus(t, r, 200)
	if again := r.json(t); again["record_id"] != first["record_id"] {
		t.Errorf("replay record %v, want %v", again["record_id"], first["record_id"])
	}
	other := map[string]any{"hours": 2, "studied_on": "2025-03-02"}
	wantProblem(t, e.do(t, req{method: "POST", path: path, key: keyCQ, body: other, header: idem}), 409)
	// Several bad fields, the header among them.
	wantProblem(t, e.do(t, req{method: "POST", path: path, key: keyCQ, body: map[string]any{"hours": 0.001, "studied_on": "yesterday", "mood": "ok"}}), 400,
		"Idempotency-Key", "hours", "studied_on", "mood")
	wantProblem(t, e.do(t, req{method: "POST", path: path, key: keyCQ, body: "hours=1", contentType: "text/plain", header: idem}), 415)
	wantProblem(t, e.do(t, req{method: "POST", path: path, key: keySC, body: body, header: map[string]string{"Idempotency-Key": e.id("idem-sc")}}), 404)
	wantProblem(t, e.do(t, req{method: "POST", path: path, body: body, header: idem}), 401)
}

func testRecordsAndVoid(t *testing.T, e *env) {
	cadre := e.id("records")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	older := results(t, e.send(t, centralized(e.id("rec-1"), cadre, "2024-06-03", "2024-06-05", 3, 24, false)))[0]["record_id"]
	newer := results(t, e.send(t, centralized(e.id("rec-2"), cadre, "2025-06-03", "2025-06-05", 3, 24, false)))[0]["record_id"]
	r := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/records", key: keyCQ})
	wantStatus(t, r, 200)
	recs, _ := r.json(t)["records"].([]any)
	if len(recs) != 2 || recs[0].(map[string]any)["record_id"] != newer || recs[1].(map[string]any)["record_id"] != older {
		t.Fatalf("records %s, want newest first", r.body)
	}
	r = e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/records?year=2024", key: keyCQ})
	if recs, _ := r.json(t)["records"].([]any); len(recs) != 1 || recs[0].(map[string]any)["record_id"] != older {
		t.Errorf("records of 2024 %s, want only %v", r.body, older)
	}
	voidPath := fmt.Sprintf("/v1/records/%v/void", older)
	wantProblem(t, e.do(t, req{method: "POST", path: voidPath, key: keyCQ, body: map[string]any{}}), 400, "reason")
	wantProblem(t, e.do(t, req{method: "POST", path: voidPath, key: keySC, body: map[string]any{"reason": "x"}}), 404)
	wantProblem(t, e.do(t, req{method: "POST", path: "/v1/records/" + e.id("no-record") + "/void", key: keyCQ, body: map[string]any{"reason": "x"}}), 404)
	r = e.do(t, req{method: "POST", path: voidPath, key: keyCQ, body: map[string]any{"reason": "重复登记"}})
	wantStatus(t, r, 200)
	if v := r.json(t); v["status"] != "voided" {
		t.Errorf("void %s, want status voided", r.body)
	}
	wantStatus(t, e.do(t, req{method: "POST", path: voidPath, key: keyCQ, body: map[string]any{"reason": "again"}}), 200)
	r = e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/records", key: keyCQ})
	recs, _ = r.json(t)["records"].([]any)
	for _, x := range recs {
		m := x.(map[string]any)
		want := "active"
		if m["record_id"] == older {
			want = "voided"
		}
		if m["status"] != want {
			t.Errorf("record %v status %v, want %s", m["record_id"], m["status"], want)
		}
	}
}

func entries(t *testing.T, e *env, path string) []map[string]any {
	t.Helper()
	r := e.do(t, req{method: "GET", path: path, key: keyCQ})
	wantStatus(t, r, 200)
	var out struct {
		Entries []map[string]any `json:"entries"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Entries
}

func testFormEntries(t *testing.T, e *env) {
	cadre := e.id("forms")
	e.putCadre(t, keyCQ, cadre, unitCQ, "四级调研员")
	long := results(t, e.send(t, centralized(e.id("form-long"), cadre, "2024-03-01", "2024-04-30", 61, 320, true)))[0]["record_id"]
	short := results(t, e.send(t, centralized(e.id("form-short"), cadre, "2024-03-15", "2024-05-13", 60, 300, true)))[0]["record_id"]
	partTime := results(t, e.send(t, centralized(e.id("form-part"), cadre, "2024-06-01", "2024-08-30", 20, 100, false)))[0]["record_id"]
	appraisal := "/v1/cadres/" + cadre + "/appraisal-records?year=2024"
	appointment := "/v1/cadres/" + cadre + "/appointment-records"
	eventually(t, "appraisal entries for both full-time trainings", func() string {
		es := entries(t, e, appraisal)
		got := map[any]bool{}
		for _, x := range es {
			got[x["record_id"]] = x["status"] == "active"
		}
		if len(es) != 2 || !got[long] || !got[short] {
			return fmt.Sprint(es)
		}
		return ""
	})
	eventually(t, "the appointment entry for the 2-month training", func() string {
		if es := entries(t, e, appointment); len(es) != 1 || es[0]["record_id"] != long {
			return fmt.Sprint(es)
		}
		return ""
	})
	app := entries(t, e, appointment)[0]
	if app["months"] != float64(2) || app["status"] != "active" || app["start_date"] != "2024-03-01" || app["end_date"] != "2024-04-30" ||
		!strings.HasPrefix(fmt.Sprint(app["line"]), "2024.03—2024.04") || app["institution"] != "中央党校（国家行政学院）" {
		t.Errorf("appointment entry %v", app)
	}
	for _, x := range entries(t, e, appraisal) {
		if x["record_id"] == partTime {
			t.Errorf("a part-time training was entered: %v", x)
		}
	}
	if es := entries(t, e, "/v1/cadres/"+cadre+"/appraisal-records?year=2023"); len(es) != 0 {
		t.Errorf("appraisal entries of 2023: %v, want none", es)
	}
	// Void the long one: its entries are withdrawn, with who/when/why, and kept.
	wantStatus(t, e.do(t, req{method: "POST", path: fmt.Sprintf("/v1/records/%v/void", long), key: keyCQ, body: map[string]any{"reason": "培训未完成"}}), 200)
	withdrawn := func(x map[string]any) string {
		w, _ := x["withdrawal"].(map[string]any)
		if x["status"] != "withdrawn" || w["reason"] != "培训未完成" || w["by"] == "" || w["by"] == nil || w["at"] == nil || w["at"] == "" {
			return fmt.Sprint(x)
		}
		return ""
	}
	eventually(t, "the appointment entry withdrawn", func() string {
		es := entries(t, e, appointment)
		if len(es) != 1 {
			return fmt.Sprint(es)
		}
		return withdrawn(es[0])
	})
	eventually(t, "the appraisal entry withdrawn, the other still active", func() string {
		for _, x := range entries(t, e, appraisal) {
			switch x["record_id"] {
			case long:
				if s := withdrawn(x); s != "" {
					return s
				}
			case short:
				if x["status"] != "active" {
					return fmt.Sprint(x)
				}
			}
		}
		return ""
	})
}

// cst is China Standard Time, in which "today" and calendar years are counted (docs/rules.md §2).
var cst = time.FixedZone("CST", 8*3600)

func testSnapshotFollows(t *testing.T, e *env) {
	cadre := e.id("snapshot")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	path := "/v1/cadres/" + cadre + "/quota-status"
	r := e.do(t, req{method: "GET", path: path, key: keyCQ})
	wantStatus(t, r, 200)
	before := r.json(t)
	if h := measure(requirement(t, before, "online_annual"), "achieved", "hours"); h != float64(0) {
		t.Fatalf("online hours before %v, want 0", h)
	}
	today := time.Now().In(cst).Format("2006-01-02")
	r = e.do(t, req{method: "POST", path: "/v1/cadres/" + cadre + "/self-study", key: keyCQ,
		body: map[string]any{"hours": 50, "studied_on": today}, header: map[string]string{"Idempotency-Key": e.id("snap")}})
	wantStatus(t, r, 201)
	eventually(t, "the stored snapshot shows the new record", func() string {
		r := e.do(t, req{method: "GET", path: path, key: keyCQ})
		if r.status != 200 {
			return string(r.body)
		}
		st := r.json(t)
		online := requirement(t, st, "online_annual")
		if measure(online, "achieved", "hours") != float64(50) || online["state"] != "met" || st["computed_at"] == before["computed_at"] {
			return string(r.body)
		}
		return ""
	})
}

func testQuotaStatusAsOf(t *testing.T, e *env) {
	cadre := e.id("asof")
	e.putCadre(t, keyCQ, cadre, unitCQ, "一级主任科员")
	results(t, e.send(t, centralized(e.id("q-1"), cadre, "2025-03-03", "2025-03-07", 5, 40, false)))
	results(t, e.send(t, centralized(e.id("q-2"), cadre, "2025-06-10", "2025-06-12", 3, 24.5, true)))
	// Not counted: failed assessment, another year, and a voided record.
	failed := centralized(e.id("q-failed"), cadre, "2025-09-01", "2025-09-05", 5, 40, false)
	failed["assessment"] = "failed"
	results(t, e.send(t, failed))
	results(t, e.send(t, centralized(e.id("q-2024"), cadre, "2024-09-01", "2024-09-05", 5, 40, false)))
	voided := results(t, e.send(t, centralized(e.id("q-void"), cadre, "2025-10-08", "2025-10-10", 3, 24, false)))[0]["record_id"]
	wantStatus(t, e.do(t, req{method: "POST", path: fmt.Sprintf("/v1/records/%v/void", voided), key: keyCQ, body: map[string]any{"reason": "录入错误"}}), 200)
	wantStatus(t, e.do(t, req{method: "POST", path: "/v1/cadres/" + cadre + "/self-study", key: keyCQ,
		body: map[string]any{"hours": 50, "studied_on": "2025-05-01"}, header: map[string]string{"Idempotency-Key": e.id("q-online")}}), 201)

	r := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status?as_of=2025-12-31", key: keyCQ})
	wantStatus(t, r, 200)
	st := r.json(t)
	if st["cadre_id"] != cadre || st["as_of"] != "2025-12-31" || st["policy"] != "cadre-2023-2027" || st["category"] != "township_and_below" ||
		st["overall"] != "unmet" || st["appraisal_excellent_eligible"] != false {
		t.Errorf("status %s", r.body)
	}
	c := requirement(t, st, "centralized_annual")
	for _, x := range []struct {
		part, unit string
		want       float64
	}{{"target", "days", 12}, {"target", "hours", 90}, {"achieved", "days", 8}, {"achieved", "hours", 64.5}, {"remaining", "days", 4}, {"remaining", "hours", 25.5}} {
		if got := measure(c, x.part, x.unit); got != x.want {
			t.Errorf("centralized_annual %s.%s = %v, want %v", x.part, x.unit, got, x.want)
		}
	}
	if c["state"] != "unmet" || c["deadline"] != "2025-12-31" {
		t.Errorf("centralized_annual %v, want unmet with deadline 2025-12-31", c)
	}
	if w, _ := c["window"].(map[string]any); w["start"] != "2025-01-01" || w["end"] != "2025-12-31" {
		t.Errorf("window %v", c["window"])
	}
	o := requirement(t, st, "online_annual")
	if o["state"] != "met" || measure(o, "achieved", "hours") != float64(50) || measure(o, "remaining", "hours") != float64(0) {
		t.Errorf("online_annual %v, want met with 50 hours", o)
	}
	// Mid-year the same records are behind pace or on track, never unmet.
	r = e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status?as_of=2025-06-30", key: keyCQ})
	wantStatus(t, r, 200)
	if s := requirement(t, r.json(t), "centralized_annual")["state"]; s == "unmet" || s == "met" {
		t.Errorf("centralized_annual as of 2025-06-30 is %v, want at_risk or on_track", s)
	}
}

func testRecompute(t *testing.T, e *env) {
	cadre := e.id("recompute")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	sc := e.id("recompute-sc")
	e.putCadre(t, keySC, sc, unitSC, townshipRk)
	r := e.do(t, req{method: "POST", path: "/v1/recompute", key: keyAdmin, body: map[string]any{"cadre_id": cadre}})
	wantStatus(t, r, 200)
	if m := r.json(t); m["recomputed"] != float64(1) || m["failed"] != float64(0) {
		t.Errorf("recompute cadre %s", r.body)
	}
	r = e.do(t, req{method: "POST", path: "/v1/recompute", key: keyAdmin, body: map[string]any{"unit": "cn/sc", "as_of": "2025-12-31"}})
	wantStatus(t, r, 200)
	if m := r.json(t); m["recomputed"].(float64) < 1 || m["failed"] != float64(0) {
		t.Errorf("recompute unit %s", r.body)
	}
	r = e.do(t, req{method: "POST", path: "/v1/recompute", key: keyAdmin, body: map[string]any{"all": true}})
	wantStatus(t, r, 202)
	if m := r.json(t); !strings.HasPrefix(fmt.Sprint(m["job_id"]), "job_") {
		t.Errorf("recompute all %s, want a job id", r.body)
	}
	wantProblem(t, e.do(t, req{method: "POST", path: "/v1/recompute", key: keyAdmin, body: map[string]any{"cadre_id": e.id("nobody")}}), 404)
	wantProblem(t, e.do(t, req{method: "POST", path: "/v1/recompute", key: keyAdmin, body: map[string]any{"cadre_id": cadre, "all": true}}), 400, "body")
	wantProblem(t, e.do(t, req{method: "POST", path: "/v1/recompute", key: keyAdmin, body: map[string]any{"all": true, "as_of": "someday", "x": 1}}), 400, "as_of", "x")
	wantProblem(t, e.do(t, req{method: "POST", path: "/v1/recompute", key: keyAdmin, body: `{"all": true}`, contentType: "text/plain"}), 415)
}

func testLeadershipAndUnitBoundary(t *testing.T, e *env) {
	cadre := e.id("leader")
	r := e.do(t, req{method: "PUT", path: "/v1/cadres/" + cadre, key: keyCQ, body: map[string]any{
		"name": "王五", "unit": unitCQ, "rank": "county_deputy", "rank_effective_on": "2023-01-01", "leadership_member": true,
		"leadership_effective_on": "2023-01-01", // the term's start; without it the term starts today
	}})
	wantStatus(t, r, 201)
	results(t, e.send(t, centralized(e.id("lead-1"), cadre, "2024-03-01", "2024-04-30", 61, 320, true)))
	r = e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status?as_of=2025-12-31", key: keyCQ})
	wantStatus(t, r, 200)
	st := r.json(t)
	if st["category"] != "county_and_above" {
		t.Errorf("category %v, want county_and_above", st["category"])
	}
	lead := requirement(t, st, "leadership_party_school_5y")
	if lead["state"] != "met" || measure(lead, "achieved", "days") != float64(61) || measure(lead, "target", "days") != float64(60) {
		t.Errorf("leadership_party_school_5y %v, want met with 61 of 60 days", lead)
	}
	five := requirement(t, st, "centralized_5y")
	// 61 of 90 days after 1096 of 1826 days of the plan period: ahead of pace on days.
	if five["state"] != "on_track" || measure(five, "achieved", "hours") != float64(320) || measure(five, "remaining", "days") != float64(29) {
		t.Errorf("centralized_5y %v, want on_track, 320 hours achieved, 29 days remaining", five)
	}
	if w, _ := five["window"].(map[string]any); w["start"] != "2023-01-01" || w["end"] != "2027-12-31" {
		t.Errorf("centralized_5y window %v", five["window"])
	}

	// Unit prefixes compare by whole segments: cn/cq does not see cn/cqx.
	other := e.id("cqx")
	r = e.do(t, req{method: "PUT", path: "/v1/cadres/" + other, key: keyAdmin, body: map[string]any{"name": "赵六", "unit": "cn/cqx/a", "rank": townshipRk}})
	wantStatus(t, r, 201)
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + other, key: keyCQ}), 404)
	wantStatus(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + other, key: keyAdmin}), 200)
}

// testExactHours: 500 online completions of 0.1 学时 make exactly 50 学时 and meet the online
// target (docs/rules.md §2: exact decimals, 不少于 includes the number), through JSON, the store and
// the evaluation.
func testExactHours(t *testing.T, e *env) {
	cadre := e.id("exact")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	for b := 0; b < 5; b++ {
		var items []any
		for i := 0; i < 100; i++ {
			n := b*100 + i
			items = append(items, map[string]any{"event_id": e.id(fmt.Sprintf("tenth-%d", n)), "cadre_id": cadre, "kind": "online",
				"studied_on": "2025-02-03", "hours": 0.1})
		}
		body, _ := json.Marshal(map[string]any{"completions": items})
		for i, res := range results(t, e.webhook(t, platform, body, time.Now(), secretOld)) {
			if res["status"] != "created" {
				t.Fatalf("batch %d item %d: %v", b, i, res)
			}
		}
	}
	r := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status?as_of=2025-12-31", key: keyCQ})
	wantStatus(t, r, 200)
	o := requirement(t, r.json(t), "online_annual")
	if measure(o, "achieved", "hours") != float64(50) || o["state"] != "met" || measure(o, "remaining", "hours") != float64(0) {
		t.Errorf("online_annual %v, want exactly 50 hours, met", o)
	}
}

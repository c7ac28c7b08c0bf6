package handlers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/handlers"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Fixtures: testdata/apigw-v2-request-no-authorizer.json and dynamodb-event.json are
// aws-lambda-go's events/testdata; scheduled-event.json is `sam local generate-event cloudwatch
// scheduled-event`.

const (
	hrKey    = "demo-hr-key-cq"
	adminKey = "demo-admin-key"
)

type env struct {
	deps  handlers.Deps
	hr    func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	self  func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	hook  func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	recmp func(context.Context, json.RawMessage) (any, error)
	forms func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
}

type captureInvoker struct {
	mu       sync.Mutex
	payloads [][]byte
}

func (c *captureInvoker) InvokeAsync(_ context.Context, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.payloads = append(c.payloads, p)
	return nil
}

func newEnv(t *testing.T, inv handlers.Invoker) *env {
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
	d := handlers.Deps{Store: st, StoreKind: "embedded", Config: cfg, Now: time.Now, Invoker: inv, Log: slog.New(slog.DiscardHandler)}
	return &env{deps: d, hr: handlers.HRAPI(d), self: handlers.RecordSelfStudy(d), hook: handlers.IngestCompletions(d),
		recmp: handlers.RecomputeQuota(d), forms: handlers.WriteFormEntries(d)}
}

func fixture(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// request builds an API Gateway v2 request from the real fixture, as API Gateway would for route.
func request(t *testing.T, routeKey string, params map[string]string, key, body string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	var req events.APIGatewayV2HTTPRequest
	fixture(t, "apigw-v2-request-no-authorizer.json", &req)
	method, path, _ := strings.Cut(routeKey, " ")
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	req.RouteKey, req.RequestContext.RouteKey = routeKey, routeKey
	req.RawPath, req.RequestContext.HTTP.Path, req.RequestContext.HTTP.Method = path, path, method
	req.PathParameters = params
	req.Body = body
	if key != "" {
		req.Headers["authorization"] = "Bearer " + key
	}
	if body != "" {
		req.Headers["content-type"] = "application/json"
		req.Headers["content-length"] = strconv.Itoa(len(body))
	}
	return req
}

func problem(t *testing.T, resp events.APIGatewayV2HTTPResponse, status int) handlers.Problem {
	t.Helper()
	if got, want := resp.StatusCode, status; got != want {
		t.Fatalf("status=%d, want %d; body %s", got, want, resp.Body)
	}
	if got, want := resp.Headers["Content-Type"], "application/problem+json"; got != want {
		t.Fatalf("content-type=%q, want %q", got, want)
	}
	var p handlers.Problem
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != status || p.Title == "" || p.Type == "" || p.Detail == "" {
		t.Fatalf("incomplete problem: %+v", p)
	}
	return p
}

func fields(p handlers.Problem) map[string]bool {
	out := map[string]bool{}
	for _, f := range p.Errors {
		out[f.Field] = true
	}
	return out
}

func call(t *testing.T, h func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := h(context.Background(), req)
	if err != nil {
		t.Fatalf("handler returned an error (must answer with a response): %v", err)
	}
	return resp
}

func putCadre(t *testing.T, e *env, id, body string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	return call(t, e.hr, request(t, handlers.RoutePutCadre, map[string]string{"cadre_id": id}, hrKey, body))
}

const township = `{"name": "张三", "unit": "cn/cq/yuzhong/xinfang", "rank": "一级科员", "rank_effective_on": "2023-01-01"}`

func TestHRAPI(t *testing.T) {
	e := newEnv(t, nil)
	t.Run("HealthNeedsNoKey", func(t *testing.T) {
		resp := call(t, e.hr, request(t, handlers.RouteHealth, nil, "", ""))
		if got, want := resp.Body, `{"status":"ok","store":"embedded"}`; resp.StatusCode != 200 || got != want {
			t.Fatalf("health: %d %s", resp.StatusCode, got)
		}
	})
	t.Run("CreateThenUpdate", func(t *testing.T) {
		if got, want := putCadre(t, e, "c-1", township).StatusCode, 201; got != want {
			t.Fatalf("create status=%d, want %d", got, want)
		}
		resp := putCadre(t, e, "c-1", township)
		if got, want := resp.StatusCode, 200; got != want {
			t.Fatalf("update status=%d, want %d", got, want)
		}
		var c training.Cadre
		json.Unmarshal([]byte(resp.Body), &c)
		if c.Rank != "staff_1" || len(c.RankHistory) != 1 || c.Category != "township_and_below" {
			t.Fatalf("profile=%+v", c)
		}
	})
	t.Run("Base64Body", func(t *testing.T) {
		req := request(t, handlers.RoutePutCadre, map[string]string{"cadre_id": "c-b64"}, hrKey, township)
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(township)), true
		if got, want := call(t, e.hr, req).StatusCode, 201; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
	})
	t.Run("ErrNoKey", func(t *testing.T) {
		resp := call(t, e.hr, request(t, handlers.RouteGetCadre, map[string]string{"cadre_id": "c-1"}, "", ""))
		problem(t, resp, 401)
		if resp.Headers["WWW-Authenticate"] == "" {
			t.Fatal("401 without WWW-Authenticate")
		}
	})
	t.Run("ErrUnknownKey", func(t *testing.T) {
		problem(t, call(t, e.hr, request(t, handlers.RouteGetCadre, map[string]string{"cadre_id": "c-1"}, "nope", "")), 401)
	})
	t.Run("ErrOutsideUnitsIsNotFound", func(t *testing.T) {
		problem(t, call(t, e.hr, request(t, handlers.RouteGetCadre, map[string]string{"cadre_id": "c-1"}, "demo-hr-key-sc", "")), 404)
	})
	t.Run("ErrContentType", func(t *testing.T) {
		req := request(t, handlers.RoutePutCadre, map[string]string{"cadre_id": "c-2"}, hrKey, township)
		req.Headers["content-type"] = "text/plain"
		problem(t, call(t, e.hr, req), 415)
	})
	t.Run("ErrEveryBadFieldNamed", func(t *testing.T) {
		p := problem(t, putCadre(t, e, "c-3", `{"name": "", "unit": "cn//x", "rank": "科长", "joined_on": "2020-13-01", "leadership_member": "yes", "nickname": "x"}`), 400)
		want := []string{"name", "unit", "rank", "joined_on", "leadership_member", "nickname"}
		got := fields(p)
		for _, f := range want {
			if !got[f] {
				t.Errorf("field %q not named; errors %+v", f, p.Errors)
			}
		}
		problem(t, call(t, e.hr, request(t, handlers.RouteGetCadre, map[string]string{"cadre_id": "c-3"}, hrKey, "")), 404)
	})
	t.Run("ErrUnknownRankNamesAccepted", func(t *testing.T) {
		p := problem(t, putCadre(t, e, "c-4", `{"name": "x", "unit": "cn/cq", "rank": "boss"}`), 400)
		if len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Message, "researcher_4") {
			t.Fatalf("errors=%+v, want the accepted ranks listed", p.Errors)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		big := `{"name": "` + strings.Repeat("x", handlers.MaxBodyBytes) + `"}`
		problem(t, putCadre(t, e, "c-5", big), 413)
	})
	t.Run("ErrBadQuery", func(t *testing.T) {
		req := request(t, handlers.RouteQuotaStatus, map[string]string{"cadre_id": "c-1"}, hrKey, "")
		req.QueryStringParameters = map[string]string{"as_of": "2025-02-30"}
		if !fields(problem(t, call(t, e.hr, req), 400))["as_of"] {
			t.Fatal("as_of not named")
		}
	})
	t.Run("QuotaStatusAsOf", func(t *testing.T) {
		req := request(t, handlers.RouteQuotaStatus, map[string]string{"cadre_id": "c-1"}, hrKey, "")
		req.QueryStringParameters = map[string]string{"as_of": "2025-12-31"}
		resp := call(t, e.hr, req)
		var st training.Status
		json.Unmarshal([]byte(resp.Body), &st)
		if resp.StatusCode != 200 || st.Overall != training.StateUnmet || st.Category != "township_and_below" || len(st.Requirements) != 2 {
			t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
		if !strings.Contains(resp.Body, `"computed_at":"`) || !strings.Contains(resp.Body, "+08:00") {
			t.Fatalf("computed_at not in UTC+8: %s", resp.Body)
		}
	})
	t.Run("ErrUnknownRoute", func(t *testing.T) {
		problem(t, call(t, e.hr, request(t, "GET /v1/nowhere", nil, hrKey, "")), 404)
	})
}

func TestRecordSelfStudy(t *testing.T) {
	e := newEnv(t, nil)
	putCadre(t, e, "c-1", township)
	post := func(key, idem, body string) events.APIGatewayV2HTTPResponse {
		req := request(t, "POST /v1/cadres/{cadre_id}/self-study", map[string]string{"cadre_id": "c-1"}, key, body)
		if idem != "" {
			req.Headers["idempotency-key"] = idem
		}
		return call(t, e.self, req)
	}
	body := `{"hours": 1.5, "studied_on": "2025-03-02", "course_title": "《信访工作条例》解读", "source": "hr-system"}`
	first := post(hrKey, "k-1", body)
	if got, want := first.StatusCode, 201; got != want {
		t.Fatalf("first status=%d, want %d: %s", got, want, first.Body)
	}
	replay := post(hrKey, "k-1", body)
	if got, want := replay.StatusCode, 200; got != want {
		t.Fatalf("replay status=%d, want %d", got, want)
	}
	if replay.Body != first.Body {
		t.Fatalf("replay body differs:\n%s\n%s", replay.Body, first.Body)
	}
	var rec handlers.RecordView
	json.Unmarshal([]byte(first.Body), &rec)
	if rec.Hours != 150 || rec.Kind != training.KindOnline || rec.Source != "hr-system" {
		t.Fatalf("record=%+v", rec)
	}
	problem(t, post(hrKey, "k-1", `{"hours": 2, "studied_on": "2025-03-02"}`), 409)
	if !fields(problem(t, post(hrKey, "", body), 400))["Idempotency-Key"] {
		t.Fatal("missing Idempotency-Key not named")
	}
	p := problem(t, post(hrKey, "k-2", `{"hours": 1.234, "studied_on": "yesterday", "mood": 1}`), 400)
	for _, f := range []string{"hours", "studied_on", "mood"} {
		if !fields(p)[f] {
			t.Errorf("%s not named in %+v", f, p.Errors)
		}
	}
	for _, h := range []string{"0", "-1", `"1.5"`} {
		if !fields(problem(t, post(hrKey, "k-h"+h, `{"hours": `+h+`, "studied_on": "2025-03-02"}`), 400))["hours"] {
			t.Errorf("hours %s not rejected", h)
		}
	}
	problem(t, post("demo-hr-key-sc", "k-3", body), 404)
}

func sign(t *testing.T, secret, body string, at time.Time) map[string]string {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	id := "msg_" + strconv.FormatInt(at.UnixNano(), 36)
	sig, _ := wh.Sign(id, at, []byte(body))
	return map[string]string{"webhook-id": id, "webhook-timestamp": strconv.FormatInt(at.Unix(), 10), "webhook-signature": sig}
}

const demoSecret = "whsec_ZGVtby1wbGF0Zm9ybS1zZWNyZXQtMDAwMS1yb3RhdGU="

func TestIngestCompletions(t *testing.T) {
	e := newEnv(t, nil)
	putCadre(t, e, "c-001", township)
	send := func(body string, at time.Time) events.APIGatewayV2HTTPResponse {
		req := request(t, "POST /v1/webhooks/completions/{platform_id}", map[string]string{"platform_id": "elearn-demo"}, "", body)
		for k, v := range sign(t, demoSecret, body, at) {
			req.Headers[k] = v
		}
		return call(t, e.hook, req)
	}
	one := `{"event_id": "evt-9f2", "cadre_id": "c-001", "kind": "centralized", "full_time": true,
	  "course_id": "cls-2024-07", "course_title": "中青年干部培训班", "institution": "中央党校（国家行政学院）",
	  "institution_type": "party_school", "start_date": "2024-03-01", "end_date": "2024-04-30",
	  "days": 61, "hours": 320, "assessment": "passed", "completed_at": "2024-04-30T17:00:00+08:00"}`
	resp := send(one, time.Now())
	if !strings.Contains(resp.Body, `"status":"created"`) || resp.StatusCode != 200 {
		t.Fatalf("single: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := send(one, time.Now()); !strings.Contains(resp.Body, `"status":"duplicate"`) {
		t.Fatalf("replay: %s", resp.Body)
	}
	problem(t, send(strings.Replace(one, `"hours": 320`, `"hours": 321`, 1), time.Now()), 409)
	problem(t, send(one, time.Now().Add(-301*time.Second)), 401)
	t.Run("ErrTampered", func(t *testing.T) {
		req := request(t, "POST /v1/webhooks/completions/{platform_id}", map[string]string{"platform_id": "elearn-demo"}, "", one)
		for k, v := range sign(t, demoSecret, one, time.Now()) {
			req.Headers[k] = v
		}
		req.Body = strings.Replace(one, "320", "999", 1)
		problem(t, call(t, e.hook, req), 401)
	})
	t.Run("Batch", func(t *testing.T) {
		batch := `{"completions": [` +
			strings.Replace(one, "evt-9f2", "evt-b1", 1) + `,` +
			one + `,` +
			strings.Replace(one, `"hours": 320`, `"hours": 1`, 1) + `,` +
			`{"event_id": "evt-b4", "cadre_id": "c-001", "kind": "online", "hours": 0.001}` + `,` +
			`{"event_id": "evt-b5", "cadre_id": "ghost", "kind": "online", "hours": 1, "studied_on": "2025-01-02"}` + `]}`
		resp := send(batch, time.Now())
		var out struct{ Results []handlers.CompletionResult }
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("batch: %d %s", resp.StatusCode, resp.Body)
		}
		var got []string
		for _, r := range out.Results {
			got = append(got, r.Status)
		}
		if want := "created duplicate conflict invalid rejected"; strings.Join(got, " ") != want {
			t.Fatalf("statuses=%v, want %s", got, want)
		}
		if f := out.Results[3].Errors; len(f) == 0 || !strings.HasPrefix(f[0].Field, "completions[3].") {
			t.Fatalf("invalid item errors=%+v, want fields prefixed completions[3].", f)
		}
	})
	t.Run("ErrBatchTooLarge", func(t *testing.T) {
		items := make([]string, handlers.MaxBatch+1)
		for i := range items {
			items[i] = `{"event_id": "x` + strconv.Itoa(i) + `", "cadre_id": "c-001", "kind": "online", "hours": 1, "studied_on": "2025-01-02"}`
		}
		problem(t, send(`{"completions": [`+strings.Join(items, ",")+`]}`, time.Now()), 413)
		recs, _ := e.deps.Store.ListRecords(context.Background(), "c-001")
		for _, r := range recs {
			if strings.HasPrefix(r.ExternalID, "x") {
				t.Fatalf("an oversized batch stored %s", r.ExternalID)
			}
		}
	})
	t.Run("ErrBadKindNamesKindOnly", func(t *testing.T) {
		p := problem(t, send(`{"event_id": "evt-k", "cadre_id": "c-001", "kind": "offline", "full_time": false, "hours": 1, "studied_on": "2025-01-02"}`, time.Now()), 400)
		if got := fields(p); !got["kind"] || got["full_time"] {
			t.Fatalf("fields=%+v, want kind named and full_time not", p.Errors)
		}
		p = problem(t, send(`{"event_id": "evt-o", "cadre_id": "c-001", "kind": "online", "full_time": false, "hours": 1, "studied_on": "2025-01-02"}`, time.Now()), 400)
		if !fields(p)["full_time"] {
			t.Fatalf("full_time on an online completion not named: %+v", p.Errors)
		}
	})
	t.Run("ErrSingleInvalid", func(t *testing.T) {
		p := problem(t, send(`{"event_id": "evt-x", "cadre_id": "c-001", "kind": "centralized", "start_date": "2025-03-10", "end_date": "2025-03-01", "hours": 10}`, time.Now()), 400)
		if !fields(p)["end_date"] {
			t.Fatalf("end_date not named: %+v", p.Errors)
		}
	})
}

// The stream handlers get real DynamoDB stream records: the codec builds them exactly as the
// table's stream would, and aws-lambda-go's fixture (items that are not training records) must
// pass through without failures.
func TestStreamHandlers(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	putCadre(t, e, "c-001", township)
	year := training.Today(time.Now()).Year // the snapshot is as of today: train this year
	r := training.Record{CadreID: "c-001", Source: "platform/elearn-demo", ExternalID: "evt-1", Kind: training.KindCentralized,
		FullTime: true, CourseTitle: "中青年干部培训班", Institution: "中央党校（国家行政学院）", InstitutionType: "party_school",
		StartDate: training.Date{Year: year, Month: 1, Day: 5}, EndDate: training.Date{Year: year, Month: 3, Day: 4}, Days: 59, Hours: training.HoursOf(320),
		Status: training.StatusActive, CreatedAt: time.Now().UTC()}
	r.Seal()
	stored, _, err := e.deps.Store.CreateRecord(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	changes, _, err := e.deps.Store.ReadChanges(ctx, "", 10)
	if err != nil || len(changes) != 1 {
		t.Fatalf("changes=%d err=%v", len(changes), err)
	}
	rec, err := dynamo.EventRecordFromChange(changes[0], "cadre-training")
	if err != nil {
		t.Fatal(err)
	}
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}}

	resp, err := e.forms(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("forms: %+v %v", resp, err)
	}
	appt, _ := e.deps.Store.ListFormEntries(ctx, "c-001", training.FormAppointment)
	if len(appt) != 1 || appt[0].RecordID != stored.ID || appt[0].Months != 2 {
		t.Fatalf("appointment entries=%+v", appt)
	}
	raw, _ := json.Marshal(ev)
	out, err := e.recmp(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := out.(events.DynamoDBEventResponse); !ok || len(r.BatchItemFailures) != 0 {
		t.Fatalf("recompute response=%#v", out)
	}
	snap, err := e.deps.Store.GetSnapshot(ctx, "c-001")
	if err != nil {
		t.Fatalf("no snapshot after the stream event: %v", err)
	}
	if got := snap.Requirements[0]; got.ID != "centralized_annual" || got.Achieved.Days == nil || *got.Achieved.Days != 59 || got.State != training.StateMet {
		t.Fatalf("snapshot requirement=%+v, want centralized_annual met with 59 days", got)
	}

	t.Run("FixtureOfOtherItems", func(t *testing.T) {
		var fx events.DynamoDBEvent
		fixture(t, "dynamodb-event.json", &fx)
		resp, err := e.forms(ctx, fx)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("forms on foreign items: %+v %v", resp, err)
		}
		raw, _ := os.ReadFile("testdata/dynamodb-event.json")
		if _, err := e.recmp(ctx, raw); err != nil {
			t.Fatalf("recompute on foreign items: %v", err)
		}
	})
	t.Run("FailureReportsTheItem", func(t *testing.T) {
		bad := rec
		bad.Change.NewImage = map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("CADRE#c-001"), "sk": events.NewStringAttribute("REC#x"), "type": events.NewStringAttribute("record"), "hours": events.NewStringAttribute("not a number")}
		bad.Change.Keys = map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("CADRE#c-001"), "sk": events.NewStringAttribute("REC#x")}
		bad.Change.SequenceNumber = "999"
		resp, _ := e.forms(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec, bad}})
		if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "999" {
			t.Fatalf("failures=%+v, want the undecodable record's sequence number", resp.BatchItemFailures)
		}
	})
}

func TestRecomputeQuota(t *testing.T) {
	inv := &captureInvoker{}
	e := newEnv(t, inv)
	ctx := context.Background()
	putCadre(t, e, "c-1", township)
	asHTTP := func(key, body string) events.APIGatewayV2HTTPResponse {
		raw, _ := json.Marshal(request(t, handlers.RouteRecompute, nil, key, body))
		out, err := e.recmp(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		return out.(events.APIGatewayV2HTTPResponse)
	}
	problem(t, asHTTP(hrKey, `{"cadre_id": "c-1"}`), 403)
	problem(t, asHTTP(adminKey, `{"cadre_id": "c-1", "all": true}`), 400)
	problem(t, asHTTP(adminKey, `{"cadre_id": "ghost"}`), 404)
	if resp := asHTTP(adminKey, `{"cadre_id": "c-1", "as_of": "2025-12-31"}`); resp.Body != `{"recomputed":1,"failed":0}` {
		t.Fatalf("cadre: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := asHTTP(adminKey, `{"unit": "cn/cq"}`); resp.Body != `{"recomputed":1,"failed":0}` {
		t.Fatalf("unit: %s", resp.Body)
	}
	resp := asHTTP(adminKey, `{"all": true}`)
	if resp.StatusCode != 202 || !strings.Contains(resp.Body, `"job_id":"job_`) || len(inv.payloads) != 1 {
		t.Fatalf("all: %d %s (invocations %d)", resp.StatusCode, resp.Body, len(inv.payloads))
	}
	// The asynchronous invocation runs the job.
	out, err := e.recmp(ctx, inv.payloads[0])
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(out); string(b) != `{"recomputed":1,"failed":0}` {
		t.Fatalf("job result %s", b)
	}
	t.Run("ScheduleFixture", func(t *testing.T) {
		raw, _ := os.ReadFile("testdata/scheduled-event.json")
		out, err := e.recmp(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(out); string(b) != `{"recomputed":1,"failed":0}` {
			t.Fatalf("schedule result %s", b)
		}
	})
	t.Run("ErrUnknownEvent", func(t *testing.T) {
		if _, err := e.recmp(ctx, json.RawMessage(`{"hello": 1}`)); err == nil {
			t.Fatal("an unknown event was accepted")
		}
	})
}

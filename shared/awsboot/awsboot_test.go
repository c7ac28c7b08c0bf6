package awsboot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/httpapi"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Fixtures in testdata/: http-api-proxy.json is `sam local generate-event apigateway
// http-api-proxy`; scheduled-event.json is `sam local generate-event cloudwatch scheduled-event`;
// record-stream-event.json is a stream batch of this table's record items (kept equal to the
// codec's output by shared/dynamo's TestStreamEventFixture).

func fixture[T any](tb testing.TB, name string) T {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return v
}

// faultyStore is a real embedded store whose methods can be replaced, for the error paths real
// parts cannot produce.
type faultyStore struct {
	training.Store
	putFormEntries func(context.Context, []training.FormEntry) error
}

func (f *faultyStore) PutFormEntries(ctx context.Context, es []training.FormEntry) error {
	if f.putFormEntries != nil {
		return f.putFormEntries(ctx, es)
	}
	return f.Store.PutFormEntries(ctx, es)
}

func newStore(t *testing.T) *faultyStore {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cadre.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &faultyStore{Store: st}
}

var quiet = slog.New(slog.DiscardHandler)

// TestStreamHandlerWritesFormEntries: write-form-entries takes the records from the stream images:
// the INSERT of a 61-day full-time training enters it in both forms, the MODIFY to voided
// withdraws both (docs/rules.md §4).
func TestStreamHandlerWritesFormEntries(t *testing.T) {
	st := newStore(t)
	h := streamHandler(app.New(st), app.WorkForms, quiet)
	ev := fixture[events.DynamoDBEvent](t, "record-stream-event.json")

	resp, err := h(context.Background(), events.DynamoDBEvent{Records: ev.Records[:1]})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("INSERT: %+v, %v", resp, err)
	}
	for _, form := range []training.FormKind{training.FormAppraisal, training.FormAppointment} {
		es, err := st.ListFormEntries(context.Background(), "c-001", form)
		if err != nil || len(es) != 1 || es[0].Status != training.EntryActive {
			t.Fatalf("%s after INSERT: %+v, %v", form, es, err)
		}
	}
	if resp, err := h(context.Background(), events.DynamoDBEvent{Records: ev.Records[1:]}); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("MODIFY: %+v, %v", resp, err)
	}
	es, _ := st.ListFormEntries(context.Background(), "c-001", training.FormAppointment)
	if len(es) != 1 || es[0].Status != training.EntryWithdrawn {
		t.Fatalf("appointment form after the void: %+v", es)
	}
}

// poison is a record item whose image cannot be decoded (hours is not a number).
func poison(t *testing.T, seq string) events.DynamoDBEventRecord {
	ev := fixture[events.DynamoDBEvent](t, "record-stream-event.json")
	rec := ev.Records[0]
	rec.Change.SequenceNumber = seq
	img := map[string]events.DynamoDBAttributeValue{}
	for k, v := range rec.Change.NewImage {
		img[k] = v
	}
	img["hours"] = events.NewBooleanAttribute(true)
	rec.Change.NewImage = img
	return rec
}

// TestStreamHandlerReportsPoisonAlone: of a batch holding one undecodable record, exactly that
// record's SequenceNumber is reported; the changes before it are done.
func TestStreamHandlerReportsPoisonAlone(t *testing.T) {
	for _, work := range []app.ChangeWork{app.WorkForms, app.WorkRecompute} {
		st := newStore(t)
		ev := fixture[events.DynamoDBEvent](t, "record-stream-event.json")
		batch := []events.DynamoDBEventRecord{ev.Records[0], poison(t, "000000000000000000099"), ev.Records[1]}
		resp, err := streamHandler(app.New(st), work, quiet)(context.Background(), events.DynamoDBEvent{Records: batch})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.BatchItemFailures; len(got) != 1 || got[0].ItemIdentifier != "000000000000000000099" {
			t.Fatalf("work %d: BatchItemFailures=%+v, want exactly the poison record", work, got)
		}
	}
}

// TestStreamHandlerStoreFailure: a store failure on a record reports that record, so Lambda
// retries from it.
func TestStreamHandlerStoreFailure(t *testing.T) {
	st := newStore(t)
	st.putFormEntries = func(context.Context, []training.FormEntry) error { return errors.New("throttled") }
	ev := fixture[events.DynamoDBEvent](t, "record-stream-event.json")
	resp, err := streamHandler(app.New(st), app.WorkForms, quiet)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.BatchItemFailures; len(got) != 1 || got[0].ItemIdentifier != ev.Records[0].Change.SequenceNumber {
		t.Fatalf("BatchItemFailures=%+v, want the first record", got)
	}
}

func demoConfig(t *testing.T) *config.Source {
	t.Helper()
	cfg, err := config.LoadFile("../../config/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	return config.Static(cfg)
}

// TestHTTPAdapter: an API Gateway HTTP API event reaches the route table through httpadapter,
// and the response comes back as an event; only the function's own routes are served.
func TestHTTPAdapter(t *testing.T) {
	st := newStore(t)
	var logs bytes.Buffer
	d := httpapi.Deps{Service: app.New(st), Config: demoConfig(t), StoreKind: "dynamodb",
		Log: slog.New(slog.NewJSONHandler(&logs, nil)), Function: httpapi.FnHRAPI}
	h := adaptHTTP(httpapi.New(d))
	req := fixture[events.APIGatewayV2HTTPRequest](t, "http-api-proxy.json")
	req.RouteKey, req.RawPath, req.RawQueryString, req.Body = "GET /v1/health", "/v1/health", "", ""
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = "GET", "/v1/health"
	req.RequestContext.RequestID = "apigw-req-1"
	resp, err := h(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"store":"dynamodb"`) {
		t.Fatalf("health: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	if !strings.Contains(logs.String(), `"request_id":"apigw-req-1"`) || !strings.Contains(logs.String(), `"cold_start":true`) {
		t.Fatalf("the request log lacks API Gateway's request id or the cold start:\n%s", logs.String())
	}
	// A route of another function is not this function's: 404 problem.
	req.RouteKey, req.RawPath = "$default", "/v1/recompute"
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = "POST", "/v1/recompute"
	resp, err = h(context.Background(), req)
	if err != nil || resp.StatusCode != 404 || resp.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("other function's route: %d %v %s %v", resp.StatusCode, resp.Headers, resp.Body, err)
	}
	if strings.Count(logs.String(), `"cold_start":true`) != 1 {
		t.Fatalf("cold start logged more than once:\n%s", logs.String())
	}
}

// TestRecomputeEntryPoints: recompute-quota routes each trigger's event to its typed entry point,
// and refuses an event it does not know.
func TestRecomputeEntryPoints(t *testing.T) {
	st := newStore(t)
	svc := app.New(st)
	if _, _, err := svc.PutCadre(context.Background(), nil, "c-001", app.ProfileInput{Name: "张三", Unit: "cn/cq", Rank: "principal_staff_1"}); err != nil {
		t.Fatal(err)
	}
	e := &env{log: quiet, svc: svc}
	t.Setenv("CADRE_CONFIG", "../../config/demo.json")
	t.Setenv("CADRE_CONFIG_SECRET", "")
	t.Setenv("CADRE_ASYNC_JOBS", "inline")
	invoke, err := buildRecompute(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	sched, _ := os.ReadFile("testdata/scheduled-event.json")
	out, err := invoke(context.Background(), sched)
	if res, ok := out.(app.RecomputeResult); err != nil || !ok || res.Recomputed != 1 {
		t.Fatalf("schedule: %#v, %v", out, err)
	}
	if _, err := st.GetSnapshot(context.Background(), "c-001"); err != nil {
		t.Fatalf("no snapshot after the schedule: %v", err)
	}
	out, err = invoke(context.Background(), json.RawMessage(`{"recompute_job": {"job_id": "job_1"}}`))
	if res, ok := out.(app.RecomputeResult); err != nil || !ok || res.Recomputed != 1 {
		t.Fatalf("job: %#v, %v", out, err)
	}
	stream, _ := os.ReadFile("testdata/record-stream-event.json")
	out, err = invoke(context.Background(), stream)
	if resp, ok := out.(events.DynamoDBEventResponse); err != nil || !ok || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("stream: %#v, %v", out, err)
	}
	req := fixture[events.APIGatewayV2HTTPRequest](t, "http-api-proxy.json")
	req.RouteKey, req.RawPath, req.RawQueryString = "POST /v1/recompute", "/v1/recompute", ""
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = "POST", "/v1/recompute"
	req.Headers = map[string]string{"authorization": "Bearer demo-admin-key", "content-type": "application/json"}
	req.Body, req.IsBase64Encoded = `{"cadre_id": "c-001"}`, false
	raw, _ := json.Marshal(req)
	out, err = invoke(context.Background(), raw)
	if resp, ok := out.(events.APIGatewayV2HTTPResponse); err != nil || !ok || resp.StatusCode != 200 {
		t.Fatalf("HTTP: %#v, %v", out, err)
	}
	if _, err := invoke(context.Background(), json.RawMessage(`{"hello": "world"}`)); err == nil {
		t.Fatal("an unknown event was accepted")
	}
}

// TestColdStartFailsFast: a function whose environment is incomplete fails its init with the
// reason instead of serving requests half-built.
func TestColdStartFailsFast(t *testing.T) {
	t.Setenv("TABLE_NAME", "")
	if _, err := wire(context.Background(), "hr-api", buildHTTP(httpapi.FnHRAPI, nil)); err == nil || !strings.Contains(err.Error(), "TABLE_NAME") {
		t.Fatalf("without TABLE_NAME: %v", err)
	}
	t.Setenv("TABLE_NAME", "t")
	t.Setenv("AWS_REGION", "cn-north-1")
	t.Setenv("CADRE_CONFIG_SECRET", "")
	t.Setenv("CADRE_CONFIG", "")
	if _, err := wire(context.Background(), "hr-api", buildHTTP(httpapi.FnHRAPI, nil)); err == nil || !strings.Contains(err.Error(), "CADRE_CONFIG") {
		t.Fatalf("without configuration: %v", err)
	}
	t.Setenv("CADRE_CONFIG", filepath.Join(t.TempDir(), "missing.json"))
	if _, err := wire(context.Background(), "hr-api", buildHTTP(httpapi.FnHRAPI, nil)); err == nil {
		t.Fatal("a missing configuration file was accepted")
	}
	// write-form-entries needs no configuration: it wires without one.
	if _, err := wire(context.Background(), httpapi.FnWriteFormEntries, func(_ context.Context, e *env) (StreamHandler, error) {
		return streamHandler(e.svc, app.WorkForms, e.log), nil
	}); err != nil {
		t.Fatalf("write-form-entries: %v", err)
	}
}

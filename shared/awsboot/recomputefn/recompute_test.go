package recomputefn

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/awsboot"
	"github.com/cadre-training/cadretrain/shared/awsboot/awstest"
)

var quiet = slog.New(slog.DiscardHandler)

// TestRecomputeEntryPoints: recompute-quota routes each trigger's event to its typed entry point,
// and refuses an event it does not know.
func TestRecomputeEntryPoints(t *testing.T) {
	st := awstest.NewStore(t)
	svc := app.New(st)
	if _, _, err := svc.PutCadre(context.Background(), nil, "c-001", app.ProfileInput{Name: "张三", Unit: "cn/cq", Rank: "principal_staff_1"}); err != nil {
		t.Fatal(err)
	}
	e := &awsboot.Env{Log: quiet, Svc: svc}
	t.Setenv("CADRE_CONFIG", "../../../config/demo.json")
	t.Setenv("CADRE_CONFIG_SECRET", "")
	t.Setenv("CADRE_ASYNC_JOBS", "inline")
	invoke, err := buildRecompute(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	sched, _ := awstest.Raw(t, "scheduled-event.json"), error(nil)
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
	stream, _ := awstest.Raw(t, "record-stream-event.json"), error(nil)
	out, err = invoke(context.Background(), stream)
	if resp, ok := out.(events.DynamoDBEventResponse); err != nil || !ok || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("stream: %#v, %v", out, err)
	}
	req := awstest.Fixture[events.APIGatewayV2HTTPRequest](t, "http-api-proxy.json")
	req.RouteKey, req.RawPath, req.RawQueryString = "POST /v1/recompute", "/v1/recompute", ""
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = "POST", "/v1/recompute"
	req.Headers = map[string]string{"authorization": "Bearer demo-admin-key-not-for-production", "content-type": "application/json"}
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

package httpfn

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/awsboot"
	"github.com/cadre-training/cadretrain/shared/awsboot/awstest"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/httpapi"
)

func demoConfig(t *testing.T) *config.Source {
	t.Helper()
	cfg, err := config.LoadFile("../../../config/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	return config.Static(cfg)
}

// TestHTTPAdapter: an API Gateway HTTP API event reaches the route table through httpadapter,
// and the response comes back as an event; only the function's own routes are served.
func TestHTTPAdapter(t *testing.T) {
	st := awstest.NewStore(t)
	var logs bytes.Buffer
	d := httpapi.Deps{Service: app.New(st), Config: demoConfig(t), StoreKind: "dynamodb",
		Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	h := adaptHTTP(httpapi.NewFunction(d, httpapi.HRAPI))
	req := awstest.Fixture[events.APIGatewayV2HTTPRequest](t, "http-api-proxy.json")
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

// TestColdStartFailsFast: a function whose environment is incomplete fails its init with the
// reason instead of serving requests half-built.
func TestColdStartFailsFast(t *testing.T) {
	t.Setenv("TABLE_NAME", "")
	if _, err := awsboot.Wire(context.Background(), "hr-api", Build(httpapi.HRAPI, NoXLSX, nil)); err == nil || !strings.Contains(err.Error(), "TABLE_NAME") {
		t.Fatalf("without TABLE_NAME: %v", err)
	}
	t.Setenv("TABLE_NAME", "t")
	t.Setenv("AWS_REGION", "cn-north-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("CADRE_CONFIG_SECRET", "")
	t.Setenv("CADRE_CONFIG", "")
	if _, err := awsboot.Wire(context.Background(), "hr-api", Build(httpapi.HRAPI, NoXLSX, nil)); err == nil || !strings.Contains(err.Error(), "CADRE_CONFIG") {
		t.Fatalf("without configuration: %v", err)
	}
	t.Setenv("CADRE_CONFIG", filepath.Join(t.TempDir(), "missing.json"))
	if _, err := awsboot.Wire(context.Background(), "hr-api", Build(httpapi.HRAPI, NoXLSX, nil)); err == nil {
		t.Fatal("a missing configuration file was accepted")
	}
	// write-form-entries needs no configuration: it wires without one.
	if _, err := awsboot.Wire(context.Background(), httpapi.FnWriteFormEntries, func(_ context.Context, e *awsboot.Env) (awsboot.StreamHandler, error) {
		return awsboot.NewStreamHandler(e.Svc, app.WorkForms, e.Log), nil
	}); err != nil {
		t.Fatalf("write-form-entries: %v", err)
	}
}

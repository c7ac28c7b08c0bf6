package httpfn

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/xuri/excelize/v2"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/awsboot"
	"github.com/cadre-training/cadretrain/shared/awsboot/awstest"
	"github.com/cadre-training/cadretrain/shared/httpapi"
	"github.com/cadre-training/cadretrain/shared/sheet"
	"github.com/cadre-training/cadretrain/shared/sheet/xlsx/xlsxfn"
)

// TestHRAPIExportsXLSXThroughRenderFunction: hr-api serves ?format=xlsx by invoking render-xlsx
// (the Lambda Invoke API, here served by the real render handler behind a local endpoint), so the
// export works in AWS as on the one-machine server without hr-api linking excelize; without
// XLSX_FUNCTION_NAME the cold start fails.
func TestHRAPIExportsXLSXThroughRenderFunction(t *testing.T) {
	render := xlsxfn.New(slog.New(slog.DiscardHandler))
	var invoked []string
	lambdaAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		invoked = append(invoked, r.URL.Path+" "+r.Header.Get("X-Amz-Invocation-Type"))
		var req sheet.RenderRequest
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		resp, err := render(r.Context(), req)
		if err != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(resp)
	}))
	defer lambdaAPI.Close()
	for k, v := range map[string]string{
		"AWS_REGION": "cn-north-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_ENDPOINT_URL_LAMBDA": lambdaAPI.URL, "CADRE_CONFIG": "../../../config/demo.json", "CADRE_CONFIG_SECRET": "",
		"XLSX_FUNCTION_NAME": "cadretrain-RenderXlsxFunction-1",
	} {
		t.Setenv(k, v)
	}
	cfg, err := awsboot.EnvConfig()
	if err != nil {
		t.Fatal(err)
	}
	svc := app.New(awstest.NewStore(t))
	e := &awsboot.Env{Log: slog.New(slog.DiscardHandler), Svc: svc, AWS: cfg}
	h, err := Build(httpapi.HRAPI, RemoteXLSX, nil)(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	req := awstest.Fixture[events.APIGatewayV2HTTPRequest](t, "http-api-proxy.json")
	req.RouteKey, req.RawPath, req.RawQueryString, req.Body = "GET /v1/cadres", "/v1/cadres", "unit=cn/cq&format=xlsx", ""
	req.QueryStringParameters = map[string]string{"unit": "cn/cq", "format": "xlsx"}
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = "GET", "/v1/cadres"
	req.Headers = map[string]string{"authorization": "Bearer demo-hr-key-cq-not-for-production"}
	resp, err := h(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Headers["Content-Type"], "spreadsheetml") {
		t.Fatalf("export: %d %v %.300s %v", resp.StatusCode, resp.Headers, resp.Body, err)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			t.Fatal(err)
		}
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not a workbook: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil || len(rows) < 2 || !strings.Contains(rows[0][0], "干部教育培训情况名单") || !strings.Contains(strings.Join(rows[1], " "), "姓名") {
		t.Fatalf("rows %q, %v", rows, err)
	}
	if len(invoked) != 1 || invoked[0] != "/2015-03-31/functions/cadretrain-RenderXlsxFunction-1/invocations RequestResponse" {
		t.Fatalf("invocations %q", invoked)
	}

	t.Setenv("XLSX_FUNCTION_NAME", "")
	if _, err := Build(httpapi.HRAPI, RemoteXLSX, nil)(context.Background(), e); err == nil || !strings.Contains(err.Error(), "XLSX_FUNCTION_NAME") {
		t.Fatalf("without XLSX_FUNCTION_NAME: %v", err)
	}
}

// Package httpfn runs the Lambda functions that serve HTTP routes (hr-api, record-self-study,
// ingest-completions; recompute-quota's HTTP trigger through shared/awsboot/recomputefn), apart
// from shared/awsboot so that the stream functions link none of the HTTP layer.
package httpfn

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/awsboot"
	"github.com/cadre-training/cadretrain/shared/httpapi"
	"github.com/cadre-training/cadretrain/shared/sheet"
)

// HTTPHandler is an API Gateway HTTP API (payload 2.0) handler.
type HTTPHandler = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Exports says how a function renders the xlsx exports of its routes.
type Exports int

const (
	// NoXLSX: the function serves no xlsx export (an xlsx request is refused; CSV is served).
	NoXLSX Exports = iota
	// RemoteXLSX: the render-xlsx function renders them, invoked synchronously; its name is in
	// XLSX_FUNCTION_NAME (hr-api). No function links excelize but render-xlsx.
	RemoteXLSX
)

// HTTP runs a function that serves only its own routes of the API (hr-api, record-self-study,
// ingest-completions).
func HTTP(fn httpapi.Function, exports Exports) {
	awsboot.Start(fn.Name, Build(fn, exports, nil))
}

// Build builds the function's API Gateway handler over its routes; jobs, when not nil, starts the
// recompute jobs of POST /v1/recompute (recompute-quota).
func Build(fn httpapi.Function, exports Exports, jobs func(*awsboot.Env) app.JobStarter) func(context.Context, *awsboot.Env) (HTTPHandler, error) {
	return func(ctx context.Context, e *awsboot.Env) (HTTPHandler, error) {
		src, err := e.ConfigSource(ctx)
		if err != nil {
			return nil, err
		}
		d := httpapi.Deps{Service: e.Svc, Config: src, StoreKind: "dynamodb", Log: e.Log, Metrics: e.Metrics}
		if exports == RemoteXLSX {
			name := os.Getenv("XLSX_FUNCTION_NAME")
			if name == "" {
				return nil, fmt.Errorf("XLSX_FUNCTION_NAME (the render-xlsx function) is not set")
			}
			inv := awsboot.NewInvoker(e.AWS)
			d.XLSX = sheet.Remote(func(ctx context.Context, payload []byte) ([]byte, error) {
				return inv.Invoke(ctx, name, false, payload)
			})
		}
		if jobs != nil {
			d.Jobs = jobs(e)
		}
		return adaptHTTP(httpapi.NewFunction(d, fn)), nil
	}
}

// adaptHTTP serves h through API Gateway events: httpadapter turns the event into an
// *http.Request and the recorded response back into an event; the request id and the cold start
// go to the API's request log.
func adaptHTTP(h http.Handler) HTTPHandler {
	var cold awsboot.ColdStart
	withMeta := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := httpapi.Meta{ColdStart: cold.Take()}
		if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok {
			m.RequestID = rc.RequestID
		}
		h.ServeHTTP(w, r.WithContext(httpapi.WithMeta(r.Context(), m)))
	})
	return httpadapter.NewV2(withMeta).ProxyWithContext
}

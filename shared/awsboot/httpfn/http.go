// Package httpfn runs the Lambda functions that serve HTTP routes (hr-api, record-self-study,
// ingest-completions; recompute-quota's HTTP trigger through shared/awsboot/recomputefn), apart
// from shared/awsboot so that the stream functions link none of the HTTP layer.
package httpfn

import (
	"context"
	"net/http"

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

// HTTP runs a function that serves only its own routes of the API (hr-api, record-self-study,
// ingest-completions).
// render renders xlsx exports: hr-api passes shared/sheet/xlsx.Write; the other functions serve
// no export and pass nil, so they do not link excelize.
func HTTP(fn httpapi.Function, render sheet.XLSX) {
	awsboot.Start(fn.Name, Build(fn, render, nil))
}

// Build builds the function's API Gateway handler over its routes; jobs, when not nil, starts the
// recompute jobs of POST /v1/recompute (recompute-quota).
func Build(fn httpapi.Function, render sheet.XLSX, jobs func(*awsboot.Env) app.JobStarter) func(context.Context, *awsboot.Env) (HTTPHandler, error) {
	return func(ctx context.Context, e *awsboot.Env) (HTTPHandler, error) {
		src, err := e.ConfigSource(ctx)
		if err != nil {
			return nil, err
		}
		d := httpapi.Deps{Service: e.Svc, Config: src, StoreKind: "dynamodb", Log: e.Log, Metrics: e.Metrics, XLSX: render}
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

package awsboot

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/httpapi"
)

// HTTPHandler is an API Gateway HTTP API (payload 2.0) handler.
type HTTPHandler = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// HTTP runs a function that serves only its own routes of the API (hr-api, record-self-study,
// ingest-completions).
func HTTP(function string) { start(function, buildHTTP(function, nil)) }

func buildHTTP(function string, jobs func(*env) app.JobStarter) func(context.Context, *env) (HTTPHandler, error) {
	return func(ctx context.Context, e *env) (HTTPHandler, error) {
		src, err := e.configSource(ctx)
		if err != nil {
			return nil, err
		}
		d := httpapi.Deps{Service: e.svc, Config: src, StoreKind: "dynamodb", Log: e.log, Metrics: e.metrics, Function: function}
		if jobs != nil {
			d.Jobs = jobs(e)
		}
		return adaptHTTP(httpapi.New(d)), nil
	}
}

// adaptHTTP serves h through API Gateway events: httpadapter turns the event into an
// *http.Request and the recorded response back into an event; the request id and the cold start
// go to the API's request log.
func adaptHTTP(h http.Handler) HTTPHandler {
	var cold coldStart
	withMeta := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := httpapi.Meta{ColdStart: cold.take()}
		if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok {
			m.RequestID = rc.RequestID
		}
		h.ServeHTTP(w, r.WithContext(httpapi.WithMeta(r.Context(), m)))
	})
	return httpadapter.NewV2(withMeta).ProxyWithContext
}

// Package handlers maps AWS Lambda events (API Gateway HTTP API payload 2.0, DynamoDB stream,
// EventBridge schedule) onto the application service. Each exported constructor returns the plain
// handler function one Lambda function starts with lambda.Start; the local server (cmd/cadred)
// calls the very same functions through aws-lambda-go's lambda.NewHandler.
package handlers

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Invoker starts an asynchronous invocation of the recompute function with payload (in AWS:
// lambda:Invoke with InvocationType Event on the function itself; locally: a goroutine).
type Invoker interface {
	InvokeAsync(ctx context.Context, payload []byte) error
}

// Deps is what every handler is built from, once per cold start.
type Deps struct {
	Store     training.Store
	StoreKind string // "embedded" or "dynamodb", reported by /v1/health
	Config    *config.Config
	Now       func() time.Time
	Invoker   Invoker // used by POST /v1/recompute {"all": true}; nil runs the job inline
	Log       *slog.Logger
	Rules     *training.Rules // policies and crediting overlays; nil = the embedded ones
}

func (d Deps) service() *app.Service {
	s := app.New(d.Store)
	if d.Now != nil {
		s.Now = d.Now
	}
	s.Rules = d.Rules
	return s
}

func (d Deps) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, nil))
}

// Function names: the folder of each function under functions/ (and its CodeUri in template.yaml).
const (
	FnHRAPI             = "hr-api"
	FnRecordSelfStudy   = "record-self-study"
	FnIngestCompletions = "ingest-completions"
	FnRecomputeQuota    = "recompute-quota"
	FnWriteFormEntries  = "write-form-entries"
)

// ByName returns every function's handler keyed by function name, for the local server.
func ByName(d Deps) map[string]any {
	return map[string]any{
		FnHRAPI:             HRAPI(d),
		FnRecordSelfStudy:   RecordSelfStudy(d),
		FnIngestCompletions: IngestCompletions(d),
		FnRecomputeQuota:    RecomputeQuota(d),
		FnWriteFormEntries:  WriteFormEntries(d),
	}
}

package awsboot

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/training"
)

// StreamHandler is a DynamoDB stream handler with ReportBatchItemFailures.
type StreamHandler = func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// FnWriteFormEntries is the stream function that needs no HTTP layer (its folder under functions/).
const FnWriteFormEntries = "write-form-entries"

// FormEntries runs write-form-entries: the stream's full-time record changes → form entries. It
// needs no configuration, so it reads no secret.
func FormEntries() {
	Start(FnWriteFormEntries, func(_ context.Context, e *Env) (StreamHandler, error) {
		return NewStreamHandler(e.Svc, app.WorkForms, e.Log), nil
	})
}

// NewStreamHandler decodes the batch into changes and hands them to HandleChanges. The first change
// that fails (an undecodable record, or a store error) is reported by its SequenceNumber; Lambda
// then retries from it (bisecting and finally sending it to the failure queue), and the changes
// before it are checkpointed.
func NewStreamHandler(svc *app.Service, work app.ChangeWork, log *slog.Logger) StreamHandler {
	var cold ColdStart
	return func(ctx context.Context, ev events.DynamoDBEvent) (resp events.DynamoDBEventResponse, err error) {
		start, isCold := time.Now(), cold.Take()
		defer func() { // one line per invocation
			attrs := []any{"records", len(ev.Records), "failed", len(resp.BatchItemFailures),
				"latency_ms", float64(time.Since(start).Microseconds()) / 1000, "cold_start", isCold}
			if lc, ok := lambdacontext.FromContext(ctx); ok {
				attrs = append(attrs, "request_id", lc.AwsRequestID)
			}
			log.Info("stream batch", attrs...)
		}()
		changes := make([]training.Change, 0, len(ev.Records))
		seqs := make([]string, 0, len(ev.Records))
		for _, rec := range ev.Records {
			ch, ok, err := dynamo.ChangeFromEventRecord(rec)
			if err != nil {
				ch, ok = training.Change{Seq: rec.Change.SequenceNumber, Undecodable: err.Error()}, true
			}
			if ok {
				changes = append(changes, ch)
				seqs = append(seqs, rec.Change.SequenceNumber)
			}
		}
		resp = events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
		err = svc.HandleChanges(ctx, changes, work)
		if err == nil {
			return resp, nil
		}
		var cf *app.ChangeFailure
		if !errors.As(err, &cf) {
			return resp, err // not tied to a record: Lambda retries the whole batch
		}
		ch := changes[cf.Index]
		log.Error("change failed", "seq", seqs[cf.Index], "cadre_id", ch.CadreID, "record_id", ch.RecordID, "err", cf.Err.Error())
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: seqs[cf.Index]})
		return resp, nil
	}
}

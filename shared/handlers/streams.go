package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/training"
)

// RouteRecompute is the admin route of the recompute-quota function.
const RouteRecompute = "POST /v1/recompute"

// RecomputeJob is the payload of an asynchronous full recompute (POST /v1/recompute {"all": true}).
type RecomputeJob struct {
	JobID string        `json:"job_id"`
	AsOf  training.Date `json:"as_of,omitzero"`
}

type recomputeFn struct {
	d   Deps
	svc *app.Service
	log *slog.Logger
	api httpHandler
}

// RecomputeQuota is the recompute-quota function. One Lambda receives four kinds of event, told
// apart by shape: the table's stream (recompute the cadres whose records changed), the daily
// EventBridge schedule (recompute everyone), POST /v1/recompute (admin), and its own asynchronous
// {"recompute_job": …} invocation for {"all": true}.
func RecomputeQuota(d Deps) func(context.Context, json.RawMessage) (any, error) {
	f := &recomputeFn{d: d, svc: d.service(), log: d.log()}
	f.api = guard(f.log, f.http)
	return f.invoke
}

type eventShape struct {
	Records []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
	RouteKey     string        `json:"routeKey"`
	DetailType   string        `json:"detail-type"`
	Job          *RecomputeJob `json:"recompute_job"`
	ScheduleName string        `json:"schedule"`
}

func (f *recomputeFn) invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var shape eventShape
	if err := json.Unmarshal(raw, &shape); err != nil {
		return nil, fmt.Errorf("recompute-quota: undecodable event: %w", err)
	}
	switch {
	case len(shape.Records) > 0 && shape.Records[0].EventSource == "aws:dynamodb":
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("recompute-quota: stream event: %w", err)
		}
		return f.stream(ctx, ev)
	case shape.RouteKey != "":
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("recompute-quota: http event: %w", err)
		}
		return f.api(ctx, req)
	case shape.Job != nil:
		return f.runAll(ctx, *shape.Job)
	case shape.DetailType != "" || shape.ScheduleName != "":
		// The daily schedule (02:00 China Standard Time): everyone, as of today.
		return f.runAll(ctx, RecomputeJob{JobID: "schedule"})
	}
	return nil, fmt.Errorf("recompute-quota: unrecognised event")
}

// stream recomputes each cadre whose records changed, once per batch, in order
// (app.Service.RecomputeChanged). On a failure it reports that record as the first batch item
// failure: Lambda then retries from there (earlier records are checkpointed), keeping per-cadre order.
func (f *recomputeFn) stream(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	changes, recs, failed := decodeChanges(f.log, ev)
	if i, err := f.svc.RecomputeChanged(ctx, changes); err != nil {
		f.log.Error("recompute failed", "cadre_id", changes[i].CadreID, "err", err.Error())
		return failAt(recs[i]), nil
	}
	if failed != nil {
		return failAt(*failed), nil
	}
	return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}, nil
}

// decodeChanges decodes the record changes of a stream batch up to the first undecodable stream
// record (returned as failed, to be reported as the first batch item failure), with the stream
// record of each change.
func decodeChanges(log *slog.Logger, ev events.DynamoDBEvent) ([]training.Change, []events.DynamoDBEventRecord, *events.DynamoDBEventRecord) {
	var changes []training.Change
	var recs []events.DynamoDBEventRecord
	for i, rec := range ev.Records {
		ch, ok, err := dynamo.ChangeFromEventRecord(rec)
		if err != nil {
			log.Error("undecodable stream record", "event_id", rec.EventID, "err", err.Error())
			return changes, recs, &ev.Records[i]
		}
		if ok {
			changes, recs = append(changes, ch), append(recs, rec)
		}
	}
	return changes, recs, nil
}

func failAt(rec events.DynamoDBEventRecord) events.DynamoDBEventResponse {
	return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: rec.Change.SequenceNumber}}}
}

func (f *recomputeFn) runAll(ctx context.Context, job RecomputeJob) (app.RecomputeResult, error) {
	res, err := f.svc.RecomputeUnit(ctx, "", job.AsOf, 16, func(id string, err error) {
		f.log.Error("recompute failed", "job_id", job.JobID, "cadre_id", id, "err", err.Error())
	})
	f.log.Info("full recompute finished", "job_id", job.JobID, "recomputed", res.Recomputed, "failed", res.Failed)
	if err != nil {
		return res, fmt.Errorf("full recompute %s: %w", job.JobID, err)
	}
	return res, nil
}

// http serves POST /v1/recompute: {"cadre_id": …} | {"unit": …} | {"all": true}, optional as_of.
func (f *recomputeFn) http(ctx context.Context, req httpRequest) (httpResponse, error) {
	if req.RouteKey != RouteRecompute {
		return httpResponse{}, training.Errorf(training.ENOTFOUND, "no route %s", req.RouteKey)
	}
	key, err := authenticate(f.d.Config, req, config.RoleAdmin)
	if err != nil {
		return httpResponse{}, err
	}
	o, errs, err := requestObject(req)
	if err != nil {
		return httpResponse{}, err
	}
	cadreID := o.str("cadre_id", false, 128)
	unit := o.str("unit", false, 256)
	all, _ := o.boolean("all")
	asOf := o.date("as_of", false)
	o.done()
	n := 0
	for _, set := range []bool{cadreID != "", unit != "", all} {
		if set {
			n++
		}
	}
	if n != 1 && len(*errs) == 0 {
		errs.Add("body", `give exactly one of "cadre_id", "unit" or "all": true`)
	}
	if err := errs.Err(); err != nil {
		return httpResponse{}, err
	}
	switch {
	case cadreID != "":
		if _, err := f.svc.GetCadre(ctx, key, cadreID); err != nil {
			return httpResponse{}, err
		}
		if _, err := f.svc.Recompute(ctx, cadreID, asOf); err != nil {
			return httpResponse{}, err
		}
		return jsonResponse(http.StatusOK, app.RecomputeResult{Recomputed: 1}), nil
	case unit != "":
		if !key.Sees(unit) {
			return httpResponse{}, training.Errorf(training.EFORBIDDEN, "unit %s is outside the units of this API key", unit)
		}
		res, err := f.svc.RecomputeUnit(ctx, unit, asOf, 8, func(id string, err error) {
			f.log.Error("recompute failed", "cadre_id", id, "err", err.Error())
		})
		if err != nil {
			return httpResponse{}, err
		}
		return jsonResponse(http.StatusOK, res), nil
	}
	if !key.Sees("") {
		return httpResponse{}, training.Errorf(training.EFORBIDDEN, `"all" needs an API key whose units include the root ("")`)
	}
	job := RecomputeJob{JobID: newJobID(), AsOf: asOf}
	if f.d.Invoker == nil {
		res, err := f.runAll(ctx, job)
		if err != nil {
			return httpResponse{}, err
		}
		return jsonResponse(http.StatusOK, res), nil
	}
	payload, _ := json.Marshal(map[string]RecomputeJob{"recompute_job": job})
	if err := f.d.Invoker.InvokeAsync(ctx, payload); err != nil {
		return httpResponse{}, fmt.Errorf("start recompute job: %w", err)
	}
	return jsonResponse(http.StatusAccepted, map[string]string{"job_id": job.JobID, "status": "accepted"}), nil
}

func newJobID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "job_" + hex.EncodeToString(b)
}

// WriteFormEntries is the write-form-entries function: for each changed full-time training record
// it enters the record in the annual appraisal registration form and, when ≥ 2 months, the
// appointment-approval form; a voided record has its entries withdrawn (RULES.md §4).
func WriteFormEntries(d Deps) func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	svc, log := d.service(), d.log()
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		changes, recs, failed := decodeChanges(log, ev)
		if i, err := svc.EnterChangedForms(ctx, changes); err != nil {
			log.Error("form entries failed", "record_id", changes[i].RecordID, "err", err.Error())
			return failAt(recs[i]), nil
		}
		if failed != nil {
			return failAt(*failed), nil
		}
		return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}, nil
	}
}

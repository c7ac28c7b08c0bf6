// Package recomputefn runs recompute-quota, the one function that starts recompute jobs and
// hands on their steps as asynchronous invocations of itself (awsboot.Invoker).
package recomputefn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/awsboot"
	"github.com/cadre-training/cadretrain/shared/awsboot/httpfn"
	"github.com/cadre-training/cadretrain/shared/httpapi"
	"github.com/cadre-training/cadretrain/shared/obs"
)

// Recompute is the recompute-quota function: one typed entry point per trigger.
type Recompute struct {
	svc     *app.Service
	log     *slog.Logger
	metrics *obs.Metrics
	stream  awsboot.StreamHandler
	http    httpfn.HTTPHandler
	steps   app.StepHandOff // asynchronous self-invocations; nil outside Lambda: jobs run inline
}

// RecomputeQuota runs recompute-quota.
func RecomputeQuota() {
	awsboot.Start(httpapi.FnRecomputeQuota, buildRecompute)
}

func buildRecompute(ctx context.Context, e *awsboot.Env) (func(context.Context, json.RawMessage) (any, error), error) {
	r := &Recompute{svc: e.Svc, log: e.Log, metrics: e.Metrics, stream: awsboot.NewStreamHandler(e.Svc, app.WorkRecompute|app.WorkCalls, e.Log)}
	var jobs app.JobStarter = inlineJobs{r}
	if fn := awsboot.LambdaFunctionName(); fn != "" {
		inv := &selfInvoker{lambda: awsboot.NewInvoker(e.AWS), function: fn}
		jobs, r.steps = inv, inv
	}
	h, err := httpfn.Build(httpapi.RecomputeQuota, httpfn.NoXLSX, func(*awsboot.Env) app.JobStarter { return jobs })(ctx, e)
	if err != nil {
		return nil, err
	}
	r.http = h
	return r.Invoke, nil
}

// Stream recomputes the cadre of every changed record, once per batch.
func (r *Recompute) Stream(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return r.stream(ctx, ev)
}

// Schedule starts the daily full recompute (EventBridge Scheduler, 02:00 Asia/Shanghai). Its job
// id is the scheduled minute, so a retried delivery resumes the same job.
func (r *Recompute) Schedule(ctx context.Context, ev events.EventBridgeEvent) (any, error) {
	return r.Job(ctx, app.RecomputeJob{JobID: "schedule-" + ev.Time.Format("20060102T1504")})
}

// HTTP serves POST /v1/recompute.
func (r *Recompute) HTTP(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return r.http(ctx, req)
}

// Job starts a full recompute (its own asynchronous invocation, or the schedule): it writes the
// job status and hands on one step per segment of the cadres, each an asynchronous invocation of
// this function (Step); it returns the job status. Outside Lambda the job runs inline to its end.
// An error makes Lambda retry the asynchronous invocation once (a start delivered again resumes
// the job) and then send it to the failure queue.
func (r *Recompute) Job(ctx context.Context, job app.RecomputeJob) (any, error) {
	if r.steps == nil {
		start := time.Now()
		res, err := r.svc.RunRecomputeJob(ctx, job, r.onErr(job.JobID))
		r.metrics.Put(obs.DurationOf(obs.RecomputeDuration, time.Since(start)), obs.CountOf(obs.RecomputeFailures, res.Failed))
		r.log.Info("recompute job finished", "job_id", job.JobID, "recomputed", res.Recomputed, "failed", res.Failed)
		if err != nil {
			return res, fmt.Errorf("recompute job %s: %w", job.JobID, err)
		}
		return res, nil
	}
	j, err := r.svc.StartJob(ctx, job, r.steps)
	if err != nil {
		return nil, fmt.Errorf("start recompute job %s: %w", job.JobID, err)
	}
	r.log.Info("recompute job started", "job_id", j.ID, "segments", len(j.Segments), "state", j.State)
	return j, nil
}

// Step runs one step of a full recompute (app.Service.RunJobStep): pages of one segment until it
// ends or the invocation's time is nearly up, then the next step as a further asynchronous
// invocation. An error leaves the segment's checkpoint where it was; Lambda runs the step again
// once (it resumes from the checkpoint) and then sends it to the failure queue.
func (r *Recompute) Step(ctx context.Context, step app.JobStep) (any, error) {
	start := time.Now()
	before, _ := r.svc.GetJob(ctx, step.JobID)
	j, err := r.svc.RunJobStep(ctx, step, r.steps, r.onErr(step.JobID))
	failed := 0
	if step.Segment >= 0 && step.Segment < len(j.Segments) && step.Segment < len(before.Segments) {
		failed = j.Segments[step.Segment].Failed - before.Segments[step.Segment].Failed
	}
	r.metrics.Put(obs.DurationOf(obs.RecomputeDuration, time.Since(start)), obs.CountOf(obs.RecomputeFailures, failed))
	r.log.Info("recompute step", "job_id", step.JobID, "segment", step.Segment, "state", j.State, "done", j.Done, "total", j.Total, "failed", j.Failed)
	if err != nil {
		return nil, fmt.Errorf("recompute job %s segment %d: %w", step.JobID, step.Segment, err)
	}
	return j, nil
}

func (r *Recompute) onErr(jobID string) func(id string, err error) {
	return func(id string, err error) {
		r.log.Error("recompute failed", "job_id", jobID, "cadre_id", id, "err", err.Error())
	}
}

// invocation names the fields that tell recompute-quota's four triggers apart: each trigger's
// event has its own marker, set by AWS (stream, HTTP API, EventBridge Scheduler) or by us (the
// job payload), so nothing is guessed from the shape.
type invocation struct {
	Records []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
	Version    string            `json:"version"`
	RouteKey   string            `json:"routeKey"`
	DetailType string            `json:"detail-type"`
	Job        *app.RecomputeJob `json:"recompute_job"`
	Step       *app.JobStep      `json:"recompute_step"`
}

// Invoke routes one invocation to its typed entry point.
func (r *Recompute) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var inv invocation
	if err := json.Unmarshal(raw, &inv); err != nil {
		return nil, fmt.Errorf("recompute-quota: undecodable event: %w", err)
	}
	switch {
	case len(inv.Records) > 0 && inv.Records[0].EventSource == "aws:dynamodb":
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("recompute-quota: stream event: %w", err)
		}
		return r.Stream(ctx, ev)
	case inv.Version == "2.0" && inv.RouteKey != "":
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("recompute-quota: HTTP API event: %w", err)
		}
		return r.HTTP(ctx, req)
	case inv.Job != nil:
		return r.Job(ctx, *inv.Job)
	case inv.Step != nil:
		return r.Step(ctx, *inv.Step)
	case inv.DetailType == "Scheduled Event":
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("recompute-quota: scheduled event: %w", err)
		}
		return r.Schedule(ctx, ev)
	}
	return nil, fmt.Errorf("recompute-quota: not a stream batch, HTTP API request, scheduled event recompute job or step")
}

// inlineJobs runs a job before answering (no function name: a test of the binary outside Lambda).
type inlineJobs struct{ r *Recompute }

func (j inlineJobs) StartRecompute(ctx context.Context, job app.RecomputeJob) error {
	_, err := j.r.Job(ctx, job)
	return err
}

// selfInvoker starts a job as an asynchronous invocation of the running function itself.
type selfInvoker struct {
	lambda   *awsboot.Invoker
	function string
}

func (s *selfInvoker) StartRecompute(ctx context.Context, job app.RecomputeJob) error {
	return s.invoke(ctx, map[string]app.RecomputeJob{"recompute_job": job})
}

// HandOn hands on the next step of a job (app.StepHandOff) as {"recompute_step": …}.
func (s *selfInvoker) HandOn(ctx context.Context, step app.JobStep) error {
	return s.invoke(ctx, map[string]app.JobStep{"recompute_step": step})
}

func (s *selfInvoker) invoke(ctx context.Context, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	if _, err := s.lambda.Invoke(ctx, s.function, true, b); err != nil {
		return fmt.Errorf("invoke %s asynchronously: %w", s.function, err)
	}
	return nil
}

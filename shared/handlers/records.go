package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/training"
)

func asError(err error, target **training.Error) bool { return errors.As(err, target) }

// RecordSelfStudy is the record-self-study function: POST /v1/cadres/{cadre_id}/self-study.
// The Idempotency-Key header is required; the key is scoped to the calling API key, so two HR
// systems cannot collide. Same key and body → the same record again with 200; same key with
// another body → 409.
func RecordSelfStudy(d Deps) func(context.Context, httpRequest) (httpResponse, error) {
	svc := d.service()
	return guard(d.log(), func(ctx context.Context, req httpRequest) (httpResponse, error) {
		key, err := authenticate(d.Config, req, config.RoleHR)
		if err != nil {
			return httpResponse{}, err
		}
		b, err := jsonBody(req)
		if err != nil {
			return httpResponse{}, err
		}
		var errs training.Fields
		idem := strings.TrimSpace(header(req, "Idempotency-Key"))
		switch {
		case idem == "":
			errs.Add("Idempotency-Key", "header is required")
		case len(idem) > 255:
			errs.Add("Idempotency-Key", "header must be at most 255 characters")
		}
		o, ok := parseObject(b, "", &errs)
		if !ok {
			return httpResponse{}, errs.Err()
		}
		r := training.Record{
			CadreID:    req.PathParameters["cadre_id"],
			Kind:       training.KindOnline,
			Source:     "hr/" + key.ID,
			ExternalID: idem,
		}
		r.Hours, _ = o.hours("hours", true)
		r.StudiedOn = o.date("studied_on", true)
		r.CourseTitle = o.str("course_title", false, 200)
		r.CourseID = o.str("course_id", false, 128)
		r.SourceSystem = o.str("source", false, 64)
		if r.SourceSystem == "" {
			r.SourceSystem = "hr"
		}
		o.done()
		if err := errs.Err(); err != nil {
			return httpResponse{}, err
		}
		res, err := svc.SubmitRecord(ctx, key, r, false)
		if err != nil {
			return httpResponse{}, err
		}
		switch res.Outcome {
		case training.Created:
			return jsonResponse(http.StatusCreated, recordView(res.Record)), nil
		case training.Duplicate:
			return jsonResponse(http.StatusOK, recordView(res.Record)), nil
		default:
			return httpResponse{}, training.Errorf(training.ECONFLICT, "Idempotency-Key %q was already used with a different request body", idem)
		}
	})
}

// CompletionResult is one item of the webhook response.
type CompletionResult struct {
	EventID  string                `json:"event_id"`
	Status   string                `json:"status"` // created|duplicate|conflict|invalid|rejected
	RecordID string                `json:"record_id,omitempty"`
	Errors   []training.FieldError `json:"errors,omitempty"`
}

// IngestCompletions is the ingest-completions function: POST /v1/webhooks/completions/{platform_id},
// signed per Standard Webhooks. The body is one completion or {"completions": [...]} (≤ 100).
func IngestCompletions(d Deps) func(context.Context, httpRequest) (httpResponse, error) {
	svc := d.service()
	return guard(d.log(), func(ctx context.Context, req httpRequest) (httpResponse, error) {
		platform := req.PathParameters["platform_id"]
		b, err := body(req)
		if err != nil {
			return httpResponse{}, err
		}
		hdr := http.Header{}
		for k, v := range req.Headers {
			hdr.Set(k, v)
		}
		// The signature is checked before anything else about the body is believed.
		if err := d.Config.VerifyWebhook(platform, b, hdr); err != nil {
			if errors.Is(err, config.ErrUnknownPlatform) {
				return httpResponse{}, training.Errorf(training.EUNAUTHED, "unknown platform %q", platform)
			}
			return httpResponse{}, training.Errorf(training.EUNAUTHED, "bad or missing webhook signature, or a timestamp more than 300 s from the server clock")
		}
		if _, err := jsonBody(req); err != nil {
			return httpResponse{}, err
		}
		items, batch, err := splitBatch(b)
		if err != nil {
			return httpResponse{}, err
		}
		results := make([]CompletionResult, len(items))
		for i, item := range items {
			prefix := ""
			if batch {
				prefix = fmt.Sprintf("completions[%d].", i)
			}
			res, err := ingestOne(ctx, svc, platform, item, prefix)
			if err != nil {
				// A store failure fails the whole request (500) so the platform sends it again;
				// items already stored then come back as duplicates.
				return httpResponse{}, err
			}
			results[i] = res
		}
		if !batch {
			switch results[0].Status {
			case "invalid":
				return httpResponse{}, &training.Error{Code: training.EINVALID, Message: "the completion has invalid fields", Fields: results[0].Errors}
			case "conflict":
				return httpResponse{}, training.Errorf(training.ECONFLICT, "event_id %q was already received from %s with different content", results[0].EventID, platform)
			}
		}
		return jsonResponse(http.StatusOK, map[string]any{"results": results}), nil
	})
}

// splitBatch returns the completions of a body: the items of {"completions": [...]}, or the body
// itself as the only one.
func splitBatch(b []byte) ([]json.RawMessage, bool, error) {
	var errs training.Fields
	o, ok := parseObject(b, "", &errs)
	if !ok {
		return nil, false, errs.Err()
	}
	raw, isBatch := o.raw["completions"]
	if !isBatch {
		return []json.RawMessage{b}, false, nil
	}
	o.get("completions")
	o.done()
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		errs.Add("completions", "must be an array of completions")
	} else if len(items) == 0 {
		errs.Add("completions", "must hold at least one completion")
	}
	if err := errs.Err(); err != nil {
		return nil, true, err
	}
	if len(items) > MaxBatch {
		return nil, true, training.Errorf(training.ETOOLARGE, "a batch holds at most %d completions, got %d", MaxBatch, len(items))
	}
	return items, true, nil
}

func ingestOne(ctx context.Context, svc *app.Service, platform string, item json.RawMessage, prefix string) (CompletionResult, error) {
	var errs training.Fields
	o, ok := parseObject(item, prefix, &errs)
	if !ok {
		return CompletionResult{Status: "invalid", Errors: errs}, nil
	}
	r := training.Record{Source: "platform/" + platform, SourceSystem: platform}
	r.ExternalID = o.str("event_id", true, 128)
	r.CadreID = o.str("cadre_id", true, 128)
	r.Kind = training.Kind(o.str("kind", true, 32))
	r.FullTime, _ = o.boolean("full_time")
	if o.has("full_time") && r.Kind == training.KindOnline { // a bad kind is reported on kind alone
		o.bad("full_time", "applies only to centralized training")
	}
	r.CourseID = o.str("course_id", false, 128)
	r.CourseTitle = o.str("course_title", false, 200)
	r.Institution = o.str("institution", false, 200)
	r.InstitutionType = o.str("institution_type", false, 64)
	r.StartDate = o.date("start_date", false)
	r.EndDate = o.date("end_date", false)
	days, daysGiven := o.whole("days")
	r.Days = days
	r.Hours, _ = o.hours("hours", true)
	r.Assessment = training.Assessment(o.str("assessment", false, 16))
	r.CompletedAt = o.timestamp("completed_at")
	r.StudiedOn = o.date("studied_on", false)
	o.done()
	res := CompletionResult{EventID: r.ExternalID}
	if len(errs) > 0 {
		// Also run the rule checks, so every bad field is named at once.
		errs = mergeFields(errs, prefixed(training.CheckRecord(&r, daysGiven), prefix))
		res.Status, res.Errors = "invalid", errs
		return res, nil
	}
	out, err := svc.SubmitRecord(ctx, nil, r, daysGiven)
	var e *training.Error
	switch {
	case err == nil:
		res.Status, res.RecordID = string(out.Outcome), out.Record.ID
	case training.ErrorCode(err) == training.EINVALID && asError(err, &e):
		res.Status, res.Errors = "invalid", prefixed(e.Fields, prefix)
	case training.ErrorCode(err) == training.ENOTFOUND:
		res.Status = "rejected"
		res.Errors = []training.FieldError{{Field: prefix + "cadre_id", Message: fmt.Sprintf("no cadre %q is registered; create the profile (PUT /v1/cadres/%s) first", r.CadreID, r.CadreID)}}
	default:
		return res, fmt.Errorf("ingest %s/%s: %w", platform, r.ExternalID, err)
	}
	return res, nil
}

func prefixed(fs training.Fields, prefix string) training.Fields {
	if prefix == "" {
		return fs
	}
	out := make(training.Fields, len(fs))
	for i, f := range fs {
		out[i] = training.FieldError{Field: prefix + f.Field, Message: f.Message}
	}
	return out
}

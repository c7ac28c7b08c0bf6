package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/obs"
	"github.com/cadre-training/cadretrain/shared/training"
)

// selfStudy serves POST /v1/cadres/{cadre_id}/self-study. The Idempotency-Key header is required;
// the key is scoped to the calling API key, so two HR systems cannot collide. Same key and body →
// the same record again with 200; same key with another body → 409.
func (a *API) selfStudy(c *call) (int, any, error) {
	if err := checkJSONType(c); err != nil {
		return 0, nil, err
	}
	b, err := body(c)
	if err != nil {
		return 0, nil, err
	}
	var errs training.Fields
	idem := strings.TrimSpace(c.r.Header.Get("Idempotency-Key"))
	switch {
	case idem == "":
		errs.Add("Idempotency-Key", "header is required")
	case len(idem) > training.MaxExternalIDLen:
		errs.Add("Idempotency-Key", "header must be at most %d characters", training.MaxExternalIDLen)
	}
	o, ok := parseObject(b, "", &errs)
	if !ok {
		return 0, nil, errs.Err()
	}
	r := training.Record{
		CadreID:    c.r.PathValue("cadre_id"),
		Kind:       training.KindOnline,
		Source:     "hr/" + c.key.ID,
		ExternalID: idem,
	}
	r.Hours, _ = o.hours("hours", true)
	r.StudiedOn = o.date("studied_on", true)
	r.CourseTitle = o.str("course_title", false)
	r.CourseID = o.str("course_id", false)
	r.SourceSystem = o.str("source", false)
	if r.SourceSystem == "" {
		r.SourceSystem = "hr"
	}
	o.done()
	if err := errs.Err(); err != nil {
		a.d.Metrics.Put(obs.CountOf(obs.RecordsRejected, 1))
		return 0, nil, err
	}
	res, err := a.d.Service.SubmitRecord(c.ctx(), c.key, r, false)
	if err != nil {
		if training.ErrorCode(err) == training.EINVALID {
			a.d.Metrics.Put(obs.CountOf(obs.RecordsRejected, 1))
		}
		return 0, nil, err
	}
	a.d.Metrics.Put(obs.CountOf(outcomeMetric[string(res.Outcome)], 1))
	switch res.Outcome {
	case training.Created:
		return http.StatusCreated, recordView(res.Record), nil
	case training.Duplicate:
		return http.StatusOK, recordView(res.Record), nil
	default:
		return 0, nil, training.Errorf(training.ECONFLICT, "Idempotency-Key %q was already used with a different request body", idem)
	}
}

// outcomeMetric names the metric counting each item status.
var outcomeMetric = map[string]string{
	string(training.Created):   obs.RecordsCreated,
	string(training.Duplicate): obs.RecordsDuplicate,
	string(training.Conflict):  obs.RecordsConflict,
	"invalid":                  obs.RecordsRejected,
	"rejected":                 obs.RecordsRejected,
}

// CompletionResult is one item of the webhook response.
type CompletionResult struct {
	EventID  string                `json:"event_id"`
	Status   string                `json:"status"` // created|duplicate|conflict|invalid|rejected
	RecordID string                `json:"record_id,omitempty"`
	Errors   []training.FieldError `json:"errors,omitempty"`
}

// completions serves POST /v1/webhooks/completions/{platform_id}, signed per Standard Webhooks.
// The body is one completion or {"completions": [...]} (≤ 100).
func (a *API) completions(c *call) (int, any, error) {
	platform := c.r.PathValue("platform_id")
	b, err := body(c)
	if err != nil {
		return 0, nil, err
	}
	// The signature is checked before anything else about the body is believed.
	if err := c.cfg.VerifyWebhook(platform, b, c.r.Header); err != nil {
		why := "bad or missing signature, or a timestamp outside the tolerance: " + err.Error()
		if errors.Is(err, config.ErrUnknownPlatform) {
			why = "unknown platform " + platform
		}
		c.log.authWhy = why
		return 0, nil, training.Errorf(training.EUNAUTHED, "the webhook could not be verified: unknown platform, bad or missing signature, or a timestamp more than 300 s from the server clock")
	}
	c.log.caller = "platform:" + platform
	if err := checkJSONType(c); err != nil {
		return 0, nil, err
	}
	items, batch, err := splitBatch(b)
	if err != nil {
		return 0, nil, err
	}
	results := make([]CompletionResult, len(items))
	counts := map[string]int{}
	defer func() {
		ms := make([]obs.Metric, 0, len(counts))
		for name, n := range counts {
			ms = append(ms, obs.CountOf(name, n))
		}
		a.d.Metrics.Put(ms...)
	}()
	for i, item := range items {
		prefix := ""
		if batch {
			prefix = fmt.Sprintf("completions[%d].", i)
		}
		res, err := a.ingestOne(c, platform, item, prefix)
		if err != nil {
			// A store failure fails the whole request (500) so the platform sends it again;
			// items already stored then come back as duplicates.
			return 0, nil, err
		}
		results[i] = res
		counts[outcomeMetric[res.Status]]++
	}
	if !batch {
		switch results[0].Status {
		case "invalid":
			return 0, nil, &training.Error{Code: training.EINVALID, Message: "the completion has invalid fields", Fields: results[0].Errors}
		case "conflict":
			return 0, nil, training.Errorf(training.ECONFLICT, "event_id %q was already received from %s with different content", results[0].EventID, platform)
		}
	}
	return http.StatusOK, map[string]any{"results": results}, nil
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

func (a *API) ingestOne(c *call, platform string, item json.RawMessage, prefix string) (CompletionResult, error) {
	var errs training.Fields
	o, ok := parseObject(item, prefix, &errs)
	if !ok {
		return CompletionResult{Status: "invalid", Errors: errs}, nil
	}
	r := training.Record{Source: "platform/" + platform, SourceSystem: platform}
	r.ExternalID = o.str("event_id", true)
	r.CadreID = o.str("cadre_id", true)
	r.Kind = training.Kind(o.str("kind", true))
	r.FullTime, _ = o.boolean("full_time")
	if o.has("full_time") && r.Kind == training.KindOnline { // a bad kind is reported on kind alone
		o.bad("full_time", "applies only to centralized training")
	}
	r.CourseID = o.str("course_id", false)
	r.CourseTitle = o.str("course_title", false)
	r.Institution = o.str("institution", false)
	r.InstitutionType = o.str("institution_type", false)
	r.StartDate = o.date("start_date", false)
	r.EndDate = o.date("end_date", false)
	days, daysGiven := o.whole("days")
	r.Days = days
	// A centralized completion may send days without 学时 (docs/rules.md “Local crediting overlays”);
	// an explicit 0 is still an error.
	var hoursGiven bool
	if r.Hours, hoursGiven = o.hours("hours", r.Kind != training.KindCentralized); hoursGiven && r.Hours == 0 {
		o.bad("hours", "must be greater than 0 (at most 2 decimal places)")
	}
	r.Assessment = training.Assessment(o.str("assessment", false))
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
	out, err := a.d.Service.SubmitRecord(c.ctx(), nil, r, daysGiven)
	var e *training.Error
	switch {
	case err == nil:
		res.Status, res.RecordID = string(out.Outcome), out.Record.ID
	case training.ErrorCode(err) == training.EINVALID && errors.As(err, &e):
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

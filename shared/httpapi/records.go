package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/obs"
	"github.com/cadre-training/cadretrain/shared/training"
)

// selfStudy serves POST /v1/cadres/{cadre_id}/self-study: online self-study entered by HR. The
// Idempotency-Key header is required and scoped to the cadre (hrRecord): a retry after the HR
// system's API key was rotated is still a duplicate. Same key and body → the same record again
// with 200; same key with another body → 409.
func (a *API) selfStudy(c *call) (int, any, error) {
	o, errs, idem, err := hrRecordRequest(c)
	if err != nil {
		return 0, nil, err
	}
	r := hrRecord(c, idem)
	r.Kind = training.KindOnline
	r.Hours, _ = o.hours("hours", true)
	r.StudiedOn = o.date("studied_on", true)
	r.CourseTitle = o.str("course_title", false)
	r.CourseID = o.str("course_id", false)
	r.SourceSystem = o.str("source", false)
	o.done()
	return a.submitHR(c, r, false, *errs)
}

// trainings serves POST /v1/cadres/{cadre_id}/trainings: any training entered by HR —
// centralized (full-time or not) or online — with the webhook's fields (readTraining) and
// validation, and the Idempotency-Key of self-study (same namespace: the cadre).
func (a *API) trainings(c *call) (int, any, error) {
	o, errs, idem, err := hrRecordRequest(c)
	if err != nil {
		return 0, nil, err
	}
	r := hrRecord(c, idem)
	daysGiven := readTraining(o, &r)
	r.SourceSystem = o.str("source", false)
	o.done()
	return a.submitHR(c, r, daysGiven, *errs)
}

// hrRecordRequest reads the JSON body and the Idempotency-Key header of a record entered by HR.
func hrRecordRequest(c *call) (*object, *training.Fields, string, error) {
	if err := checkJSONType(c); err != nil {
		return nil, nil, "", err
	}
	b, err := body(c)
	if err != nil {
		return nil, nil, "", err
	}
	errs := &training.Fields{}
	idem := strings.TrimSpace(c.r.Header.Get("Idempotency-Key"))
	switch {
	case idem == "":
		errs.Add("Idempotency-Key", "header is required")
	case len(idem) > training.MaxExternalIDLen:
		errs.Add("Idempotency-Key", "header must be at most %d characters", training.MaxExternalIDLen)
	}
	o, ok := parseObject(b, "", errs)
	if !ok {
		return nil, nil, "", errs.Err()
	}
	return o, errs, idem, nil
}

// hrRecord is a record entered by HR under idem: its idempotency namespace is the cadre, not the
// API key, so that rotating a key does not turn a retry into a second record (docs/decisions.md).
func hrRecord(c *call, idem string) training.Record {
	id := c.r.PathValue("cadre_id")
	return training.Record{CadreID: id, Source: "hr/cadre/" + id, ExternalID: idem}
}

// submitHR stores a record entered by HR: 201 created, 200 the same again, 409 the key reused
// with another body. errs are the wire layer's field errors; the rule checks run too, so every
// bad field is named at once.
func (a *API) submitHR(c *call, r training.Record, daysGiven bool, errs training.Fields) (int, any, error) {
	if r.SourceSystem == "" {
		r.SourceSystem = "hr"
	}
	if len(errs) > 0 {
		a.d.Metrics.Put(obs.CountOf(obs.RecordsRejected, 1))
		return 0, nil, mergeFields(errs, training.CheckRecord(&r, daysGiven)).Err()
	}
	res, err := a.d.Service.SubmitRecord(c.ctx(), c.key, r, daysGiven)
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
		return 0, nil, training.Errorf(training.ECONFLICT, "Idempotency-Key %q was already used with a different request body", r.ExternalID)
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
	parsed := make([]parsedCompletion, len(items))
	for i, item := range items {
		prefix := ""
		if batch {
			prefix = fmt.Sprintf("completions[%d].", i)
		}
		parsed[i] = parseCompletion(platform, item, prefix)
	}
	if err := a.storeCompletions(c, platform, parsed, results); err != nil {
		// A store failure fails the whole request (500) so the platform sends it again;
		// items already stored then come back as duplicates.
		return 0, nil, err
	}
	for _, res := range results {
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

// parsedCompletion is one item of a webhook read into a record (res.Status "invalid" when it
// cannot be stored).
type parsedCompletion struct {
	r         training.Record
	daysGiven bool
	prefix    string
	res       CompletionResult
}

// parseCompletion reads one item of a webhook; prefix names it in field errors.
func parseCompletion(platform string, item json.RawMessage, prefix string) parsedCompletion {
	var errs training.Fields
	o, ok := parseObject(item, prefix, &errs)
	if !ok {
		return parsedCompletion{res: CompletionResult{Status: "invalid", Errors: errs}}
	}
	p := parsedCompletion{r: training.Record{Source: "platform/" + platform, SourceSystem: platform}, prefix: prefix}
	p.r.ExternalID = o.str("event_id", true)
	p.r.CadreID = o.str("cadre_id", true)
	p.daysGiven = readTraining(o, &p.r)
	p.r.Supersedes = o.str("supersedes", false)
	o.done()
	p.res = CompletionResult{EventID: p.r.ExternalID}
	if len(errs) > 0 {
		// Also run the rule checks, so every bad field is named at once.
		errs = mergeFields(errs, prefixed(training.CheckRecord(&p.r, p.daysGiven), prefix))
		p.res.Status, p.res.Errors = "invalid", errs
	}
	return p
}

// maxIngestCadres bounds how many cadres of one webhook are stored at once.
const maxIngestCadres = 8

// storeCompletions stores the valid items and sets every item's result in results. Each item is
// stored on its own (docs/decisions.md “Records”), but the items of different cadres are stored
// concurrently, so their writes share the store's group commits instead of waiting for one
// commit each; the items of one cadre are stored in their order (a later one may replace or
// supersede an earlier one). When two items of different cadres share an event id (one record
// id), or one supersedes the other's event, the whole batch is stored in order. The error is a
// store failure, the one of the first item that met one.
func (a *API) storeCompletions(c *call, platform string, items []parsedCompletion, results []CompletionResult) error {
	var order []string // cadres in order of their first item
	byCadre := map[string][]int{}
	events := map[string]string{} // event id (or superseded event) → cadre
	inOrder := false
	for i := range items {
		p := &items[i]
		if p.res.Status == "invalid" {
			results[i] = p.res
			continue
		}
		if byCadre[p.r.CadreID] == nil {
			order = append(order, p.r.CadreID)
		}
		byCadre[p.r.CadreID] = append(byCadre[p.r.CadreID], i)
		for _, ev := range []string{p.r.ExternalID, p.r.Supersedes} {
			if ev == "" {
				continue
			}
			if cadre, ok := events[ev]; ok && cadre != p.r.CadreID {
				inOrder = true
			}
			events[ev] = p.r.CadreID
		}
	}
	errs := make([]error, len(items))
	store := func(idx []int) {
		for _, i := range idx {
			results[i], errs[i] = a.storeCompletion(c, platform, &items[i])
			if errs[i] != nil {
				return
			}
		}
	}
	if inOrder || len(order) == 1 {
		var all []int
		for i := range items {
			if items[i].res.Status != "invalid" {
				all = append(all, i)
			}
		}
		store(all)
	} else {
		var wg sync.WaitGroup
		sem := make(chan struct{}, maxIngestCadres)
		for _, cadre := range order {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				store(byCadre[cadre])
			})
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// storeCompletion stores one valid item of a webhook and returns its result; the error is a
// store failure.
func (a *API) storeCompletion(c *call, platform string, p *parsedCompletion) (CompletionResult, error) {
	res := p.res
	out, err := a.d.Service.SubmitRecord(c.ctx(), nil, p.r, p.daysGiven)
	var e *training.Error
	switch {
	case err == nil:
		res.Status, res.RecordID = string(out.Outcome), out.Record.ID
	case training.ErrorCode(err) == training.EINVALID && errors.As(err, &e):
		res.Status, res.Errors = "invalid", prefixed(e.Fields, p.prefix)
	case training.ErrorCode(err) == training.ENOTFOUND:
		res.Status = "rejected"
		res.Errors = []training.FieldError{{Field: p.prefix + "cadre_id", Message: fmt.Sprintf("no cadre %q is registered; create the profile (PUT /v1/cadres/%s) first", p.r.CadreID, p.r.CadreID)}}
	default:
		return res, fmt.Errorf("ingest %s/%s: %w", platform, p.r.ExternalID, err)
	}
	return res, nil
}

// readTraining reads the fields of a training that a platform's completion and an HR entry
// (POST /v1/cadres/{cadre_id}/trainings) share, and reports whether days was sent.
func readTraining(o *object, r *training.Record) (daysGiven bool) {
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
	r.Days, daysGiven = o.days("days")
	// A centralized training may send days without 学时 (docs/rules.md “Local crediting overlays”);
	// an explicit 0 is still an error.
	var hoursGiven bool
	if r.Hours, hoursGiven = o.hours("hours", r.Kind != training.KindCentralized); hoursGiven && r.Hours == 0 {
		o.bad("hours", "must be greater than 0 (at most 2 decimal places)")
	}
	r.Assessment = training.Assessment(o.str("assessment", false))
	r.CompletedAt = o.timestamp("completed_at")
	r.StudiedOn = o.date("studied_on", false)
	if d, given := o.whole("duration_minutes"); given {
		if r.DurationMinutes = d; d == 0 {
			o.bad("duration_minutes", "must be 1…1440 minutes")
		}
	}
	return daysGiven
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

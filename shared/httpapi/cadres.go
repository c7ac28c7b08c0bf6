package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/cadre-training/cadretrain/docs"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/training"
)

func (a *API) health(c *call) (int, any, error) {
	return http.StatusOK, map[string]string{"status": "ok", "store": a.d.StoreKind}, nil
}

// openAPI serves docs/openapi.yaml as JSON (docs/openapi.json); no key, so a client generator
// can fetch it.
func (a *API) openAPI(c *call) (int, any, error) {
	return http.StatusOK, json.RawMessage(docs.OpenAPIJSON), nil
}

// policies lists the policies and local crediting overlays in force (docs/rules.md); any API key.
func (a *API) policies(*call) (int, any, error) {
	return http.StatusOK, a.d.Service.Policies(), nil
}

func (a *API) putCadre(c *call) (int, any, error) {
	o, errs, err := requestObject(c)
	if err != nil {
		return 0, nil, err
	}
	in := app.ProfileInput{
		Name:                  o.str("name", true),
		Unit:                  o.str("unit", true),
		Rank:                  o.str("rank", true),
		RankEffectiveOn:       o.date("rank_effective_on", false),
		LeadershipEffectiveOn: o.date("leadership_effective_on", false),
		JoinedOn:              o.date("joined_on", false),
	}
	in.LeadershipMember, _ = o.boolean("leadership_member")
	o.done()
	id := c.r.PathValue("cadre_id")
	// The service's own checks too, so every bad field is named at once.
	if err := mergeFields(*errs, a.d.Service.CheckProfile(id, in)).Err(); err != nil {
		return 0, nil, err
	}
	cadre, created, err := a.d.Service.PutCadre(c.ctx(), c.key, id, in)
	if err != nil {
		return 0, nil, err
	}
	a.recomputeAfterProfileChange(c, cadre.ID)
	if created {
		return http.StatusCreated, cadreView(c.lang(), cadre), nil
	}
	return http.StatusOK, cadreView(c.lang(), cadre), nil
}

// recomputeAfterProfileChange refreshes the stored status: profile items are not record
// changes, so the change feed does not see them. A failure is logged, not returned: the profile is
// stored and the daily recompute repairs the snapshot.
func (a *API) recomputeAfterProfileChange(c *call, cadreID string) {
	if _, err := a.d.Service.Recompute(c.ctx(), cadreID, training.Date{}); err != nil {
		a.d.Log.Warn("recompute after profile change failed", "request_id", c.log.id, "cadre_id", cadreID, "err", err.Error())
	}
}

// mergeFields adds the field errors of more that the wire layer did not already report.
func mergeFields(errs, more training.Fields) training.Fields {
	have := map[string]bool{}
	for _, f := range errs {
		have[f.Field] = true
	}
	for _, f := range more {
		if !have[f.Field] {
			errs = append(errs, f)
		}
	}
	return errs
}

func (a *API) getCadre(c *call) (int, any, error) {
	cadre, err := a.d.Service.GetCadre(c.ctx(), c.key, c.r.PathValue("cadre_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, cadreView(c.lang(), cadre), nil
}

// listRecords serves the archive: JSON one page at a time (limit ≤ 1000, default 100; cursor),
// an export (CSV, xlsx) whole.
func (a *API) listRecords(c *call) (int, any, error) {
	var errs training.Fields
	q := c.r.URL.Query()
	year := queryYear(q, &errs)
	format := exportFormat(c.r, &errs)
	limit := queryLimit(q, &errs)
	if limit > app.MaxArchivePage {
		errs.Add("limit", "must be a whole number from 1 to %d, got %d", app.MaxArchivePage, limit)
	}
	if err := errs.Err(); err != nil {
		return 0, nil, err
	}
	id := c.r.PathValue("cadre_id")
	if format != formatJSON {
		recs, err := a.d.Service.ListRecords(c.ctx(), c.key, id, year)
		if err != nil {
			return 0, nil, err
		}
		cadre, err := a.d.Service.GetCadre(c.ctx(), c.key, id)
		if err != nil {
			return 0, nil, err
		}
		return a.exportSheet(c, format, recordsSheet(cadre, year, recs))
	}
	recs, next, err := a.d.Service.ArchivePage(c.ctx(), c.key, id, year, q.Get("cursor"), limit)
	if err != nil {
		return 0, nil, err
	}
	body := map[string]any{"records": recordViews(recs)}
	if next != "" {
		body["next_cursor"] = next
	}
	return http.StatusOK, body, nil
}

func (a *API) voidRecord(c *call) (int, any, error) {
	o, errs, err := requestObject(c)
	if err != nil {
		return 0, nil, err
	}
	reason := o.str("reason", true)
	o.done()
	if err := errs.Err(); err != nil {
		return 0, nil, err
	}
	rec, _, err := a.d.Service.VoidRecord(c.ctx(), c.key, c.r.PathValue("record_id"), reason, actor(c.key))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, recordView(rec), nil
}

// actor names an API key in audit fields (who voided, who corrected).
func actor(k *config.APIKey) string { return "api-key:" + k.ID }

func (a *API) quotaStatus(c *call) (int, any, error) {
	var errs training.Fields
	asOf := queryDate(c.r.URL.Query(), "as_of", &errs)
	explain := queryBool(c.r.URL.Query(), "explain", &errs)
	if err := errs.Err(); err != nil {
		return 0, nil, err
	}
	quotaStatus := a.d.Service.QuotaStatus
	if explain {
		quotaStatus = a.d.Service.ExplainStatus
	}
	st, err := quotaStatus(c.ctx(), c.key, c.r.PathValue("cadre_id"), asOf)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, statusView(c.lang(), st), nil
}

func (a *API) appointmentEntries(c *call) (int, any, error) {
	return a.formEntries(c, training.FormAppointment)
}

func (a *API) appraisalEntries(c *call) (int, any, error) {
	return a.formEntries(c, training.FormAppraisal)
}

// formEntries lists a form's entries (the appraisal form by ?year=), as JSON or a sheet.
func (a *API) formEntries(c *call, form training.FormKind) (int, any, error) {
	var errs training.Fields
	year := 0
	if form == training.FormAppraisal {
		year = queryYear(c.r.URL.Query(), &errs)
	}
	format := exportFormat(c.r, &errs)
	if err := errs.Err(); err != nil {
		return 0, nil, err
	}
	id := c.r.PathValue("cadre_id")
	es, err := a.d.Service.FormEntries(c.ctx(), c.key, id, form, year)
	if err != nil {
		return 0, nil, err
	}
	if format != formatJSON {
		cadre, err := a.d.Service.GetCadre(c.ctx(), c.key, id)
		if err != nil {
			return 0, nil, err
		}
		return a.exportSheet(c, format, entriesSheet(cadre, form, year, es))
	}
	return http.StatusOK, map[string]any{"entries": entryViews(es)}, nil
}

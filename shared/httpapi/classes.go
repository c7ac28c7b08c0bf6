package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/training"
)

// strs reads an array of strings (each trimmed); absent is nil.
func (o *object) strs(name string) []string {
	v, ok := o.get(name)
	if !ok {
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil {
		o.bad(name, "must be an array of strings")
		return nil
	}
	out := make([]string, 0, len(raw))
	for i, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			o.bad(fmt.Sprintf("%s[%d]", name, i), "must be a string")
			out = append(out, "") // keeps the indexes of the items after it
			continue
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

// putClass serves PUT /v1/classes/{course_id}: register or replace a draft class (调训通知).
func (a *API) putClass(c *call) (int, any, error) {
	o, errs, err := requestObject(c)
	if err != nil {
		return 0, nil, err
	}
	in := app.ClassInput{
		Title:           o.str("title", true),
		Institution:     o.str("institution", false),
		InstitutionType: o.str("institution_type", false),
		Unit:            o.str("unit", true),
		StartDate:       o.date("start_date", true),
		EndDate:         o.date("end_date", true),
		CadreIDs:        o.strs("cadre_ids"),
		CallUnit:        o.str("call_unit", false),
		CallCategory:    o.str("call_category", false),
	}
	in.FullTime, _ = o.boolean("full_time")
	in.PlannedHours, _ = o.hours("planned_hours", true)
	o.done()
	id := c.r.PathValue("course_id")
	// The service's own checks too, so every bad field is named at once.
	if err := mergeFields(*errs, a.d.Service.CheckClass(id, in)).Err(); err != nil {
		return 0, nil, err
	}
	class, created, err := a.d.Service.PutClass(c.ctx(), c.key, id, in)
	if err != nil {
		return 0, nil, err
	}
	if created {
		return http.StatusCreated, a.d.Service.ViewClass(class), nil
	}
	return http.StatusOK, a.d.Service.ViewClass(class), nil
}

func (a *API) getClass(c *call) (int, any, error) {
	class, err := a.d.Service.GetClass(c.ctx(), c.key, c.r.PathValue("course_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.d.Service.ViewClass(class), nil
}

// fileClass serves POST /v1/classes/{course_id}/file (no body): 调训审批、报备. The called cadres
// are fixed and notified; filing again is a 200 no-op.
func (a *API) fileClass(c *call) (int, any, error) {
	class, _, err := a.d.Service.FileClass(c.ctx(), c.key, c.r.PathValue("course_id"), c.key.ID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.d.Service.ViewClass(class), nil
}

// recordLeave serves POST /v1/classes/{course_id}/leave {"cadre_id", "reason"}: approved leave.
func (a *API) recordLeave(c *call) (int, any, error) {
	o, errs, err := requestObject(c)
	if err != nil {
		return 0, nil, err
	}
	cadreID := o.str("cadre_id", true)
	reason := o.str("reason", true)
	o.done()
	if len(*errs) > 0 {
		return 0, nil, errs.Err()
	}
	class, _, err := a.d.Service.RecordLeave(c.ctx(), c.key, c.r.PathValue("course_id"), cadreID, reason, c.key.ID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.d.Service.ViewClass(class), nil
}

// reportUnit reads the unit query parameter: required, and inside the key's units.
func reportUnit(c *call, errs *training.Fields) string {
	unit := c.r.URL.Query().Get("unit")
	if _, given := c.r.URL.Query()["unit"]; !given {
		errs.Add("unit", `is required (a unit path like cn/cq; "" for every unit needs a key covering the root)`)
		return ""
	}
	if unit != "" {
		if msg := training.CheckUnit(unit); msg != "" {
			errs.Add("unit", "%s", msg)
		}
	}
	return unit
}

func checkReportScope(c *call, unit string) error {
	if !c.key.Sees(unit) {
		return training.Errorf(training.EFORBIDDEN, "unit %q is outside the units of this API key", unit)
	}
	return nil
}

// unitYearQuery reads ?unit= and ?year= of a class list or report and checks the unit is the key's.
func unitYearQuery(c *call) (string, int, error) {
	var errs training.Fields
	unit := reportUnit(c, &errs)
	year := queryYear(c.r.URL.Query(), &errs)
	if err := errs.Err(); err != nil {
		return "", 0, err
	}
	return unit, year, checkReportScope(c, unit)
}

// listClasses serves GET /v1/classes?unit=…[&year=…].
func (a *API) listClasses(c *call) (int, any, error) {
	unit, year, err := unitYearQuery(c)
	if err != nil {
		return 0, nil, err
	}
	classes, err := a.d.Service.ListClasses(c.ctx(), c.key, unit, year)
	if err != nil {
		return 0, nil, err
	}
	views := make([]app.ClassView, 0, len(classes))
	for _, cl := range classes {
		views = append(views, a.d.Service.ViewClass(cl))
	}
	return http.StatusOK, map[string]any{"classes": views}, nil
}

// callsReport serves GET /v1/reports/calls?unit=…[&year=…]: 调训率 per unit.
func (a *API) callsReport(c *call) (int, any, error) {
	unit, year, err := unitYearQuery(c)
	if err != nil {
		return 0, nil, err
	}
	rep, err := a.d.Service.ReportCalls(c.ctx(), c.key, unit, year)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rep, nil
}

// cadreCalls serves GET /v1/cadres/{cadre_id}/calls: the classes the cadre was called to.
func (a *API) cadreCalls(c *call) (int, any, error) {
	calls, err := a.d.Service.CadreCalls(c.ctx(), c.key, c.r.PathValue("cadre_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"calls": calls}, nil
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// digest serves GET /v1/reports/digest?unit=…[&format=xlsx]: the weekly 通报 of a unit.
func (a *API) digest(c *call) (int, any, error) {
	var errs training.Fields
	unit := reportUnit(c, &errs)
	format := c.r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "xlsx" {
		errs.Add("format", "must be json or xlsx, got %q", format)
	}
	if err := errs.Err(); err != nil {
		return 0, nil, err
	}
	if err := checkReportScope(c, unit); err != nil {
		return 0, nil, err
	}
	dg, err := a.d.Service.BuildDigest(c.ctx(), c.key, unit)
	if err != nil {
		return 0, nil, err
	}
	if format != "xlsx" {
		return http.StatusOK, dg, nil
	}
	if a.d.XLSX == nil {
		return 0, nil, training.Errorf(training.EUNSUPPORTED, "this function does not render xlsx")
	}
	b, err := a.d.XLSX(c.ctx(), app.DigestSheets(dg)...)
	if err != nil {
		return 0, nil, fmt.Errorf("render digest: %w", err)
	}
	name := "digest-" + strings.NewReplacer("/", "_").Replace(unit) + "-" + dg.Week + ".xlsx"
	if unit == "" {
		name = "digest-all-" + dg.Week + ".xlsx"
	}
	h := c.w.Header()
	h.Set("Content-Type", xlsxType)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(b)
	return 0, nil, nil
}

package importer

import (
	"strconv"
	"strings"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/training"
)

// cells reads a row's cells by field name; parse errors are collected as field errors.
type cells struct {
	row  []string
	cols map[string]int
	errs training.Fields
}

func (c *cells) has(field string) bool { return c.str(field) != "" }

func (c *cells) str(field string) string {
	i, ok := c.cols[field]
	if !ok || i >= len(c.row) {
		return ""
	}
	return strings.TrimSpace(c.row[i])
}

func (c *cells) date(field string) training.Date {
	v := c.str(field)
	if v == "" {
		return training.Date{}
	}
	// Spreadsheets often write 2024/3/5: accept slashes and one-digit months and days.
	if t, err := time.Parse("2006/1/2", v); err == nil {
		return training.Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
	}
	d, err := training.ParseDate(v)
	if err != nil {
		c.errs.Add(field, "%v, got %q", err, v)
	}
	return d
}

func (c *cells) boolean(field string) bool {
	switch strings.ToLower(c.str(field)) {
	case "", "false", "0", "no", "否", "n":
		return false
	case "true", "1", "yes", "是", "y":
		return true
	}
	c.errs.Add(field, "must be true/false (or 是/否), got %q", c.str(field))
	return false
}

func (c *cells) whole(field string) (int, bool) {
	v := c.str(field)
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		c.errs.Add(field, "must be a whole number ≥ 0, got %q", v)
	}
	return n, true
}

// days reads days in steps of 0.5 (docs/rules.md “Half days”): 3 or 2.5.
func (c *cells) days(field string) (training.Days, bool) {
	v := c.str(field)
	if v == "" {
		return training.Days{}, false
	}
	d, err := training.ParseDays(v)
	if err != nil || d.Halves() < 0 {
		c.errs.Add(field, "must be a number of days ≥ 0 in steps of 0.5 (e.g. 3 or 2.5), got %q", v)
	}
	return d, true
}

func (c *cells) hours(field string) (training.Hours, bool) {
	v := c.str(field)
	if v == "" {
		return 0, false
	}
	h, err := training.ParseHours(v)
	if err != nil || h <= 0 {
		c.errs.Add(field, "must be greater than 0 (at most 2 decimal places), got %q", v)
	}
	return h, true
}

func (c *cells) timestamp(field string) time.Time {
	v := c.str(field)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		c.errs.Add(field, "must be an RFC 3339 timestamp such as 2024-03-05T10:00:00+08:00, got %q", v)
	}
	return t
}

// kinds maps the Chinese names of the kinds to their codes.
var kinds = map[string]training.Kind{"集中培训": training.KindCentralized, "网络培训": training.KindOnline, "网络学习": training.KindOnline}

// assessments maps the Chinese results to their codes.
var assessments = map[string]training.Assessment{"合格": training.AssessmentPassed, "通过": training.AssessmentPassed, "不合格": training.AssessmentFailed}

// profileRow reads a profile row: the cadre id and the input app.Service checks.
func profileRow(c *cells) (string, app.ProfileInput) {
	in := app.ProfileInput{
		Name: c.str("name"), Unit: c.str("unit"), Rank: c.str("rank"),
		RankEffectiveOn:       c.date("rank_effective_on"),
		LeadershipMember:      c.boolean("leadership_member"),
		LeadershipEffectiveOn: c.date("leadership_effective_on"),
		JoinedOn:              c.date("joined_on"),
	}
	return c.str("cadre_id"), in
}

// recordRow reads a record row as the API reads a completion (same fields, same meaning), under
// the import's source.
func recordRow(c *cells, source, system string) (training.Record, bool) {
	r := training.Record{Source: source, SourceSystem: system, CadreID: c.str("cadre_id"), ExternalID: c.str("event_id")}
	kind := c.str("kind")
	if k, ok := kinds[kind]; ok {
		r.Kind = k
	} else {
		r.Kind = training.Kind(strings.ToLower(kind))
	}
	r.FullTime = c.boolean("full_time")
	if c.has("full_time") && r.FullTime && r.Kind == training.KindOnline {
		c.errs.Add("full_time", "applies only to centralized training")
	}
	r.CourseID = c.str("course_id")
	r.CourseTitle = c.str("course_title")
	r.Institution = c.str("institution")
	r.InstitutionType = c.str("institution_type")
	r.StartDate = c.date("start_date")
	r.EndDate = c.date("end_date")
	var daysGiven bool
	r.Days, daysGiven = c.days("days")
	var hoursGiven bool
	r.Hours, hoursGiven = c.hours("hours")
	if !hoursGiven && r.Kind != training.KindCentralized {
		c.errs.Add("hours", "is required")
	}
	a := c.str("assessment")
	if v, ok := assessments[a]; ok {
		r.Assessment = v
	} else {
		r.Assessment = training.Assessment(strings.ToLower(a))
	}
	r.CompletedAt = c.timestamp("completed_at")
	r.StudiedOn = c.date("studied_on")
	if d, given := c.whole("duration_minutes"); given {
		if r.DurationMinutes = d; d == 0 {
			c.errs.Add("duration_minutes", "must be 1…1440 minutes")
		}
	}
	return r, daysGiven
}

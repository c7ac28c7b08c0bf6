package httpapi

import (
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// RecordView is a record as the API shows it (the training archive, 干部教育培训档案).
type RecordView struct {
	RecordID        string            `json:"record_id"`
	CadreID         string            `json:"cadre_id"`
	Kind            training.Kind     `json:"kind"`
	FullTime        *bool             `json:"full_time,omitempty"`
	Hours           training.Hours    `json:"hours"`
	Days            *training.Days    `json:"days,omitempty"`
	StartDate       training.Date     `json:"start_date,omitzero"`
	EndDate         training.Date     `json:"end_date,omitzero"`
	StudiedOn       training.Date     `json:"studied_on,omitzero"`
	DurationMinutes int               `json:"duration_minutes,omitempty"`
	CompletedAt     *time.Time        `json:"completed_at,omitempty"`
	CourseID        string            `json:"course_id,omitempty"`
	CourseTitle     string            `json:"course_title,omitempty"`
	Institution     string            `json:"institution,omitempty"`
	InstitutionType string            `json:"institution_type,omitempty"`
	Source          string            `json:"source"`
	ExternalID      string            `json:"external_id"`
	Assessment      string            `json:"assessment,omitempty"`
	Status          string            `json:"status"`
	Supersedes      string            `json:"supersedes,omitempty"`
	Void            *training.Voiding `json:"void,omitempty"`
	Flags           []training.Flag   `json:"flags"`
	CreatedAt       time.Time         `json:"created_at"`
}

func recordView(r training.Record) RecordView {
	v := RecordView{
		RecordID: r.ID, CadreID: r.CadreID, Kind: r.Kind, Hours: r.Hours,
		StartDate: r.StartDate, EndDate: r.EndDate, StudiedOn: r.StudiedOn, DurationMinutes: r.DurationMinutes,
		CourseID: r.CourseID, CourseTitle: r.CourseTitle, Institution: r.Institution,
		InstitutionType: r.InstitutionType, Source: r.SourceSystem, ExternalID: r.ExternalID,
		Assessment: string(r.Assessment), Status: string(r.Status), Void: r.Void, CreatedAt: r.CreatedAt,
		Supersedes: r.Supersedes, Flags: r.Flags,
	}
	if v.Flags == nil {
		v.Flags = []training.Flag{}
	}
	if v.Source == "" {
		v.Source = r.Source
	}
	if r.Kind == training.KindCentralized {
		ft, d := r.FullTime, r.Days
		v.FullTime, v.Days = &ft, &d
	}
	if !r.CompletedAt.IsZero() {
		t := r.CompletedAt
		v.CompletedAt = &t
	}
	return v
}

func recordViews(rs []training.Record) []RecordView {
	out := make([]RecordView, len(rs))
	for i, r := range rs {
		out[i] = recordView(r)
	}
	return out
}

// StatusView is a quota status with labels beside its codes, in the caller's language.
type StatusView struct {
	training.Status
	OverallLabel  string            `json:"overall_label"`
	CategoryLabel string            `json:"category_label"`
	Requirements  []RequirementView `json:"requirements"`
}

// RequirementView is a requirement's status with its name and its state's label.
type RequirementView struct {
	training.RequirementStatus
	Label      string `json:"label"`
	StateLabel string `json:"state_label"`
}

// statusView shows computed_at in China Standard Time, as HR officers read it, and labels the
// codes in l.
func statusView(l lang, s training.Status) StatusView {
	s.ComputedAt = s.ComputedAt.In(training.CST)
	v := StatusView{Status: s, OverallLabel: label(l, string(s.Overall)), CategoryLabel: label(l, s.Category),
		Requirements: make([]RequirementView, len(s.Requirements))}
	for i, r := range s.Requirements {
		v.Requirements[i] = RequirementView{RequirementStatus: r, Label: label(l, r.ID), StateLabel: label(l, string(r.State))}
	}
	return v
}

// CadreView is a profile with its category labelled in the caller's language.
type CadreView struct {
	training.Cadre
	CategoryLabel string `json:"category_label"`
}

func cadreView(l lang, c training.Cadre) CadreView {
	return CadreView{Cadre: c, CategoryLabel: label(l, c.Category)}
}

func entryViews(es []training.FormEntry) []training.FormEntry {
	if es == nil {
		return []training.FormEntry{}
	}
	return es
}

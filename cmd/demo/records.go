package main

import (
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// The data set seen the way the server sees it, to know what to wait for (form entries) and to
// test that the data tells the stories it means to (the embedded rules evaluate it in the tests).

// Records returns each cadre's records as the server stores them, voided ones marked.
func (ds *Dataset) Records() map[string][]training.Record {
	voided := map[string]bool{}
	for _, v := range ds.Voids {
		voided[v.EventID] = true
	}
	out := map[string][]training.Record{}
	for _, c := range append(append([]Completion(nil), ds.Completions...), ds.Single...) {
		r := training.Record{
			ID: c.EventID, CadreID: c.CadreID, Source: "platform/demo", ExternalID: c.EventID,
			Kind: training.Kind(c.Kind), CourseID: c.CourseID, CourseTitle: c.CourseTitle,
			Institution: c.Institution, InstitutionType: c.InstitutionType,
			StartDate: c.StartDate, EndDate: c.EndDate, Days: c.Days, Hours: c.Hours,
			Assessment: training.Assessment(c.Assessment), Status: training.StatusActive,
		}
		if c.FullTime != nil {
			r.FullTime = *c.FullTime
		}
		if r.Kind == training.KindCentralized && r.Days.IsZero() {
			r.Days = training.WholeDays(int64(r.StartDate.DaysThrough(r.EndDate)))
		}
		if c.CompletedAt != "" {
			r.CompletedAt, _ = time.Parse(time.RFC3339, c.CompletedAt)
		}
		if voided[c.EventID] {
			r.Status = training.StatusVoided
		}
		out[c.CadreID] = append(out[c.CadreID], r)
	}
	for _, s := range ds.SelfStudy {
		out[s.CadreID] = append(out[s.CadreID], training.Record{
			ID: s.IdempotencyKey, CadreID: s.CadreID, Source: "hr/demo", ExternalID: s.IdempotencyKey,
			Kind: training.KindOnline, Hours: s.Hours, StudiedOn: s.StudiedOn, CourseTitle: s.CourseTitle,
			Status: training.StatusActive,
		})
	}
	return out
}

// FormCounts is how many form entries a cadre should end up with.
type FormCounts struct {
	Appointment, Withdrawn int         // appointment-form entries, and how many of them withdrawn
	Appraisal              map[int]int // appraisal-form entries by year (withdrawn included)
}

// ExpectedForms returns the form entries each cadre with a full-time training should have
// (docs/rules.md §4: every full-time training → appraisal form of its end year; ≥ 2 calendar months →
// appointment form; voiding withdraws, nothing is deleted).
func (ds *Dataset) ExpectedForms() map[string]FormCounts {
	out := map[string]FormCounts{}
	for id, recs := range ds.Records() {
		fc := FormCounts{Appraisal: map[int]int{}}
		for _, r := range recs {
			if r.Kind != training.KindCentralized || !r.FullTime {
				continue
			}
			active := r
			active.Status = training.StatusActive
			for _, e := range training.FormEntries(active, time.Now()) {
				switch e.Form {
				case training.FormAppointment:
					fc.Appointment++
					if r.Status == training.StatusVoided {
						fc.Withdrawn++
					}
				case training.FormAppraisal:
					fc.Appraisal[e.Year]++
				}
			}
		}
		if fc.Appointment > 0 || len(fc.Appraisal) > 0 {
			out[id] = fc
		}
	}
	return out
}

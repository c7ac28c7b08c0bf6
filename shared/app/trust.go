package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cadre-training/cadretrain/shared/training"
)

// storeRecord stores a sealed record, replacing the record it supersedes (docs/rules.md "One
// training, one count"):
//   - r.Supersedes names an event of the same source and cadre: that record is voided ("superseded
//     by event …") and r stored, in one store transaction. An unknown event is a 400 on supersedes.
//   - otherwise an active record of the same source for the same cadre, course and dates
//     (training.SameTraining) under another event id is an earlier report of this training: it is
//     replaced the same way ("replaced by event …").
//
// A resend (r's key already stored) is left to the store: duplicate or conflict, nothing voided.
// The cadre must exist and be visible in scope (else ENOTFOUND, nothing stored); it is read once,
// with the records a centralized training is compared with.
func (s *Service) storeRecord(ctx context.Context, scope Scope, r training.Record) (SubmitResult, error) {
	// Only what can matter is read: for a supersession the record under r's key and the one it
	// supersedes (by id); for a centralized training the records of its end date (a resend or a
	// same training has the same dates); for anything else nothing. The whole archive is never read
	// on the write path.
	stored := func(id string) (training.Record, bool, error) {
		e, err := s.Store.GetRecord(ctx, id)
		switch {
		case err == nil:
			return e, e.CadreID == r.CadreID, nil
		case training.ErrorCode(err) == training.ENOTFOUND:
			return training.Record{}, false, nil
		}
		return training.Record{}, false, err
	}
	var near []training.Record // centralized: the cadre's records of r's end date
	if r.Supersedes == "" && r.Kind == training.KindCentralized {
		end := r.AttributionDate()
		c, recs, err := s.Store.CadreWithRecords(ctx, r.CadreID, func(training.Cadre) (training.Date, training.Date) { return end, end })
		if err != nil {
			return SubmitResult{}, err
		}
		if !visible(scope, c.Unit) {
			return SubmitResult{}, training.Errorf(training.ENOTFOUND, "cadre %s not found", r.CadreID)
		}
		near = recs
	} else if _, err := s.GetCadre(ctx, scope, r.CadreID); err != nil {
		return SubmitResult{}, err
	}
	var oldID, reason string
	switch {
	case r.Supersedes != "":
		var f training.Fields
		if _, resend, err := stored(r.ID); err != nil {
			return SubmitResult{}, err
		} else if resend {
			break // a resend: the store answers duplicate or conflict
		}
		oldID = training.RecordID(r.Source, r.Supersedes)
		if len(r.Supersedes) > training.MaxExternalIDLen {
			f.Add("supersedes", "must be at most %d characters", training.MaxExternalIDLen)
		} else if r.Supersedes == r.ExternalID {
			f.Add("supersedes", "must name another event than event_id")
		} else if _, ok, err := stored(oldID); err != nil {
			return SubmitResult{}, err
		} else if !ok {
			f.Add("supersedes", "names no event %q of this source for cadre %s", r.Supersedes, r.CadreID)
		}
		if err := f.Err(); err != nil {
			return SubmitResult{}, err
		}
		reason = fmt.Sprintf("superseded by event %s", r.ExternalID)
	case r.Kind == training.KindCentralized:
		if slices.ContainsFunc(near, func(e training.Record) bool { return e.ID == r.ID }) {
			break // a resend (same key, same dates): the store answers duplicate or conflict
		}
		if oldID = training.ReplacedReport(near, r); oldID != "" {
			reason = fmt.Sprintf("replaced by event %s (same course and dates from the same source)", r.ExternalID)
		}
	}
	if oldID == "" {
		rec, outcome, err := s.Store.CreateRecord(ctx, r)
		return SubmitResult{Outcome: outcome, Record: rec}, err
	}
	v := training.Voiding{Reason: reason, By: r.Source, At: s.now().UTC()}
	rec, outcome, err := s.Store.SupersedeRecord(ctx, r, oldID, v)
	if training.ErrorCode(err) == training.ENOTFOUND {
		var f training.Fields
		f.Add("supersedes", "names no event %q of this source for cadre %s", r.Supersedes, r.CadreID)
		return SubmitResult{}, f.Err()
	}
	return SubmitResult{Outcome: outcome, Record: rec}, err
}

// setLeadership returns the leadership terms after a PUT that says whether the cadre is a member,
// dated eff (default today): becoming a member opens a term, ceasing closes the open one. PUT
// appends; a date before the term it would open or close is a 400 pointing at corrections.
// A profile stored before terms were kept (flag set, no terms) is taken as a member since the
// first policy took effect.
func setLeadership(cur training.Cadre, member bool, eff, today, firstPolicy training.Date) ([]training.LeadershipTerm, error) {
	terms := slices.Clone(cur.LeadershipHistory)
	if len(terms) == 0 && cur.LeadershipMember {
		terms = []training.LeadershipTerm{{AppointedOn: firstPolicy}}
	}
	if eff.IsZero() {
		eff = today
	}
	open := len(terms) > 0 && terms[len(terms)-1].LeftOn.IsZero()
	var f training.Fields
	switch {
	case member && !open:
		if n := len(terms); n > 0 && eff.Before(terms[n-1].LeftOn) {
			f.Add("leadership_effective_on", "must not be before the end of the previous term %s; to correct the terms use POST /v1/cadres/{cadre_id}/corrections", terms[n-1].LeftOn)
			break
		}
		terms = append(terms, training.LeadershipTerm{AppointedOn: eff})
	case !member && open:
		if last := &terms[len(terms)-1]; !eff.After(last.AppointedOn) {
			f.Add("leadership_effective_on", "must be after the open term's appointed_on %s; to correct the terms use POST /v1/cadres/{cadre_id}/corrections", last.AppointedOn)
		} else {
			last.LeftOn = eff
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return terms, nil
}

// ExplainStatus evaluates the cadre's status as of asOf (default today) with, per requirement,
// the records that counted and those that did not with the reason. It reads the whole archive,
// so records after asOf or outside the windows are listed too (after_as_of, other_window).
// Nothing is stored.
func (s *Service) ExplainStatus(ctx context.Context, scope Scope, cadreID string, asOf training.Date) (training.Status, error) {
	c, err := s.GetCadre(ctx, scope, cadreID)
	if err != nil {
		return training.Status{}, err
	}
	if asOf.IsZero() {
		asOf = s.Today()
	}
	recs, err := s.Store.ListRecords(ctx, cadreID)
	if err != nil {
		return training.Status{}, err
	}
	return s.rules().EvaluateExplained(c, recs, asOf, s.now().UTC())
}

// CorrectionInput is a correction of a cadre's dated histories by HR (POST …/corrections). A nil
// history is left as it is; an empty leadership history says the cadre was never a member.
type CorrectionInput struct {
	Reason            string
	RankHistory       []training.RankChange     // ranks as codes or official titles
	LeadershipHistory []training.LeadershipTerm // nil: unchanged
	SetRank           bool
	SetLeadership     bool
}

// CheckCorrection validates a correction without touching the store.
func (s *Service) CheckCorrection(in *CorrectionInput) training.Fields {
	var f training.Fields
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" {
		f.Add("reason", "is required: say why the history is corrected")
	} else {
		training.CheckTextField(&f, "reason", in.Reason, training.MaxReasonRunes, false)
	}
	if !in.SetRank && !in.SetLeadership {
		f.Add("rank_history", "rank_history or leadership_history is required")
	}
	if in.SetRank {
		pol := training.CurrentPolicy(s.now())
		if len(in.RankHistory) == 0 {
			f.Add("rank_history", "must hold at least one rank")
		}
		for i, h := range in.RankHistory {
			at := func(sub string) string { return "rank_history[" + strconv.Itoa(i) + "]." + sub }
			if ri, ok := pol.LookupRank(h.Rank); !ok {
				f.Add(at("rank"), "unknown rank %q; accepted: %s (or their official Chinese titles)", h.Rank, strings.Join(pol.RankCodes(), ", "))
			} else {
				in.RankHistory[i].Rank = ri.Code
			}
			switch {
			case h.EffectiveOn.IsZero():
				f.Add(at("effective_on"), "is required")
			case i > 0 && !h.EffectiveOn.After(in.RankHistory[i-1].EffectiveOn):
				f.Add(at("effective_on"), "must be after the previous entry's %s (oldest first, one rank per date)", in.RankHistory[i-1].EffectiveOn)
			}
			if i > 0 && in.RankHistory[i].Rank == in.RankHistory[i-1].Rank {
				f.Add(at("rank"), "is the same as the previous entry's; leave this entry out")
			}
		}
	}
	if in.SetLeadership {
		f = append(f, training.CheckLeadershipHistory("leadership_history", in.LeadershipHistory)...)
	}
	return f
}

// CorrectProfile replaces the cadre's rank history and/or leadership terms, keeping what they were,
// who corrected them, when and why (Cadre.Corrections). A history sent unchanged adds no
// correction. A cadre outside scope is ENOTFOUND. The caller recomputes the status.
func (s *Service) CorrectProfile(ctx context.Context, scope Scope, id string, in CorrectionInput, actor string) (training.Cadre, error) {
	if err := s.CheckCorrection(&in).Err(); err != nil {
		return training.Cadre{}, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := s.GetCadre(ctx, scope, id)
		if err != nil {
			return training.Cadre{}, err
		}
		next := cur
		next.Corrections = slices.Clone(cur.Corrections)
		now := s.now().UTC()
		record := func(field string, before, after any) {
			b, _ := json.Marshal(before) // plain slices of dates and strings: cannot fail
			a, _ := json.Marshal(after)
			if string(a) != string(b) {
				next.Corrections = append(next.Corrections, training.ProfileCorrection{Field: field, Before: b, After: a, Reason: in.Reason, By: actor, At: now})
			}
		}
		if in.SetRank {
			before := cur.RankHistory
			if before == nil {
				before = []training.RankChange{}
			}
			record("rank_history", before, in.RankHistory)
			next.RankHistory = slices.Clone(in.RankHistory)
		}
		if in.SetLeadership {
			before := cur.LeadershipHistory
			if before == nil {
				before = []training.LeadershipTerm{}
			}
			after := slices.Clone(in.LeadershipHistory)
			if after == nil {
				after = []training.LeadershipTerm{}
			}
			record("leadership_history", before, after)
			next.LeadershipHistory = after
			if len(after) == 0 {
				next.LeadershipHistory = nil
			}
		}
		if len(next.Corrections) == len(cur.Corrections) {
			return cur, nil // nothing changed
		}
		next.LeadershipMember = training.LeadershipMemberOn(next, s.Today())
		if in.SetLeadership && len(next.LeadershipHistory) == 0 {
			next.LeadershipMember = false
		}
		s.setCurrentRank(&next)
		next.UpdatedAt = now
		saved, err := s.Store.PutCadre(ctx, next, cur.Version)
		if training.ErrorCode(err) == training.ECONFLICT && attempt < maxPutCadreRetries {
			continue
		}
		if err == nil {
			s.setCurrentRank(&saved)
		}
		return saved, err
	}
}

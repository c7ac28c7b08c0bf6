package app

import (
	"context"
	"encoding/json"

	"github.com/cadre-training/cadretrain/shared/training"
)

// RequirementNoticeData is the data of requirement.at_risk, requirement.unmet and
// promotion_training.due_soon events.
type RequirementNoticeData struct {
	CadreID       string                     `json:"cadre_id"`
	Name          string                     `json:"name"`
	Unit          string                     `json:"unit"`
	AsOf          training.Date              `json:"as_of"`
	PreviousState training.State             `json:"previous_state,omitempty"`
	DaysLeft      *int                       `json:"days_left,omitempty"`
	Requirement   training.RequirementStatus `json:"requirement"`
}

// statusNotices finds what a recompute tells subscribers, by comparing the stored snapshot
// (nil: none yet) with the new status st (docs/rules.md “Notices”):
//
//   - a requirement whose state became at_risk or unmet (another state, or not reported, before;
//     the same requirement means the same id and window);
//   - a promotion-training requirement (任职培训, window opened by a promotion) not met whose
//     deadline is within 60 days of as_of, the first time it is seen so.
//
// Event ids derive from the cadre, the requirement, its window and the state, so a replay finds
// the same events and queues nothing twice.
//
// The stored snapshot is read (when the store did not hand it over, !storedKnown) only when st
// has a requirement that could give an event, so a cadre on track costs nothing more.
func (s *Service) statusNotices(ctx context.Context, c training.Cadre, stored *training.Status, storedKnown bool, st training.Status) error {
	if !storedKnown {
		candidate := false
		for _, r := range st.Requirements {
			candidate = candidate || r.State == training.StateAtRisk || r.State == training.StateUnmet ||
				r.Trigger != nil && r.Trigger.Event == "promotion" && r.State != training.StateMet
		}
		if !candidate {
			return nil
		}
		snap, err := s.Store.GetSnapshot(ctx, c.ID)
		switch {
		case err == nil:
			stored = &snap
		case training.ErrorCode(err) != training.ENOTFOUND:
			return err
		}
	}
	prevOf := func(r training.RequirementStatus) *training.RequirementStatus {
		if stored == nil {
			return nil
		}
		for i := range stored.Requirements {
			p := &stored.Requirements[i]
			if p.ID == r.ID && p.Window == r.Window {
				return p
			}
		}
		return nil
	}
	var events []training.Event
	add := func(typ string, r training.RequirementStatus, prev *training.RequirementStatus, daysLeft *int, idParts ...string) {
		d := RequirementNoticeData{CadreID: c.ID, Name: c.Name, Unit: c.Unit, AsOf: st.AsOf, DaysLeft: daysLeft, Requirement: r}
		if prev != nil {
			d.PreviousState = prev.State
		}
		data, _ := json.Marshal(d)
		parts := append([]string{c.ID, r.ID, r.Window.Start.String(), r.Window.End.String()}, idParts...)
		events = append(events, training.Event{ID: training.EventID(typ, parts...), Type: typ, Unit: c.Unit, CadreID: c.ID,
			Data: data, Timestamp: s.now().UTC()})
	}
	for _, r := range st.Requirements {
		prev := prevOf(r)
		if (r.State == training.StateAtRisk || r.State == training.StateUnmet) && (prev == nil || prev.State != r.State) {
			typ := training.EventRequirementAtRisk
			if r.State == training.StateUnmet {
				typ = training.EventRequirementUnmet
			}
			add(typ, r, prev, nil)
		}
		if r.Trigger != nil && r.Trigger.Event == "promotion" && r.State != training.StateMet {
			left := st.AsOf.DaysThrough(r.Deadline) - 1
			if left < 0 || left > training.PromotionNoticeDays {
				continue
			}
			if prev != nil && prev.State != training.StateMet && stored.AsOf.DaysThrough(prev.Deadline)-1 <= training.PromotionNoticeDays {
				continue // already within 60 days at the stored snapshot: told then
			}
			add(training.EventPromotionDueSoon, r, prev, &left)
		}
	}
	for _, ev := range events {
		if err := s.emit(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

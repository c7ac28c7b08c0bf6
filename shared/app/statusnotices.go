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

// SnapshotComparer is implemented by stores that can tell whether a status says the same as the
// cadre's stored snapshot (everything but computed_at) from the stored bytes, without decoding
// them (the embedded store). SnapshotUnlessSame reports same, or else, when decode is set, returns
// the stored snapshot (nil: none).
type SnapshotComparer interface {
	SnapshotUnlessSame(ctx context.Context, st training.Status, decode bool) (stored *training.Status, same bool, err error)
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
// has a requirement that could give an event, so a cadre on track costs nothing more; a store
// that compares snapshots as bytes (SnapshotComparer) is asked for every status, and decodes the
// stored one only when it differs from st and st could give an event. unchanged reports that the
// store found st the same as its snapshot (such a status tells nothing new, and a batch need not
// hand it to PutSnapshots); it is false when not known. An event is built (its data and id) only
// when a subscription wants its type and the cadre's unit, so a recompute with no subscriber for
// what it finds costs one listing of the subscriptions.
func (s *Service) statusNotices(ctx context.Context, c training.Cadre, stored *training.Status, storedKnown bool, st training.Status) (unchanged bool, err error) {
	if !storedKnown {
		candidate := false
		for _, r := range st.Requirements {
			candidate = candidate || r.State == training.StateAtRisk || r.State == training.StateUnmet ||
				r.Trigger != nil && r.Trigger.Event == "promotion" && r.State != training.StateMet
		}
		if cmp, ok := s.Store.(SnapshotComparer); ok {
			snap, same, err := cmp.SnapshotUnlessSame(ctx, st, candidate)
			if err != nil || same || !candidate {
				return same, err
			}
			stored = snap
		} else {
			if !candidate {
				return false, nil
			}
			snap, err := s.Store.GetSnapshot(ctx, c.ID)
			switch {
			case err == nil:
				stored = &snap
			case training.ErrorCode(err) != training.ENOTFOUND:
				return false, err
			}
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
	type notice struct {
		typ      string
		r        training.RequirementStatus
		prev     *training.RequirementStatus
		daysLeft *int
	}
	var found []notice
	for _, r := range st.Requirements {
		prev := prevOf(r)
		if (r.State == training.StateAtRisk || r.State == training.StateUnmet) && (prev == nil || prev.State != r.State) {
			typ := training.EventRequirementAtRisk
			if r.State == training.StateUnmet {
				typ = training.EventRequirementUnmet
			}
			found = append(found, notice{typ, r, prev, nil})
		}
		if r.Trigger != nil && r.Trigger.Event == "promotion" && r.State != training.StateMet {
			left := st.AsOf.DaysThrough(r.Deadline) - 1
			if left < 0 || left > training.PromotionNoticeDays {
				continue
			}
			if prev != nil && prev.State != training.StateMet && stored.AsOf.DaysThrough(prev.Deadline)-1 <= training.PromotionNoticeDays {
				continue // already within 60 days at the stored snapshot: told then
			}
			found = append(found, notice{training.EventPromotionDueSoon, r, prev, &left})
		}
	}
	if len(found) == 0 {
		return false, nil
	}
	subs, err := s.ListSubscriptions(ctx, nil)
	if err != nil {
		return false, err
	}
	for _, n := range found {
		var wanting []training.Subscription
		for _, sub := range subs {
			if sub.Wants(n.typ, c.Unit) {
				wanting = append(wanting, sub)
			}
		}
		if len(wanting) == 0 {
			continue
		}
		d := RequirementNoticeData{CadreID: c.ID, Name: c.Name, Unit: c.Unit, AsOf: st.AsOf, DaysLeft: n.daysLeft, Requirement: n.r}
		if n.prev != nil {
			d.PreviousState = n.prev.State
		}
		data, _ := json.Marshal(d)
		parts := []string{c.ID, n.r.ID, n.r.Window.Start.String(), n.r.Window.End.String()}
		ev := training.Event{ID: training.EventID(n.typ, parts...), Type: n.typ, Unit: c.Unit, CadreID: c.ID,
			Data: data, Timestamp: s.now().UTC()}
		for _, sub := range wanting {
			if err := s.enqueue(ctx, sub, ev); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

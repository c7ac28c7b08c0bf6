package training

import (
	"encoding/json"
	"strconv"
	"time"
)

// LeadershipTerm is one term in a leadership team (领导班子成员): from AppointedOn through the
// day before LeftOn; a zero LeftOn is a term still open.
type LeadershipTerm struct {
	AppointedOn Date `json:"appointed_on"`
	LeftOn      Date `json:"left_on,omitzero"`
}

// ProfileCorrection is one correction of a cadre's dated history by HR: which history, what it
// was, what it became, who, when and why. Corrections are kept for good.
type ProfileCorrection struct {
	Field  string          `json:"field"` // rank_history or leadership_history
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
	Reason string          `json:"reason"`
	By     string          `json:"by"`
	At     time.Time       `json:"at"`
}

// LeadershipMemberOn reports whether the cadre is in a leadership team on d. Without a history the
// LeadershipMember flag applies to every date (profiles stored before terms were kept).
func LeadershipMemberOn(c Cadre, d Date) bool {
	if len(c.LeadershipHistory) == 0 {
		return c.LeadershipMember
	}
	for _, t := range c.LeadershipHistory {
		if !d.Before(t.AppointedOn) && (t.LeftOn.IsZero() || d.Before(t.LeftOn)) {
			return true
		}
	}
	return false
}

// officeSpans are the parts of w the cadre is in a leadership team (an open term runs to the
// window's end), in date order. Without a history the LeadershipMember flag covers all of w.
func officeSpans(c Cadre, w Window) []Window {
	if len(c.LeadershipHistory) == 0 {
		if c.LeadershipMember {
			return []Window{w}
		}
		return nil
	}
	var out []Window
	for _, t := range c.LeadershipHistory {
		from, to := t.AppointedOn, w.End
		if !t.LeftOn.IsZero() {
			to = t.LeftOn.AddDays(-1)
		}
		if from.Before(w.Start) {
			from = w.Start
		}
		if to.After(w.End) {
			to = w.End
		}
		if !to.Before(from) {
			out = append(out, Window{Start: from, End: to})
		}
	}
	return out
}

// leadershipDays returns the days of w the cadre is in a leadership team and whether any of them
// falls on or before asOf: the requirement binds a cadre who has been a member in the window by
// asOf (docs/rules.md "Leadership terms").
func leadershipDays(c Cadre, w Window, asOf Date) (days int, memberByAsOf bool) {
	for _, sp := range officeSpans(c, w) {
		days += sp.Days()
		if !sp.Start.After(asOf) {
			memberByAsOf = true
		}
	}
	return days, memberByAsOf
}

// leadershipTarget pro-rates the target t of a leadership requirement for a cadre in office for
// only part of w: t × days in office / days of w, each measure rounded up to a whole day (学时: a
// hundredth). docs/rules.md "Leadership terms": a cadre appointed a month before the window
// closes owes ⌈60 × 31 / 1826⌉ = 2 days, not 60.
func leadershipTarget(req Requirement, c Cadre, w Window, asOf Date, t Target) (Target, *Proration) {
	if req.AppliesTo.LeadershipMember == nil || !*req.AppliesTo.LeadershipMember {
		return t, nil
	}
	spans := officeSpans(c, w)
	inOffice, months := 0, 0
	for _, sp := range spans {
		inOffice += sp.Days()
		months += WholeMonths(sp.Start, sp.End)
	}
	if len(spans) == 0 || inOffice >= w.Days() {
		return t, nil
	}
	pro := &Proration{Reason: "in_office", From: spans[0].Start, Months: months, OfMonths: WholeMonths(w.Start, w.End),
		Days: inOffice, OfDays: w.Days(), FullTarget: Measures(t)}
	return prorate(t, inOffice, w.Days()), pro
}

// prorate scales each measure of t by num/den, rounding up. num ≥ den gives t.
func prorate(t Target, num, den int) Target {
	if num >= den || den <= 0 {
		return t
	}
	var out Target
	if t.Days != nil {
		out.Days = ptr(DaysFromHalves(ceilMultiple(t.Days.Halves()*int64(num), int64(den), WholeDays(1).Halves())))
	}
	if t.Hours != nil {
		out.Hours = ptr(Hours(ceilMultiple(int64(*t.Hours)*int64(num), int64(den), 1)))
	}
	return out
}

// CheckLeadershipHistory validates terms as HR sends them (field is the JSON field): each has
// appointed_on, left_on (when given) after it, terms in date order without overlap, only the
// last one open.
func CheckLeadershipHistory(field string, terms []LeadershipTerm) Fields {
	var f Fields
	for i, t := range terms {
		at := func(sub string) string { return field + "[" + strconv.Itoa(i) + "]." + sub }
		if t.AppointedOn.IsZero() {
			f.Add(at("appointed_on"), "is required")
			continue
		}
		if !t.LeftOn.IsZero() && !t.LeftOn.After(t.AppointedOn) {
			f.Add(at("left_on"), "must be after appointed_on")
		}
		if i > 0 {
			prev := terms[i-1]
			switch {
			case prev.LeftOn.IsZero():
				f.Add(at("appointed_on"), "only the last term may be open (the previous term has no left_on)")
			case t.AppointedOn.Before(prev.LeftOn):
				f.Add(at("appointed_on"), "must not be before the previous term's left_on %s (terms are in date order and do not overlap)", prev.LeftOn)
			}
		}
	}
	return f
}

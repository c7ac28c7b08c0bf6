package training

import (
	"slices"
	"time"
)

// RankOn returns the rank code in force on d from c.RankHistory (latest entry with EffectiveOn <= d).
// Before the first entry, the first entry's rank applies (documented choice). "" if no history.
//
// RULES.md §1: “Rank changes are kept as history with an effective date.” The history is meant to
// be oldest first, but RankOn does not rely on it: it picks the entry with the latest EffectiveOn
// on or before d (of equal dates, the later entry), and before every entry the earliest one.
// The value is returned as stored (a code, or a title if a caller stored one).
func RankOn(c Cadre, d Date) string {
	if len(c.RankHistory) == 0 {
		return ""
	}
	inForce, earliest := -1, 0
	for i, h := range c.RankHistory {
		if h.EffectiveOn.Before(c.RankHistory[earliest].EffectiveOn) {
			earliest = i
		}
		if h.EffectiveOn.After(d) {
			continue
		}
		if inForce < 0 || !h.EffectiveOn.Before(c.RankHistory[inForce].EffectiveOn) {
			inForce = i
		}
	}
	if inForce < 0 {
		return c.RankHistory[earliest].Rank
	}
	return c.RankHistory[inForce].Rank
}

// categoryOn is the quota category of the cadre's rank in force on d under p, "" when the cadre
// has no rank or a rank the policy does not know. A cadre without rank history falls back to
// c.Rank (the current rank).
func categoryOn(p *Policy, c Cadre, d Date) string {
	rank := RankOn(c, d)
	if rank == "" {
		rank = c.Rank
	}
	if rank == "" {
		return ""
	}
	ri, ok := p.LookupRank(rank)
	if !ok {
		return ""
	}
	return ri.Category
}

// Evaluate evaluates the cadre's quota status as of the END of day asOf (RULES.md §3), using the policy
// in force on asOf (PolicyFor), over all given records (it filters: voided, failed, wrong kind, attribution
// after asOf or outside the window don't count). computedAt goes into Status.ComputedAt.
// Returns EINVALID (*Error) if no policy is in force on asOf.
//
// Source, seed 000 一（四）: “县处级和四级调研员及相当层次职级以上信访干部，每5年参加集中培训累计不少于3个月或550学时；
// 乡科级和一级主任科员及相当层次职级以下信访干部，每年参加集中培训累计不少于12天或90学时。每年参加网络自学累计不少于50学时。”
// Seed 003 第四篇（三）2: “党政领导班子成员……5年内累计不少于2个月”.
//
// Each requirement of the policy that applies to the cadre (by the category in force on asOf, which is
// the window's last day when the window has closed, and by the leadership flag) is reported, in policy
// order, for the window containing asOf. Records of another cadre (non-empty CadreID ≠ c.ID) are ignored.
func Evaluate(c Cadre, records []Record, asOf Date, computedAt time.Time) (Status, error) {
	p, err := PolicyFor(asOf)
	if err != nil {
		return Status{}, err
	}
	cat := categoryOn(p, c, asOf)
	st := Status{
		CadreID:                    c.ID,
		AsOf:                       asOf,
		Policy:                     p.ID,
		Category:                   cat,
		AppraisalExcellentEligible: appraisalExcellentEligible(c, records, asOf),
		Requirements:               []RequirementStatus{},
		ComputedAt:                 computedAt,
	}
	for _, req := range p.Requirements {
		if !applies(req.AppliesTo, c, cat) {
			continue
		}
		st.Requirements = append(st.Requirements, evaluateRequirement(p, req, c, records, asOf))
	}
	st.Overall = overall(st.Requirements)
	return st, nil
}

// applies reports whether a requirement binds the cadre. RULES.md §2 “who”: a category filter
// (none = everyone) and the leadership-team flag (领导班子成员).
func applies(a AppliesTo, c Cadre, category string) bool {
	if len(a.Categories) > 0 && !slices.Contains(a.Categories, category) {
		return false
	}
	if a.LeadershipMember != nil && *a.LeadershipMember != c.LeadershipMember {
		return false
	}
	return true
}

// counts reports whether r counts toward req in window w as of asOf. RULES.md §2 “What does not
// count: voided records; records whose assessment is failed (学时不予认定); online hours toward
// centralized targets and centralized hours toward the online target.”
func counts(req Requirement, c Cadre, r Record, w Window, asOf Date) bool {
	if !r.Counts() || r.Void != nil {
		return false
	}
	if r.CadreID != "" && c.ID != "" && r.CadreID != c.ID {
		return false
	}
	if r.Kind != req.Counts.Kind {
		return false
	}
	if req.Counts.InstitutionType != "" && r.InstitutionType != req.Counts.InstitutionType {
		return false
	}
	d := r.AttributionDate()
	return !d.After(asOf) && w.Contains(d)
}

func evaluateRequirement(p *Policy, req Requirement, c Cadre, records []Record, asOf Date) RequirementStatus {
	w := p.WindowOf(req.Window, asOf)
	var days int
	var hours Hours
	for _, r := range records {
		if counts(req, c, r, w, asOf) {
			days += r.Days
			hours += r.Hours
		}
	}

	rs := RequirementStatus{ID: req.ID, Window: w, Deadline: w.End}
	// Only the target's measures are reported; fresh pointers, never the policy's own.
	if req.Target.Days != nil {
		t := *req.Target.Days
		rs.Target.Days, rs.Achieved.Days, rs.Remaining.Days = ptr(t), ptr(days), ptr(max(0, t-days))
	}
	if req.Target.Hours != nil {
		t := *req.Target.Hours
		rs.Target.Hours, rs.Achieved.Hours, rs.Remaining.Hours = ptr(t), ptr(hours), ptr(max(0, t-hours))
	}
	rs.State = requirementState(rs.Target, days, hours, w, asOf)
	return rs
}

// requirementState applies RULES.md §3. “met — target reached (either measure).” “unmet — window
// closed without reaching the target.” “at_risk — window open, at least a quarter of it elapsed,
// and on every measure of the target the achieved amount is below target × elapsed.” “on_track —
// window open, not met, not at risk.”
//
// elapsed = num/den with num = days from the window start through asOf inclusive and den = days in
// the window; every comparison is cross-multiplied in integers (no floating point).
func requirementState(target Measures, days int, hours Hours, w Window, asOf Date) State {
	// RULES.md §2 “Either measure satisfies” and “不少于 / 以上 include the number itself”: ≥.
	if (target.Days != nil && days >= *target.Days) || (target.Hours != nil && hours >= *target.Hours) {
		return StateMet
	}
	if asOf == w.End {
		return StateUnmet
	}
	num, den := int64(w.Start.DaysThrough(asOf)), int64(w.Days())
	if behindPace(target, days, hours, num, den) {
		return StateAtRisk
	}
	return StateOnTrack
}

// behindPace reports whether at least a quarter of the window has elapsed (num/den ≥ 1/4) and every
// target measure is below target × num/den, i.e. achieved·den < target·num.
func behindPace(target Measures, days int, hours Hours, num, den int64) bool {
	if den <= 0 || 4*num < den {
		return false
	}
	if target.Days == nil && target.Hours == nil {
		return false
	}
	if target.Days != nil && int64(days)*den >= int64(*target.Days)*num {
		return false
	}
	if target.Hours != nil && int64(hours)*den >= int64(*target.Hours)*num {
		return false
	}
	return true
}

// overall is RULES.md §3: “unmet if any applicable requirement is unmet, else at_risk if any is at
// risk, else met if all are met, else on_track.” No applicable requirement at all is met (nothing owed).
func overall(rs []RequirementStatus) State {
	has := func(s State) bool {
		return slices.ContainsFunc(rs, func(r RequirementStatus) bool { return r.State == s })
	}
	switch {
	case has(StateUnmet):
		return StateUnmet
	case has(StateAtRisk):
		return StateAtRisk
	case has(StateOnTrack):
		return StateOnTrack
	default:
		return StateMet
	}
}

// appraisalExcellentEligible is RULES.md §4 “Appraisal flag”, from seed 000 四: “对干部教育培训考核不合格的，
// 年度考核不得确定为优秀等次。” It is false iff a non-voided record of the cadre attributed in asOf's
// calendar year, on or before asOf, has assessment failed (any kind of training).
func appraisalExcellentEligible(c Cadre, records []Record, asOf Date) bool {
	for _, r := range records {
		if r.Status == StatusVoided || r.Void != nil || r.Assessment != AssessmentFailed {
			continue
		}
		if r.CadreID != "" && c.ID != "" && r.CadreID != c.ID {
			continue
		}
		d := r.AttributionDate()
		if d.Year == asOf.Year && !d.After(asOf) {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }

package training

import (
	"fmt"
	"slices"
	"time"
)

// RankOn returns the rank code in force on d from c.RankHistory (latest entry with EffectiveOn <= d).
// Before the first entry, the first entry's rank applies (documented choice). "" if no history.
//
// docs/rules.md §1: “Rank changes are kept as history with an effective date.” The history is meant to
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

// Evaluate evaluates the cadre's quota status as of the END of day asOf (docs/rules.md §3), using the policy
// in force on asOf (PolicyFor), over all given records (it filters: voided, failed, wrong kind, attribution
// after asOf or outside the window don't count), crediting them by the overlay of the cadre's unit in
// force on asOf. computedAt goes into Status.ComputedAt.
// Returns EINVALID (*Error) if no policy is in force on asOf.
//
// Source, seed 000 一（四）: “县处级和四级调研员及相当层次职级以上信访干部，每5年参加集中培训累计不少于3个月或550学时；
// 乡科级和一级主任科员及相当层次职级以下信访干部，每年参加集中培训累计不少于12天或90学时。每年参加网络自学累计不少于50学时。”
// Seed 003 第四篇（三）2 (the 2018–2022 plan): “党政领导班子成员……5年内累计不少于2个月”. Training on promotion
// and initial training: docs/rules.md.
//
// Each requirement of the policy that applies to the cadre (by the category and rank in force on asOf,
// which is the window's last day when the window has closed, and by the leadership flag) is reported, in
// policy order, for the window containing asOf. Records of another cadre (non-empty CadreID ≠ c.ID) are ignored.
func (rules *Rules) Evaluate(c Cadre, records []Record, asOf Date, computedAt time.Time) (Status, error) {
	return rules.evaluate(c, records, asOf, computedAt, false)
}

// EvaluateExplained is Evaluate with, per requirement, the records that counted and those that did
// not with the reason (RequirementStatus.Explain; docs/rules.md “A status that explains itself”).
func (rules *Rules) EvaluateExplained(c Cadre, records []Record, asOf Date, computedAt time.Time) (Status, error) {
	return rules.evaluate(c, records, asOf, computedAt, true)
}

func (rules *Rules) evaluate(c Cadre, records []Record, asOf Date, computedAt time.Time, explain bool) (Status, error) {
	if err := rules.CheckAsOf(asOf).Err(); err != nil {
		return Status{}, err
	}
	p, err := rules.PolicyFor(asOf)
	if err != nil {
		return Status{}, err
	}
	cat := categoryOn(p, c, asOf)
	ev := evaluation{rules: rules, p: p, c: c, records: records, asOf: asOf, overlay: rules.Overlays.For(c.Unit, asOf), explain: explain}
	// The status's flags count the records an evaluation reads (EvaluationRange), so a snapshot is
	// the same whether the caller passes those or the whole archive. Explanations list every
	// record passed (the service passes the whole archive when asked to explain).
	if from, to, err := rules.EvaluationRange(c, asOf); err == nil {
		ev.read = Window{Start: from, End: to}
	}
	st := Status{
		CadreID:                    c.ID,
		AsOf:                       asOf,
		Policy:                     p.ID,
		Category:                   cat,
		AppraisalExcellentEligible: appraisalExcellentEligible(c, records, asOf),
		Requirements:               []RequirementStatus{},
		ComputedAt:                 computedAt,
	}
	if ev.overlay != nil {
		st.Overlay = ev.overlay.ID
	}
	for _, req := range p.Requirements {
		if !applies(p, req.AppliesTo, c, cat, asOf) {
			continue
		}
		rs, ok, err := ev.requirement(req)
		if err != nil {
			return Status{}, err
		}
		if ok {
			st.Requirements = append(st.Requirements, rs)
		}
	}
	st.Overall = overall(st.Requirements)
	st.Flags = rules.countFlags(records, ev.read, p.WindowOf(WindowPlanPeriod, asOf), asOf)
	return st, nil
}

// EvaluationRange is the range of attribution dates that Evaluate(c, …, asOf, …) reads: from
// the earliest start of a counted window of any requirement of the policy in force on asOf (the
// calendar year and plan period containing asOf, the counted span of an after_promotion or
// after_joining window), 1 January of asOf's year (the appraisal flag) and, under an overlay
// with a carry-over rule, 1 January of the year before; through asOf (nothing attributed later
// counts). A store may hand Evaluate only the records in this range, so an evaluation does not
// slow down as the archive grows. EINVALID when no policy is in force.
func (rules *Rules) EvaluationRange(c Cadre, asOf Date) (from, to Date, err error) {
	p, err := rules.PolicyFor(asOf)
	if err != nil {
		return Date{}, Date{}, err
	}
	from = p.WindowOf(WindowCalendarYear, asOf).Start
	if ov := rules.Overlays.For(c.Unit, asOf); ov != nil && ov.Crediting.CarryOver != nil {
		from = Date{asOf.Year - 1, time.January, 1}
	}
	for _, req := range p.Requirements {
		if sc, ok := scopeOf(p, req, c, asOf); ok && sc.counted.Start.Before(from) {
			from = sc.counted.Start
		}
	}
	return from, asOf, nil
}

// applies reports whether a requirement binds the cadre. docs/rules.md §2 “who”: a category filter
// (none = everyone) and a rank filter (the leadership rule binds 省、市、县 leadership teams only).
// The leadership-team filter (领导班子成员) depends on the window: leadershipBinds.
func applies(p *Policy, a AppliesTo, c Cadre, category string, asOf Date) bool {
	if len(a.Categories) > 0 && !slices.Contains(a.Categories, category) {
		return false
	}
	if len(a.Ranks) > 0 && !slices.Contains(a.Ranks, rankCodeOn(p, c, asOf)) {
		return false
	}
	return true
}

// leadershipBinds applies the leadership-team filter for window w: a member is a cadre in a
// leadership team on some day of w on or before asOf, so leaving does not erase the requirement
// from the window (docs/rules.md "Leadership terms").
func leadershipBinds(a AppliesTo, c Cadre, w Window, asOf Date) bool {
	if a.LeadershipMember == nil {
		return true
	}
	_, member := leadershipDays(c, w, asOf)
	return *a.LeadershipMember == member
}

// evaluation is one cadre evaluated as of a date under one policy and overlay.
type evaluation struct {
	rules   *Rules
	p       *Policy
	c       Cadre
	records []Record
	asOf    Date
	overlay *Overlay
	read    Window // the records an evaluation reads (EvaluationRange); only these count in Status.Flags
	explain bool   // fill RequirementStatus.Explain (EvaluateExplained)
}

// requirement evaluates one applicable requirement; ok is false when it does not bind as of asOf
// (no promotion or joining whose window contains asOf).
func (ev evaluation) requirement(req Requirement) (RequirementStatus, bool, error) {
	sc, ok := scopeOf(ev.p, req, ev.c, ev.asOf)
	if !ok || !leadershipBinds(req.AppliesTo, ev.c, sc.window, ev.asOf) {
		return RequirementStatus{}, false, nil
	}
	w := sc.window
	target, pro, err := proratedTarget(ev.p, req, ev.c, w, ev.asOf)
	if err != nil {
		return RequirementStatus{}, false, err
	}
	if pro == nil {
		target, pro = leadershipTarget(req, ev.c, w, ev.asOf, target)
	}
	days, hours, credit, ex, err := ev.achieved(req, sc.counted, ev.asOf)
	if err != nil {
		return RequirementStatus{}, false, err
	}
	if credit != nil {
		carried, err := ev.carryOver(req, w)
		if err != nil {
			return RequirementStatus{}, false, err
		}
		if carried > 0 {
			credit.CarriedOver = ptr(carried)
			if hours, err = addHours(hours, carried); err != nil {
				return RequirementStatus{}, false, err
			}
		}
	}

	rs := RequirementStatus{ID: req.ID, Window: w, Deadline: w.End, Trigger: sc.trigger, Prorated: pro, Crediting: credit, Explain: ex}
	if sc.counted != w {
		rs.CountedFrom = sc.counted.Start
	}
	// Only the target's measures are reported; fresh pointers, never the policy's own.
	if target.Days != nil {
		t := *target.Days
		rs.Target.Days, rs.Achieved.Days, rs.Remaining.Days = ptr(t), ptr(days), ptr(t.Minus(MinDays(t, days)))
	}
	if target.Hours != nil {
		t := *target.Hours
		rs.Target.Hours, rs.Achieved.Hours, rs.Remaining.Hours = ptr(t), ptr(hours), ptr(max(0, t-hours))
	}
	// A pro-rated target is paced over the part of the window it covers (from the joining or
	// category change on); closed is still the window's end.
	pace := w
	if pro != nil {
		pace.Start = pro.From
	}
	rs.State = requirementState(rs.Target, days, hours, pace, ev.asOf)
	return rs, true, nil
}

// achieved sums the days and credited 学时 of the records that count toward req in window w as of
// asOf, and explains which records counted (skipReason, creditDays). Centralized days are counted
// on the union of calendar days (creditDays). With an overlay, 学时 are credited by its rules
// (CreditedHours, then the online daily cap) and the crediting is reported; without one, 学时 are
// as sent.
func (ev evaluation) achieved(req Requirement, w Window, asOf Date) (Days, Hours, *CreditingApplied, *Explanation, error) {
	in, ex := sortOut(req, ev.c, ev.records, w, asOf, ev.explain)
	days, err := creditDays(req, in, ev.overlay, ex)
	if err != nil {
		return Days{}, 0, nil, nil, err
	}
	var sent, credited Hours
	perDay := map[Date]Hours{} // online: credited 学时 per day, capped below
	for _, r := range in {
		if sent, err = addHours(sent, r.Hours); err != nil {
			return Days{}, 0, nil, nil, err
		}
		h, err := CreditedHours(ev.overlay, *r)
		if err != nil {
			return Days{}, 0, nil, nil, err
		}
		if r.Kind == KindOnline && ev.overlay != nil && ev.overlay.Crediting.OnlineDailyCapHours != nil {
			if perDay[r.AttributionDate()], err = addHours(perDay[r.AttributionDate()], h); err != nil {
				return Days{}, 0, nil, nil, err
			}
			continue
		}
		if credited, err = addHours(credited, h); err != nil {
			return Days{}, 0, nil, nil, err
		}
	}
	if len(perDay) > 0 {
		limit := *ev.overlay.Crediting.OnlineDailyCapHours
		for _, h := range perDay {
			if credited, err = addHours(credited, min(h, limit)); err != nil {
				return Days{}, 0, nil, nil, err
			}
		}
	}
	if ev.overlay == nil {
		return days, sent, nil, ex, nil
	}
	return days, credited, &CreditingApplied{Overlay: ev.overlay.ID, HoursAsSent: sent, HoursCredited: credited}, ex, nil
}

// addHours adds two amounts of 学时, failing instead of overflowing.
func addHours(a, b Hours) (Hours, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, fmt.Errorf("学时 sum overflows")
	}
	return s, nil
}

// requirementState applies docs/rules.md §3. “met — target reached (either measure).” “unmet — window
// closed without reaching the target.” “at_risk — window open, at least a quarter of it elapsed,
// and on every measure of the target the achieved amount is below target × elapsed.” “on_track —
// window open, not met, not at risk.”
//
// elapsed = num/den with num = days from the window start through asOf inclusive and den = days in
// the window; every comparison is cross-multiplied in integers (no floating point).
func requirementState(target Measures, days Days, hours Hours, w Window, asOf Date) State {
	// docs/rules.md §2 “Either measure satisfies” and “不少于 / 以上 include the number itself”: ≥.
	if (target.Days != nil && days.Compare(*target.Days) >= 0) || (target.Hours != nil && hours >= *target.Hours) {
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
func behindPace(target Measures, days Days, hours Hours, num, den int64) bool {
	if den <= 0 || 4*num < den {
		return false
	}
	if target.Days == nil && target.Hours == nil {
		return false
	}
	if target.Days != nil && days.Halves()*den >= target.Days.Halves()*num {
		return false
	}
	if target.Hours != nil && int64(hours)*den >= int64(*target.Hours)*num {
		return false
	}
	return true
}

// overall is docs/rules.md §3: “unmet if any applicable requirement is unmet, else at_risk if any is at
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

// appraisalExcellentEligible is docs/rules.md §4 “Appraisal flag”, from seed 000 四: “对干部教育培训考核不合格的，
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

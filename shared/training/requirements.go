package training

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// reqScope is where a requirement is judged: the reported window (its end is the deadline), the
// window whose records count, and the event that opened it.
type reqScope struct {
	window, counted Window
	trigger         *Trigger
}

// scopeOf returns the scope of req for the cadre as of asOf; false when req does not bind then.
//
//   - calendar_year / plan_period: the window containing asOf (docs/rules.md “Evaluation”).
//   - after_promotion (任职培训): the latest promotion into one of Promotion.ToRanks on or before asOf
//     opens [P, P + WithinMonths] (clamped month arithmetic, like the form months: 2024-02-29 + 12
//     months = 2025-02-28); records from P − MetBeforeYears years count. 干部教育培训工作条例（2023）:
//     “提拔担任领导职务的，确因特殊情况在提任前未达到教育培训要求的，应当在提任后1年内完成培训。”
//   - after_joining (初任培训): joined_on J opens [J, J + WithinMonths] (the probation year).
func scopeOf(p *Policy, req Requirement, c Cadre, asOf Date) (reqScope, bool) {
	switch req.Window {
	case WindowAfterPromotion:
		pr, ok := latestPromotion(p, req.Promotion.ToRanks, c, asOf)
		if !ok {
			return reqScope{}, false
		}
		w := Window{Start: pr.On, End: pr.On.AddMonthsClamped(req.WithinMonths)}
		if asOf.After(w.End) {
			return reqScope{}, false
		}
		counted := Window{Start: pr.On.AddMonthsClamped(-12 * req.Promotion.MetBeforeYears), End: w.End}
		return reqScope{window: w, counted: counted, trigger: &pr}, true
	case WindowAfterJoining:
		j := c.JoinedOn
		if j.IsZero() || j.After(asOf) {
			return reqScope{}, false
		}
		w := Window{Start: j, End: j.AddMonthsClamped(req.WithinMonths)}
		if asOf.After(w.End) {
			return reqScope{}, false
		}
		return reqScope{window: w, counted: w, trigger: &Trigger{Event: "joined", On: j}}, true
	default:
		w := p.WindowOf(req.Window, asOf)
		return reqScope{window: w, counted: w}, true
	}
}

// sortedHistory is the rank history oldest first (stable: of equal dates the later entry last).
func sortedHistory(c Cadre) []RankChange {
	h := slices.Clone(c.RankHistory)
	sort.SliceStable(h, func(i, j int) bool { return h[i].EffectiveOn.Before(h[j].EffectiveOn) })
	return h
}

// latestPromotion finds the latest rank-history entry on or before asOf that moves the cadre into
// one of toRanks from a less senior rank of the policy (ranks are listed most senior first). The
// first entry is no promotion (the rank before it is unknown); neither is a move from or to a rank
// the policy does not know.
func latestPromotion(p *Policy, toRanks []string, c Cadre, asOf Date) (Trigger, bool) {
	h := sortedHistory(c)
	var found Trigger
	ok := false
	for i := 1; i < len(h); i++ {
		if h[i].EffectiveOn.After(asOf) {
			break
		}
		to, toOK := p.LookupRank(h[i].Rank)
		from, fromOK := p.LookupRank(h[i-1].Rank)
		if !toOK || !fromOK || !slices.Contains(toRanks, to.Code) {
			continue
		}
		if p.Seniority(to.Code) < p.Seniority(from.Code) {
			found, ok = Trigger{Event: "promotion", On: h[i].EffectiveOn, Rank: to.Code, FromRank: from.Code}, true
		}
	}
	return found, ok
}

// rankCodeOn is the code of the cadre's rank in force on d ("" if none or unknown).
func rankCodeOn(p *Policy, c Cadre, d Date) string {
	rank := RankOn(c, d)
	if rank == "" {
		rank = c.Rank
	}
	ri, ok := p.LookupRank(rank)
	if !ok {
		return ""
	}
	return ri.Code
}

// categoryStart is the date from which the category in force on asOf has been in force without a
// break: the effective date of the first rank-history entry of the current run of that category.
// Zero when the run reaches back to the first entry (before it the earliest rank applies, so the
// cadre has been in the category all along).
func categoryStart(p *Policy, c Cadre, asOf Date) Date {
	h := sortedHistory(c)
	cat := func(rank string) string {
		ri, _ := p.LookupRank(rank)
		return ri.Category
	}
	k := -1
	for i := range h {
		if !h[i].EffectiveOn.After(asOf) {
			k = i
		}
	}
	if k <= 0 {
		return Date{}
	}
	for j := k - 1; j >= 0; j-- {
		if cat(h[j].Rank) != cat(h[k].Rank) {
			return h[j+1].EffectiveOn
		}
	}
	return Date{}
}

// proratedTarget is req's target for window w, pro-rated when the cadre joined (joined_on) or came
// under the requirement's category after w started. docs/rules.md “Mid-year joiners and transfers”:
// target × m / M rounded UP to a multiple of the policy's unit, m = whole calendar months from that
// date through the window end (WholeMonths), M = whole months of the window. A cadre who joined on
// 2025-11-01 owes 12 × 2/12 = 2 days or 90 × 2/12 = 15 学时 of centralized training for 2025.
func proratedTarget(p *Policy, req Requirement, c Cadre, w Window, asOf Date) (Target, *Proration, error) {
	full := Target{}
	if req.Target.Days != nil {
		full.Days = ptr(*req.Target.Days)
	}
	if req.Target.Hours != nil {
		full.Hours = ptr(*req.Target.Hours)
	}
	if req.Prorate == nil {
		return full, nil, nil
	}
	from, reason := Date{}, ""
	if j := c.JoinedOn; !j.IsZero() && j.After(w.Start) && !j.After(asOf) {
		from, reason = j, "joined"
	}
	if len(req.AppliesTo.Categories) > 0 {
		if s := categoryStart(p, c, asOf); !s.IsZero() && s.After(w.Start) && s.After(from) {
			from, reason = s, "category_changed"
		}
	}
	if from.IsZero() {
		return full, nil, nil
	}
	m, total := int64(WholeMonths(from, w.End)), int64(WholeMonths(w.Start, w.End))
	if total <= 0 {
		return full, nil, fmt.Errorf("window %s…%s has no whole month", w.Start, w.End)
	}
	out := Target{}
	if full.Days != nil {
		out.Days = ptr(DaysFromHalves(ceilMultiple(full.Days.Halves()*m, total, req.Prorate.RoundUpTo.Days.Halves())))
	}
	if full.Hours != nil {
		out.Hours = ptr(Hours(ceilMultiple(int64(*full.Hours)*m, total, int64(*req.Prorate.RoundUpTo.Hours))))
	}
	return out, &Proration{Reason: reason, From: from, Months: int(m), OfMonths: int(total), FullTarget: Measures(full)}, nil
}

// ceilMultiple is the least multiple of unit ≥ num/den (num ≥ 0, den > 0, unit > 0), exactly.
func ceilMultiple(num, den, unit int64) int64 {
	d := den * unit
	return (num + d - 1) / d * unit
}

// CreditedHours is the 学时 a record is credited under overlay ov before any per-day cap: as sent
// without an overlay (0 for a centralized training sent without 学时); an online course with a
// reported length by the overlay's online_course_length tiers; a centralized training as
// days × days_to_hours.hours_per_day when it was sent without 学时 or the overlay replaces sent 学时
// (the days it is credited, CreditedDays: 2.5 days × 6 = 15 学时 under half_days, else 2 × 6),
// then capped by the training cap of its institution_type. The product is exact (ParseOverlay
// makes hours_per_day a multiple of 0.02 under half_days) and overflow-checked.
func CreditedHours(ov *Overlay, r Record) (Hours, error) {
	h := r.Hours
	if ov == nil {
		return h, nil
	}
	if r.Kind == KindOnline {
		// Crediting by course length: the first tier (longest first) the reported length reaches;
		// a course shorter than every tier, or without a length, keeps the 学时 sent.
		if r.DurationMinutes > 0 {
			for _, lt := range ov.Crediting.OnlineCourseLength {
				if r.DurationMinutes >= lt.MinMinutes {
					return lt.Hours, nil
				}
			}
		}
		return h, nil
	}
	if r.Kind != KindCentralized {
		return h, nil
	}
	if dh := ov.Crediting.DaysToHours; dh != nil && (h == 0 || dh.ReplaceSentHours) {
		halves, perHalf := CreditedDays(ov, r).Halves(), int64(dh.HoursPerDay)
		if halves < 0 || (halves > 0 && perHalf > math.MaxInt64/halves) {
			return 0, fmt.Errorf("学时 of %s days × %s overflow", CreditedDays(ov, r), dh.HoursPerDay)
		}
		p := halves * perHalf
		if p%2 != 0 {
			return 0, fmt.Errorf("%s days × %s 学时 is not a whole number of hundredths", CreditedDays(ov, r), dh.HoursPerDay)
		}
		h = Hours(p / 2)
	}
	for _, tc := range ov.Crediting.TrainingCaps {
		if r.InstitutionType != "" && slices.Contains(tc.InstitutionTypes, r.InstitutionType) {
			h = min(h, tc.MaxHours)
		}
	}
	return h, nil
}

// carryOver is the 学时 carried into req's calendar-year window w from the year before under the
// overlay's carry_over rule: what the cadre's own records of that year were credited above that
// year's (pro-rated) target, up to max_hours. Nothing when the rule does not name req, when no
// policy was in force or req did not bind the cadre at the end of that year.
func (ev evaluation) carryOver(req Requirement, w Window) (Hours, error) {
	ov := ev.overlay
	if ov == nil || ov.Crediting.CarryOver == nil || req.Window != WindowCalendarYear || req.Target.Hours == nil ||
		!slices.Contains(ov.Crediting.CarryOver.Requirements, req.ID) {
		return 0, nil
	}
	prevEnd := w.Start.AddDays(-1)
	pp, err := ev.rules.PolicyFor(prevEnd)
	if err != nil {
		return 0, nil // no policy that year: nothing was owed, nothing carries
	}
	i := slices.IndexFunc(pp.Requirements, func(r Requirement) bool { return r.ID == req.ID })
	if i < 0 {
		return 0, nil
	}
	prevReq := pp.Requirements[i]
	if prevReq.Window != WindowCalendarYear || prevReq.Target.Hours == nil ||
		!applies(pp, prevReq.AppliesTo, ev.c, categoryOn(pp, ev.c, prevEnd), prevEnd) ||
		!leadershipBinds(prevReq.AppliesTo, ev.c, pp.WindowOf(WindowCalendarYear, prevEnd), prevEnd) {
		return 0, nil
	}
	prevW := pp.WindowOf(WindowCalendarYear, prevEnd)
	prevTarget, _, err := proratedTarget(pp, prevReq, ev.c, prevW, prevEnd)
	if err != nil {
		return 0, err
	}
	prev := evaluation{rules: ev.rules, p: pp, c: ev.c, records: ev.records, asOf: prevEnd, overlay: ov}
	_, hours, _, _, err := prev.achieved(prevReq, prevW, prevEnd)
	if err != nil {
		return 0, err
	}
	excess := max(0, hours-*prevTarget.Hours)
	if m := ov.Crediting.CarryOver.MaxHours; m != nil {
		excess = min(excess, *m)
	}
	return excess, nil
}

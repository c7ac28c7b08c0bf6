package training

import "time"

// Plausibility is the part of a policy that bounds what a record may claim and flags what is
// unusual (docs/rules.md "Plausibility and bounds"). It is data, like the targets.
type Plausibility struct {
	// MaxSpanDays: a centralized record spanning more calendar days is a 400 on end_date.
	MaxSpanDays int `json:"max_span_days"`
	// LongSpanDays: a centralized record spanning more calendar days is flagged long_span.
	LongSpanDays int `json:"long_span_days"`
	// FutureGraceDays: end_date, studied_on and completed_at may be at most this many days after
	// today (China Standard Time); later is a 400.
	FutureGraceDays int `json:"future_grace_days"`
	// OnlineDailyCapHours: when two or more online records of one cadre dated the same day claim
	// more 学时 together (all sources), they are flagged daily_online_over_cap.
	OnlineDailyCapHours Hours `json:"online_daily_cap_hours"`
	// MaxOnlineRecordHours: one online record claiming more 学时 is a 400 on hours (a single
	// completion worth more than a whole year's online requirement is a typo or an attack, and
	// unbounded values would let sums overflow).
	MaxOnlineRecordHours Hours `json:"max_online_record_hours"`
}

func (p Plausibility) check() string {
	if p.MaxSpanDays <= 0 || p.LongSpanDays <= 0 || p.LongSpanDays > p.MaxSpanDays || p.FutureGraceDays < 0 || p.OnlineDailyCapHours <= 0 || p.MaxOnlineRecordHours <= 0 {
		return "plausibility needs max_span_days > 0, 0 < long_span_days ≤ max_span_days, future_grace_days ≥ 0, online_daily_cap_hours > 0 and max_online_record_hours > 0"
	}
	return ""
}

// lastDate is the last date a window may end on: dates are written with four-digit years.
var lastDate = Date{9999, time.December, 31}

// CheckPlausible bounds a record's dates and span against the policies and today (China
// Standard Time), after CheckRecord accepted its shape. One FieldError per bad field:
//   - end_date, studied_on, completed_at before the first policy takes effect, or more than the
//     policy's future_grace_days after today;
//   - a centralized span longer than the policy's max_span_days (on end_date);
//   - an online record claiming more than the policy's max_online_record_hours (on hours).
//
// The policy is the one in force on the record's attribution date (the first one before it).
func (rules *Rules) CheckPlausible(r Record, today Date) Fields {
	var f Fields
	first := rules.Policies[0].EffectiveFrom
	p := rules.policyOrFirst(r.AttributionDate())
	latest := today.AddDays(p.Plausibility.FutureGraceDays)
	check := func(field string, d Date) {
		switch {
		case d.IsZero():
		case d.Before(first):
			f.Add(field, "%s is before the first training policy takes effect (%s)", d, first)
		case d.After(latest):
			f.Add(field, "%s is more than %d day(s) after today (%s)", d, p.Plausibility.FutureGraceDays, today)
		}
	}
	check("end_date", r.EndDate)
	check("studied_on", r.StudiedOn)
	if !r.CompletedAt.IsZero() {
		check("completed_at", DateInCST(r.CompletedAt))
	}
	if r.Kind == KindOnline && r.Hours > p.Plausibility.MaxOnlineRecordHours {
		f.Add("hours", "an online record may claim at most %s 学时, got %s", p.Plausibility.MaxOnlineRecordHours, r.Hours)
	}
	if r.Kind == KindCentralized && !r.StartDate.IsZero() && !r.EndDate.IsZero() && !r.EndDate.Before(r.StartDate) {
		if span := r.StartDate.DaysThrough(r.EndDate); span > p.Plausibility.MaxSpanDays && !f.Has("end_date") {
			f.Add("end_date", "the training spans %d calendar days from start_date; at most %d are plausible", span, p.Plausibility.MaxSpanDays)
		}
	}
	return f
}

// CheckAsOf reports, on the field as_of, a date no status can be evaluated on: before the first
// policy, or so late that a window containing it would end after 9999-12-31.
func (rules *Rules) CheckAsOf(asOf Date) Fields {
	var f Fields
	p, err := rules.PolicyFor(asOf)
	if err != nil {
		f.Add("as_of", "must be on or after %s (no training policy is in force before it)", rules.Policies[0].EffectiveFrom)
		return f
	}
	if last := LastAsOf(p); asOf.After(last) {
		f.Add("as_of", "must be on or before %s (the last day whose windows end by %s)", last, lastDate)
	}
	return f
}

// LastAsOf is the latest date every window of p's requirements containing it ends by 9999-12-31.
func LastAsOf(p *Policy) Date {
	last := lastDate
	for _, req := range p.Requirements {
		if w := p.WindowOf(req.Window, lastDate); w.End.After(lastDate) && w.Start.AddDays(-1).Before(last) {
			last = w.Start.AddDays(-1)
		}
	}
	return last
}

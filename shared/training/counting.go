package training

import (
	"cmp"
	"slices"
)

// Why a record did not count toward a requirement (RequirementStatus.Explain).
const (
	ReasonVoided           = "voided"            // voided by HR or superseded by a later event
	ReasonAssessmentFailed = "assessment_failed" // 学时不予认定
	ReasonOtherCadre       = "other_cadre"
	ReasonOtherKind        = "other_kind"     // online toward a centralized target or the reverse
	ReasonAfterAsOf        = "after_as_of"    // attributed after the evaluation date
	ReasonOtherWindow      = "other_window"   // attributed in another year or plan period
	ReasonOverlap          = "overlap"        // every day of it was already counted by an overlapping record
	ReasonOverDailyCap     = "over_daily_cap" // the day's online 学时 cap was already reached
	ReasonHalfDay          = "half_day"       // a half day where the unit's rules credit whole days only
	reasonNotPrefix        = "not_"           // + the institution type the requirement counts: not_party_school
)

// Explanation lists, for one requirement, the records that counted and those that did not
// (docs/rules.md "A status that explains itself").
type Explanation struct {
	Counted    []CountedRecord `json:"counted"`
	NotCounted []SkippedRecord `json:"not_counted"`
}

// CountedRecord is a record that counted, with what it contributed.
type CountedRecord struct {
	RecordID string `json:"record_id"`
	Date     Date   `json:"date"`           // the attribution date
	Days     *Days  `json:"days,omitempty"` // centralized: the days credited
	Hours    Hours  `json:"hours"`          // the 学时 credited (by the unit's overlay, if any, before its daily cap)
	// OverlapDays are the record's (credited) days not credited because an overlapping record
	// already counted those calendar days.
	OverlapDays Days `json:"overlap_days,omitzero"`
	// RoundedDays is the half day sent but not credited because no overlay of the cadre's unit
	// credits half days (docs/rules.md “Half days”).
	RoundedDays Days `json:"rounded_days,omitzero"`
}

// SkippedRecord is a record that did not count, and why.
type SkippedRecord struct {
	RecordID string `json:"record_id"`
	Date     Date   `json:"date"`
	Reason   string `json:"reason"`
}

// skipReason says why r does not count toward req in window w as of asOf, "" when it counts.
// docs/rules.md §2 “What does not count: voided records; records whose assessment is failed (学时不予
// 认定); online hours toward centralized targets and centralized hours toward the online target.”
func skipReason(req Requirement, c Cadre, r Record, w Window, asOf Date) string {
	switch {
	case r.Status == StatusVoided || r.Void != nil:
		return ReasonVoided
	case r.Assessment == AssessmentFailed:
		return ReasonAssessmentFailed
	case r.CadreID != "" && c.ID != "" && r.CadreID != c.ID:
		return ReasonOtherCadre
	case r.Kind != req.Counts.Kind:
		return ReasonOtherKind
	case req.Counts.InstitutionType != "" && r.InstitutionType != req.Counts.InstitutionType:
		return reasonNotPrefix + req.Counts.InstitutionType
	}
	d := r.AttributionDate()
	if d.After(asOf) {
		return ReasonAfterAsOf
	}
	if !w.Contains(d) {
		return ReasonOtherWindow
	}
	return ""
}

// sortOut splits the records into those that count toward req in window w as of asOf and, when
// explain is set, an explanation listing the others with their reason (else nil).
func sortOut(req Requirement, c Cadre, records []Record, w Window, asOf Date, explain bool) ([]*Record, *Explanation) {
	var ex *Explanation
	if explain {
		ex = &Explanation{Counted: []CountedRecord{}, NotCounted: []SkippedRecord{}}
	}
	var in []*Record
	for i := range records {
		r := &records[i]
		if why := skipReason(req, c, *r, w, asOf); why != "" {
			if ex != nil {
				ex.NotCounted = append(ex.NotCounted, SkippedRecord{RecordID: r.ID, Date: r.AttributionDate(), Reason: why})
			}
			continue
		}
		in = append(in, r)
	}
	return in, ex
}

// creditDays returns the days the counting records credit and, when ex is not nil, lists them in
// ex (each with its credited days and 学时, CreditedHours under overlay ov); both lists of ex end
// up newest first.
//
// Centralized days are counted on the union of calendar days (docs/rules.md "One training, one
// count"), in half days (docs/rules.md "Half days"): records whose spans overlap form a cluster,
// and a cluster credits min(Σ days credited, calendar days in the union of its spans) — so a
// calendar day credits at most 1 day, two half days on one day credit 1 and a half day inside a
// full-day training nothing more. Each record brings CreditedDays (its days sent under an overlay
// with half_days, else rounded down to whole days). The credit goes to the records in order of
// start date (then end date, creation, id), each at most its own days, so a record entirely
// covered by earlier ones credits 0 days (and, toward a target of days only, is listed as not
// counted: overlap). 学时 add up in full. Online records credit no days.
func creditDays(req Requirement, in []*Record, ov *Overlay, ex *Explanation) (Days, error) {
	var days Days
	if req.Counts.Kind != KindCentralized {
		for _, r := range in {
			if ex == nil {
				break
			}
			h, err := CreditedHours(ov, *r)
			if err != nil {
				return Days{}, err
			}
			ex.Counted = append(ex.Counted, CountedRecord{RecordID: r.ID, Date: r.AttributionDate(), Hours: h})
		}
	} else {
		in = slices.Clone(in)
		slices.SortFunc(in, func(a, b *Record) int {
			return cmp.Or(a.StartDate.Compare(b.StartDate), a.EndDate.Compare(b.EndDate),
				a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
		for i := 0; i < len(in); {
			// One cluster: in[i:j], each starting on or before the latest end so far.
			var union, sent Days
			j, end := i, in[i].EndDate
			for ; j < len(in) && (j == i || !in[j].StartDate.After(end)); j++ {
				from := in[j].StartDate
				if j > i {
					from = end.AddDays(1)
				}
				if !in[j].EndDate.Before(from) {
					union = union.Plus(WholeDays(int64(from.DaysThrough(in[j].EndDate))))
				}
				if in[j].EndDate.After(end) {
					end = in[j].EndDate
				}
				var err error
				if sent, err = SumDays(sent, CreditedDays(ov, *in[j])); err != nil {
					return Days{}, err
				}
			}
			left := MinDays(sent, union)
			for _, r := range in[i:j] {
				own := CreditedDays(ov, *r)
				d := MinDays(own, left)
				left = left.Minus(d)
				var err error
				if days, err = SumDays(days, d); err != nil {
					return Days{}, err
				}
				if ex == nil {
					continue
				}
				if d.IsZero() && req.Target.Hours == nil {
					why := ReasonOverlap
					if own.IsZero() {
						why = ReasonHalfDay
					}
					ex.NotCounted = append(ex.NotCounted, SkippedRecord{RecordID: r.ID, Date: r.AttributionDate(), Reason: why})
					continue
				}
				h, err := CreditedHours(ov, *r)
				if err != nil {
					return Days{}, err
				}
				ex.Counted = append(ex.Counted, CountedRecord{RecordID: r.ID, Date: r.AttributionDate(), Days: ptr(d), Hours: h, OverlapDays: own.Minus(d), RoundedDays: r.Days.Minus(own)})
			}
			i = j
		}
	}
	if ex == nil {
		return days, nil
	}
	byDate := func(a, b Date, x, y string) int { return cmp.Or(b.Compare(a), cmp.Compare(x, y)) }
	slices.SortFunc(ex.Counted, func(a, b CountedRecord) int { return byDate(a.Date, b.Date, a.RecordID, b.RecordID) })
	slices.SortFunc(ex.NotCounted, func(a, b SkippedRecord) int { return byDate(a.Date, b.Date, a.RecordID, b.RecordID) })
	return days, nil
}

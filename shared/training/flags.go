package training

import (
	"cmp"
	"slices"
	"strings"
)

// Flag names an anomaly of a record, kept and shown rather than silently accepted or dropped
// (docs/rules.md "Anomalies: flags").
type Flag string

const (
	// FlagOverlapsRecord: a centralized record whose span shares a calendar day with another
	// centralized record of the cadre (the shared days count once).
	FlagOverlapsRecord Flag = "overlaps_record"
	// FlagOnlineDuringFullTime: online study dated inside a full-time (脱产) training of the cadre.
	FlagOnlineDuringFullTime Flag = "online_during_full_time"
	// FlagDailyOnlineOverCap: two or more online records of the cadre dated the same day, all
	// sources together, claim more 学时 than the policy's daily cap. They still count: one
	// completion may stand for study over several days, several on one day suggest a double report.
	FlagDailyOnlineOverCap Flag = "daily_online_over_cap"
	// FlagSameCourseTwoSources: another source reported the same course on the same dates.
	FlagSameCourseTwoSources Flag = "same_course_two_sources"
	// FlagLongSpan: a centralized record longer than the policy's long_span_days.
	FlagLongSpan Flag = "long_span"
)

// RecordFlags derives the flags of each of a cadre's records from all of them. Voided records
// neither get flags nor cause them. The result maps record id to its flags, in the order of the
// constants above; records without flags are absent.
func (rules *Rules) RecordFlags(records []Record) map[string][]Flag {
	return rules.recordFlags(records, Window{})
}

// recordFlags is RecordFlags over the records attributed in only (zero: all). It works on
// pointers into records: a Record is large, and an evaluation derives the flags every time.
func (rules *Rules) recordFlags(records []Record, only Window) map[string][]Flag {
	var live, central, online []*Record
	for i := range records {
		r := &records[i]
		if r.Status == StatusVoided || r.Void != nil || only != (Window{}) && !only.Contains(r.AttributionDate()) {
			continue
		}
		live = append(live, r)
		if r.Kind == KindCentralized && !r.StartDate.IsZero() && !r.EndDate.IsZero() {
			central = append(central, r)
		} else if r.Kind == KindOnline {
			online = append(online, r)
		}
	}
	set := map[string]map[Flag]bool{}
	add := func(id string, f Flag) {
		if set[id] == nil {
			set[id] = map[Flag]bool{}
		}
		set[id][f] = true
	}

	slices.SortFunc(central, func(a, b *Record) int {
		return cmp.Or(a.StartDate.Compare(b.StartDate), a.EndDate.Compare(b.EndDate), cmp.Compare(a.ID, b.ID))
	})
	for i, r := range central {
		for _, o := range central[i+1:] {
			if o.StartDate.After(r.EndDate) {
				break
			}
			add(r.ID, FlagOverlapsRecord)
			add(o.ID, FlagOverlapsRecord)
		}
		if r.StartDate.DaysThrough(r.EndDate) > rules.policyOrFirst(r.EndDate).Plausibility.LongSpanDays {
			add(r.ID, FlagLongSpan)
		}
	}

	perDay, nPerDay := map[Date]Hours{}, map[Date]int{}
	for _, r := range online {
		d := r.AttributionDate()
		if r.Assessment != AssessmentFailed {
			perDay[d] += r.Hours
			nPerDay[d]++
		}
		for _, ft := range central {
			if ft.FullTime && (Window{ft.StartDate, ft.EndDate}).Contains(d) {
				add(r.ID, FlagOnlineDuringFullTime)
				break
			}
		}
	}
	for _, r := range online {
		d := r.AttributionDate()
		if nPerDay[d] > 1 && perDay[d] > rules.policyOrFirst(d).Plausibility.OnlineDailyCapHours {
			add(r.ID, FlagDailyOnlineOverCap)
		}
	}

	byCourse := map[string][]*Record{}
	for _, r := range live {
		if k := courseKey(*r); k != "" {
			byCourse[k] = append(byCourse[k], r)
		}
	}
	for _, rs := range byCourse {
		for i, r := range rs {
			for _, o := range rs[i+1:] {
				if o.Source != r.Source {
					add(r.ID, FlagSameCourseTwoSources)
					add(o.ID, FlagSameCourseTwoSources)
				}
			}
		}
	}

	out := map[string][]Flag{}
	for id, fs := range set {
		for _, f := range []Flag{FlagOverlapsRecord, FlagOnlineDuringFullTime, FlagDailyOnlineOverCap, FlagSameCourseTwoSources, FlagLongSpan} {
			if fs[f] {
				out[id] = append(out[id], f)
			}
		}
	}
	return out
}

// courseKey identifies "the same course on the same dates": the kind, the dates, and the course
// id (or, without one, the trimmed title). "" when the record names no course.
func courseKey(r Record) string {
	course := strings.TrimSpace(r.CourseID)
	if course == "" {
		course = "title:" + strings.TrimSpace(r.CourseTitle)
		if course == "title:" {
			return ""
		}
	}
	dates := r.AttributionDate().String()
	if r.Kind == KindCentralized {
		dates = r.StartDate.String() + "/" + r.EndDate.String()
	}
	return string(r.Kind) + "\x00" + dates + "\x00" + course
}

// SameTraining reports whether a and b are the same training reported twice: the same cadre,
// kind, course and dates (centralized records only; online study of one course on one day may
// well be several sessions).
func SameTraining(a, b Record) bool {
	return a.Kind == KindCentralized && a.CadreID == b.CadreID && courseKey(a) != "" && courseKey(a) == courseKey(b)
}

// ReplacedReport returns the id of the record of recs that r replaces as a later report of the same
// training (docs/rules.md “One training, one count”): an active record of r's source under another
// id that is SameTraining as r; "" when there is none. The API's writes and the importer both ask it.
func ReplacedReport(recs []Record, r Record) string {
	for _, e := range recs {
		if e.ID != r.ID && e.Source == r.Source && e.Status == StatusActive && SameTraining(e, r) {
			return e.ID
		}
	}
	return ""
}

// countFlags counts, per flag, the flagged records attributed in w on or before asOf, of the
// records attributed in read (the records an evaluation reads).
func (rules *Rules) countFlags(records []Record, read, w Window, asOf Date) map[Flag]int {
	flags := rules.recordFlags(records, read)
	var out map[Flag]int
	for _, r := range records {
		d := r.AttributionDate()
		if d.After(asOf) || !w.Contains(d) {
			continue
		}
		for _, f := range flags[r.ID] {
			if out == nil {
				out = map[Flag]int{}
			}
			out[f]++
		}
	}
	return out
}

// policyOrFirst is the policy in force on d, or the first one before it.
func (rules *Rules) policyOrFirst(d Date) *Policy {
	if p, err := rules.PolicyFor(d); err == nil {
		return p
	}
	return rules.Policies[0]
}

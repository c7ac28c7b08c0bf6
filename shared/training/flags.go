package training

import (
	"cmp"
	"hash/maphash"
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

// flagOrder is the order of a record's flags: the constants above.
var flagOrder = [...]Flag{FlagOverlapsRecord, FlagOnlineDuringFullTime, FlagDailyOnlineOverCap, FlagSameCourseTwoSources, FlagLongSpan}

// flagSet is a set of flags, bit i for flagOrder[i].
type flagSet uint8

const (
	bitOverlapsRecord flagSet = 1 << iota
	bitOnlineDuringFullTime
	bitDailyOnlineOverCap
	bitSameCourseTwoSources
	bitLongSpan
)

// list is the set's flags in flagOrder; nil when empty.
func (fs flagSet) list() []Flag {
	var out []Flag
	for i, f := range flagOrder {
		if fs&(1<<i) != 0 {
			out = append(out, f)
		}
	}
	return out
}

// RecordFlags derives the flags of each of a cadre's records from all of them. Voided records
// neither get flags nor cause them. The result maps record id to its flags, in the order of the
// constants above; records without flags are absent.
func (rules *Rules) RecordFlags(records []Record) map[string][]Flag {
	sets := rules.recordFlags(records, Window{})
	byID := map[string]flagSet{}
	for i, fs := range sets {
		if fs != 0 {
			byID[records[i].ID] |= fs
		}
	}
	out := make(map[string][]Flag, len(byID))
	for id, fs := range byID {
		out[id] = fs.list()
	}
	return out
}

// recordFlags returns the flags of records[i] at index i, derived from the records attributed in
// only (zero: all); records outside it get none. An evaluation derives the flags every time, so
// this sorts and sweeps (O(n log n)) instead of comparing pairs or keying maps by id, and works
// on pointers into records (a Record is large).
func (rules *Rules) recordFlags(records []Record, only Window) []flagSet {
	sets := make([]flagSet, len(records))
	var live, central, online []int
	day := make([]int64, len(records)) // attribution dates (ord)
	for i := range records {
		r := &records[i]
		d := r.AttributionDate()
		if r.Status == StatusVoided || r.Void != nil || only != (Window{}) && !only.Contains(d) {
			continue
		}
		day[i] = d.ord()
		live = append(live, i)
		if r.Kind == KindCentralized && !r.StartDate.IsZero() && !r.EndDate.IsZero() {
			central = append(central, i)
		} else if r.Kind == KindOnline {
			online = append(online, i)
		}
	}

	// Centralized spans sharing a day. Sorted by start (then end), a span overlaps a later one iff
	// the next one starts on or before its end, and an earlier one iff the latest end before it
	// reaches its start.
	start := make([]int64, len(central))
	for k, i := range central {
		start[k] = records[i].StartDate.ord()
	}
	byStart := make([]int, len(central)) // positions in central, sorted
	for k := range byStart {
		byStart[k] = k
	}
	slices.SortFunc(byStart, func(a, b int) int {
		return cmp.Or(cmp.Compare(start[a], start[b]), cmp.Compare(day[central[a]], day[central[b]]))
	})
	var maxEnd int64
	var ftStart, ftMaxEnd []int64 // full-time spans by start, with the latest end so far
	for k, p := range byStart {
		i := central[p]
		r := &records[i]
		s, e := start[p], day[i]
		if k > 0 && s <= maxEnd {
			sets[i] |= bitOverlapsRecord
		}
		if k+1 < len(byStart) && start[byStart[k+1]] <= e {
			sets[i] |= bitOverlapsRecord
		}
		if k == 0 || e > maxEnd {
			maxEnd = e
		}
		if r.StartDate.DaysThrough(r.EndDate) > rules.policyOrFirst(r.EndDate).Plausibility.LongSpanDays {
			sets[i] |= bitLongSpan
		}
		if r.FullTime {
			if n := len(ftMaxEnd); n > 0 && ftMaxEnd[n-1] > e {
				e = ftMaxEnd[n-1]
			}
			ftStart, ftMaxEnd = append(ftStart, s), append(ftMaxEnd, e)
		}
	}

	// Online study inside a full-time span: the last full-time span starting on or before the day
	// tells (its latest end so far).
	if len(ftStart) > 0 {
		for _, i := range online {
			k, _ := slices.BinarySearch(ftStart, day[i]+1) // k: the first span starting after the day
			if k > 0 && ftMaxEnd[k-1] >= day[i] {
				sets[i] |= bitOnlineDuringFullTime
			}
		}
	}

	// Several online records on one day over the daily cap: by day, summed over the day's run.
	slices.SortFunc(online, func(a, b int) int { return cmp.Compare(day[a], day[b]) })
	for k := 0; k < len(online); {
		end := k
		var sum Hours
		n := 0
		for ; end < len(online) && day[online[end]] == day[online[k]]; end++ {
			if r := &records[online[end]]; r.Assessment != AssessmentFailed {
				sum += r.Hours
				n++
			}
		}
		if n > 1 && sum > rules.policyOrFirst(records[online[k]].AttributionDate()).Plausibility.OnlineDailyCapHours {
			for _, i := range online[k:end] {
				sets[i] |= bitDailyOnlineOverCap
			}
		}
		k = end
	}

	// The same course on the same dates from two sources: grouped by course key (sorted by its
	// hash, then the key), every record of a key reported by more than one source.
	keys := make([]courseKeyT, len(records))
	hash := make([]uint64, len(records))
	named := live[:0:0]
	for _, i := range live {
		if k, ok := courseKey(&records[i]); ok {
			keys[i], hash[i] = k, maphash.Comparable(courseSeed, k)
			named = append(named, i)
		}
	}
	slices.SortFunc(named, func(a, b int) int {
		if c := cmp.Compare(hash[a], hash[b]); c != 0 {
			return c
		}
		return keys[a].compare(keys[b])
	})
	for k := 0; k < len(named); {
		end, mixed := k+1, false
		for ; end < len(named) && keys[named[end]] == keys[named[k]]; end++ {
			mixed = mixed || records[named[end]].Source != records[named[k]].Source
		}
		if mixed {
			for _, i := range named[k:end] {
				sets[i] |= bitSameCourseTwoSources
			}
		}
		k = end
	}
	return sets
}

// courseSeed seeds the hash that groups course keys.
var courseSeed = maphash.MakeSeed()

// courseKeyT identifies "the same course on the same dates": the kind, the dates (start and end
// of a centralized record, the attribution date twice otherwise) and the trimmed course id or,
// without one, the trimmed title (title set). A course id "title:X" names the same course as the
// title X, as when the key was one string.
type courseKeyT struct {
	kind     Kind
	from, to Date
	title    bool
	course   string
}

func (k courseKeyT) compare(o courseKeyT) int {
	return cmp.Or(strings.Compare(string(k.kind), string(o.kind)), k.from.Compare(o.from), k.to.Compare(o.to),
		boolCmp(k.title, o.title), strings.Compare(k.course, o.course))
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// courseKey is r's course key; ok is false when the record names no course.
func courseKey(r *Record) (courseKeyT, bool) {
	k := courseKeyT{kind: r.Kind, course: strings.TrimSpace(r.CourseID)}
	if k.course == "" {
		k.title, k.course = true, strings.TrimSpace(r.CourseTitle)
		if k.course == "" {
			return courseKeyT{}, false
		}
	} else if t, ok := strings.CutPrefix(k.course, "title:"); ok {
		k.title, k.course = true, t
	}
	k.from = r.AttributionDate()
	k.to = k.from
	if r.Kind == KindCentralized {
		k.from, k.to = r.StartDate, r.EndDate
	}
	return k, true
}

// SameTraining reports whether a and b are the same training reported twice: the same cadre,
// kind, course and dates (centralized records only; online study of one course on one day may
// well be several sessions).
func SameTraining(a, b Record) bool {
	if a.Kind != KindCentralized || a.CadreID != b.CadreID {
		return false
	}
	ka, ok := courseKey(&a)
	kb, okb := courseKey(&b)
	return ok && okb && ka == kb
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
	sets := rules.recordFlags(records, read)
	var out map[Flag]int
	for i := range records {
		if sets[i] == 0 {
			continue
		}
		d := records[i].AttributionDate()
		if d.After(asOf) || !w.Contains(d) {
			continue
		}
		if out == nil {
			out = map[Flag]int{}
		}
		for b, f := range flagOrder {
			if sets[i]&(1<<b) != 0 {
				out[f]++
			}
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

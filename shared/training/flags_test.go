package training

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestRecordFlagsMatchPairwise: docs/rules.md "Anomalies: flags" — the flags derived by sorting
// and sweeping are those of the definition applied pair by pair (flagsPairwise below, the
// implementation before the sweep), on random archives dense in every anomaly: overlapping and
// long spans, full-time spans around online days, several online records on a day around the
// daily cap (failed ones included), one course reported by one or two sources, by course id, by
// title or by a course id written "title:…", voided records and records outside the window read.
func TestRecordFlagsMatchPairwise(t *testing.T) {
	rules := DefaultRules()
	seen := map[Flag]int{}
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 3))
		recs := randomArchive(r, 5+r.IntN(120))
		read := Window{}
		if seed%2 == 1 {
			from := MustDate("2025-01-01").AddDays(r.IntN(200))
			read = Window{from, from.AddDays(r.IntN(400))}
		}
		want := flagsPairwise(rules, recs, read)
		for _, fs := range want {
			for _, f := range fs {
				seen[f]++
			}
		}
		sets := rules.recordFlags(recs, read)
		got := map[string][]Flag{}
		for i, fs := range sets {
			if fs != 0 {
				got[recs[i].ID] = fs.list()
			}
		}
		if !maps.EqualFunc(got, want, slices.Equal) {
			for id := range want {
				if !slices.Equal(got[id], want[id]) {
					t.Errorf("seed %d: %s flags=%v, want %v", seed, id, got[id], want[id])
				}
			}
			for id := range got {
				if want[id] == nil {
					t.Errorf("seed %d: %s flags=%v, want none", seed, id, got[id])
				}
			}
		}
		if read == (Window{}) {
			if pub := rules.RecordFlags(recs); !maps.EqualFunc(pub, want, slices.Equal) {
				t.Errorf("seed %d: RecordFlags=%v, want %v", seed, pub, want)
			}
		}
		// countFlags counts what the pairwise flags say, for the records of w on or before asOf.
		w, asOf := Window{MustDate("2025-01-01"), MustDate("2025-12-31")}, MustDate("2025-09-30")
		var wantCount map[Flag]int
		for _, rec := range recs {
			if d := rec.AttributionDate(); d.After(asOf) || !w.Contains(d) {
				continue
			}
			for _, f := range want[rec.ID] {
				if wantCount == nil {
					wantCount = map[Flag]int{}
				}
				wantCount[f]++
			}
		}
		if got := rules.countFlags(recs, read, w, asOf); !maps.Equal(got, wantCount) {
			t.Errorf("seed %d: countFlags=%v, want %v", seed, got, wantCount)
		}
	}
	for _, f := range flagOrder {
		if seen[f] < 20 {
			t.Errorf("flag %s occurs %d times in the random archives: too few to test it", f, seen[f])
		}
	}
	t.Logf("flags in the random archives: %v", seen)
}

// randomArchive is n records of one cadre within about a year, crowded so that every flag occurs.
func randomArchive(r *rand.Rand, n int) []Record {
	sources := []string{"platform/a", "platform/b", "hr/k"}
	courses := []string{"cls-1", " cls-1 ", "cls-2", "", "title:信访条例"}
	titles := []string{"信访条例", " 信访条例", "", "党史"}
	var recs []Record
	for i := range n {
		d := MustDate("2025-01-01").AddDays(r.IntN(365))
		rec := Record{ID: fmt.Sprintf("r%03d", i), CadreID: "c-001", Status: StatusActive, Source: sources[r.IntN(len(sources))],
			CourseID: courses[r.IntN(len(courses))], CourseTitle: titles[r.IntN(len(titles))], Hours: Hours(100 * (1 + r.IntN(12)))}
		switch r.IntN(3) {
		case 0:
			rec.Kind, rec.StudiedOn = KindOnline, MustDate("2025-03-01").AddDays(r.IntN(30))
		case 1:
			rec.Kind, rec.CompletedAt = KindOnline, d.t().Add(-8*3600e9) // attributed by completed_at in UTC+8
		default:
			days := 1 + r.IntN(5)
			if r.IntN(15) == 0 {
				days = 150 + r.IntN(100) // long span
			}
			rec.Kind, rec.StartDate, rec.EndDate, rec.Days, rec.FullTime = KindCentralized, d.AddDays(-(days - 1)), d, WholeDays(int64(days)), r.IntN(2) == 0
			if r.IntN(20) == 0 {
				rec.StartDate = Date{} // no span: neither overlaps nor counts as full-time
			}
		}
		if r.IntN(8) == 0 {
			rec.Assessment = AssessmentFailed
		}
		switch r.IntN(12) {
		case 0:
			rec.Status = StatusVoided
		case 1:
			rec.Void = &Voiding{Reason: "duplicate"}
		}
		if r.IntN(6) == 0 && len(recs) > 0 { // a twin of an earlier record, maybe from another source
			twin := recs[r.IntN(len(recs))]
			twin.ID, twin.Source = rec.ID, sources[r.IntN(len(sources))]
			rec = twin
		}
		recs = append(recs, rec)
	}
	return recs
}

// flagsPairwise is the definition of docs/rules.md "Anomalies: flags" applied pair by pair, with
// maps keyed by record id: the implementation before the sort-and-sweep one, kept as the
// reference it must agree with.
func flagsPairwise(rules *Rules, records []Record, only Window) map[string][]Flag {
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
	courseString := func(r Record) string {
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
	byCourse := map[string][]*Record{}
	for _, r := range live {
		if k := courseString(*r); k != "" {
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
		for _, f := range flagOrder {
			if fs[f] {
				out[id] = append(out[id], f)
			}
		}
	}
	return out
}

// TestSameTraining: docs/rules.md “One training, one count” — the same cadre, kind, course (id,
// or the title without one; trimmed) and dates; centralized only.
func TestSameTraining(t *testing.T) {
	base := Record{CadreID: "c", Kind: KindCentralized, CourseID: "cls-1", StartDate: MustDate("2025-03-01"), EndDate: MustDate("2025-03-03")}
	with := func(f func(*Record)) Record { r := base; f(&r); return r }
	for _, tc := range []struct {
		name string
		b    Record
		want bool
	}{
		{"identical", base, true},
		{"course id trimmed", with(func(r *Record) { r.CourseID = " cls-1\t" }), true},
		{"other course", with(func(r *Record) { r.CourseID = "cls-2" }), false},
		{"other cadre", with(func(r *Record) { r.CadreID = "d" }), false},
		{"other start", with(func(r *Record) { r.StartDate = MustDate("2025-03-02") }), false},
		{"other end", with(func(r *Record) { r.EndDate = MustDate("2025-03-04") }), false},
		{"online", with(func(r *Record) { r.Kind = KindOnline }), false},
		{"title only", with(func(r *Record) { r.CourseID, r.CourseTitle = "", "cls-1" }), false},
	} {
		if got := SameTraining(base, tc.b); got != tc.want {
			t.Errorf("%s: SameTraining=%v, want %v", tc.name, got, tc.want)
		}
	}
	a := with(func(r *Record) { r.CourseID, r.CourseTitle = "", " 信访条例 " })
	if b := with(func(r *Record) { r.CourseID, r.CourseTitle = "", "信访条例" }); !SameTraining(a, b) {
		t.Errorf("same title: not the same training")
	}
	if b := with(func(r *Record) { r.CourseID = "title:信访条例" }); !SameTraining(a, b) {
		t.Errorf(`course id "title:信访条例" and the title 信访条例: not the same training`)
	}
	if b := with(func(r *Record) { r.CourseID, r.CourseTitle = "", "" }); SameTraining(b, b) {
		t.Errorf("no course named: the same training")
	}
}

// BenchmarkEvaluateBusyCadre: one evaluation of a cadre as make load leaves one (~100 centralized
// 3-day classes from one platform ending in the last 60 days, every other one full-time, and 40
// online records of one day), the case where flag counting dominated (docs/benchmarks.md).
//
//	go test -run '^$' -bench EvaluateBusyCadre -benchmem ./shared/training/
func BenchmarkEvaluateBusyCadre(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	today := MustDate("2026-11-27")
	var recs []Record
	for i := range 100 {
		end := today.AddDays(-1 - r.IntN(60))
		recs = append(recs, Record{ID: fmt.Sprintf("c%03d", i), CadreID: "c-001", Kind: KindCentralized, Source: "platform/elearn-demo",
			FullTime: i%2 == 0, CourseID: fmt.Sprintf("cls-load-%d", i%50), StartDate: end.AddDays(-2), EndDate: end, Days: WholeDays(3),
			Hours: HoursOf(24), Status: StatusActive})
	}
	for i := range 40 {
		recs = append(recs, Record{ID: fmt.Sprintf("o%03d", i), CadreID: "c-001", Kind: KindOnline, Source: "hr/k", StudiedOn: today,
			CourseTitle: "《信访工作条例》解读", Hours: Hours(50 + 25*r.IntN(11)), Status: StatusActive})
	}
	c := cadreWith("principal_staff_1", "2020-01-01")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Evaluate(c, recs, today, computedAt); err != nil {
			b.Fatal(err)
		}
	}
}

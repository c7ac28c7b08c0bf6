package training

import (
	"slices"
	"testing"
	"time"
)

// span is an active centralized record from start to end with the given days and 学时.
func span(tb testing.TB, id, start, end string, days int, hours string) Record {
	tb.Helper()
	return Record{ID: id, CadreID: "c-001", Kind: KindCentralized, FullTime: true, StartDate: MustDate(start),
		EndDate: MustDate(end), Days: WholeDays(int64(days)), Hours: mustHours(tb, hours), Status: StatusActive, Source: "platform/p"}
}

func mustExplain(tb testing.TB, c Cadre, recs []Record, asOf string) Status {
	tb.Helper()
	st, err := DefaultRules().EvaluateExplained(c, recs, MustDate(asOf), computedAt)
	if err != nil {
		tb.Fatalf("EvaluateExplained(as_of %s): %v", asOf, err)
	}
	return st
}

// docs/rules.md "One training, one count": centralized days are counted on the union of calendar
// days per window; 学时 add up in full.
func TestEvaluateUnionOfDays(t *testing.T) {
	tests := []struct {
		name      string
		recs      []Record
		wantDays  int
		wantHours string
	}{
		{"SameSixDaysTwice", []Record{span(t, "a", "2025-03-02", "2025-03-07", 6, "45"), span(t, "b", "2025-03-02", "2025-03-07", 6, "45")}, 6, "90"},
		{"PartialOverlap", []Record{span(t, "a", "2025-03-01", "2025-03-10", 10, "10"), span(t, "b", "2025-03-06", "2025-03-15", 10, "10")}, 15, "20"},
		{"Contained", []Record{span(t, "a", "2025-03-01", "2025-03-10", 10, "10"), span(t, "b", "2025-03-04", "2025-03-05", 2, "4")}, 10, "14"},
		{"FewerDaysThanSpanStillAddUp", []Record{span(t, "a", "2025-03-01", "2025-03-10", 3, "10"), span(t, "b", "2025-03-05", "2025-03-06", 2, "4")}, 5, "14"},
		{"Disjoint", []Record{span(t, "a", "2025-03-01", "2025-03-06", 6, "10"), span(t, "b", "2025-03-07", "2025-03-12", 6, "10")}, 12, "20"},
		{"ChainOfThree", []Record{span(t, "a", "2025-03-01", "2025-03-05", 5, "1"), span(t, "b", "2025-03-05", "2025-03-09", 5, "1"), span(t, "c", "2025-03-09", "2025-03-10", 2, "1")}, 10, "3"},
		{"VoidedDoesNotCover", []Record{span(t, "a", "2025-03-02", "2025-03-07", 6, "45"), func() Record {
			r := span(t, "b", "2025-03-02", "2025-03-07", 6, "45")
			r.Status = StatusVoided
			return r
		}()}, 6, "45"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := findReq(t, mustExplain(t, township, tc.recs, "2025-12-31"), "centralized_annual")
			if *rs.Achieved.Days != WholeDays(int64(tc.wantDays)) || *rs.Achieved.Hours != mustHours(t, tc.wantHours) {
				t.Errorf("achieved=%s, want %dd/%sh", measures(rs.Achieved), tc.wantDays, tc.wantHours)
			}
			var credited Days
			for _, c := range rs.Explain.Counted {
				credited = credited.Plus(*c.Days)
			}
			if credited != WholeDays(int64(tc.wantDays)) {
				t.Errorf("explained days %s ≠ achieved %d: %+v", credited, tc.wantDays, rs.Explain.Counted)
			}
		})
	}
}

// docs/rules.md "A status that explains itself": every record is listed, counted or with its reason.
func TestEvaluateExplain(t *testing.T) {
	failed := span(t, "failed", "2025-05-01", "2025-05-03", 3, "24")
	failed.Assessment = AssessmentFailed
	voided := span(t, "voided", "2025-06-01", "2025-06-03", 3, "24")
	voided.Status = StatusVoided
	school := span(t, "school", "2025-03-01", "2025-03-10", 10, "80")
	school.InstitutionType = "party_school"
	dup := span(t, "t-dup", "2025-03-01", "2025-03-10", 10, "80") // after "school" in credit order
	dup.InstitutionType = "party_school"
	other := span(t, "other", "2025-07-01", "2025-07-05", 5, "40")
	other.InstitutionType = "university"
	later := span(t, "later", "2025-11-01", "2025-11-02", 2, "16")
	later.InstitutionType = "party_school"
	recs := []Record{failed, voided, school, dup, other, later,
		span(t, "lastyear", "2024-03-01", "2024-03-02", 2, "16"),
		online(t, "web", "2025-02-01", "3")}
	st := mustExplain(t, countyLead, recs, "2025-10-31")
	lead := findReq(t, st, "leadership_party_school_5y").Explain
	wantSkip := map[string]string{"failed": ReasonAssessmentFailed, "voided": ReasonVoided, "t-dup": ReasonOverlap,
		"other": "not_party_school", "later": ReasonAfterAsOf, "web": ReasonOtherKind, "lastyear": "not_party_school"}
	got := map[string]string{}
	for _, s := range lead.NotCounted {
		got[s.RecordID] = s.Reason
	}
	for id, why := range wantSkip {
		if got[id] != why {
			t.Errorf("leadership: %s reason=%q, want %q (all: %v)", id, got[id], why, got)
		}
	}
	if len(lead.Counted) != 1 || lead.Counted[0].RecordID != "school" || *lead.Counted[0].Days != WholeDays(10) {
		t.Errorf("leadership counted=%+v, want school with 10 days", lead.Counted)
	}
	annual := findReq(t, mustExplain(t, township, recs, "2025-10-31"), "centralized_annual").Explain
	if plain := findReq(t, mustEvaluate(t, township, recs, "2025-10-31"), "centralized_annual"); plain.Explain != nil {
		t.Errorf("Evaluate explained %+v; only EvaluateExplained does", plain.Explain)
	}
	for _, s := range annual.NotCounted {
		if s.RecordID == "lastyear" && s.Reason != ReasonOtherWindow {
			t.Errorf("lastyear reason=%q, want other_window", s.Reason)
		}
	}
	// dup counts its 学时 toward a target with an 学时 measure, with its days marked as overlap.
	for _, c := range annual.Counted {
		if c.RecordID == "t-dup" && (!c.Days.IsZero() || c.OverlapDays != WholeDays(10)) {
			t.Errorf("dup counted %+v, want 0 days and 10 overlap days", c)
		}
	}
}

// docs/rules.md "Anomalies: flags".
func TestRecordFlags(t *testing.T) {
	ft := span(t, "ft", "2025-03-01", "2025-03-10", 10, "80")
	ft.CourseID = "cls-1"
	over := span(t, "over", "2025-03-10", "2025-03-12", 3, "20")
	twin := ft
	twin.ID, twin.Source = "twin", "platform/q"
	long := span(t, "long", "2025-01-01", "2025-08-01", 100, "100")
	long.FullTime = false
	web := online(t, "web", "2025-03-05", "2")
	w1, w2 := online(t, "w1", "2025-04-01", "5"), online(t, "w2", "2025-04-01", "3.01")
	alone := online(t, "alone", "2025-04-02", "40")
	voided := span(t, "voided", "2025-03-01", "2025-03-10", 10, "80")
	voided.Status = StatusVoided
	got := DefaultRules().RecordFlags([]Record{ft, over, twin, long, web, w1, w2, alone, voided})
	want := map[string][]Flag{
		"ft":   {FlagOverlapsRecord, FlagSameCourseTwoSources},
		"twin": {FlagOverlapsRecord, FlagSameCourseTwoSources},
		"over": {FlagOverlapsRecord},
		"long": {FlagOverlapsRecord, FlagLongSpan},
		"web":  {FlagOnlineDuringFullTime},
		"w1":   {FlagDailyOnlineOverCap},
		"w2":   {FlagDailyOnlineOverCap},
	}
	for id, fs := range want {
		if !slices.Equal(got[id], fs) {
			t.Errorf("%s flags=%v, want %v", id, got[id], fs)
		}
	}
	for _, id := range []string{"alone", "voided"} {
		if len(got[id]) != 0 {
			t.Errorf("%s flags=%v, want none", id, got[id])
		}
	}
	st := mustEvaluate(t, township, []Record{ft, over, twin, long, web, w1, w2, alone, voided}, "2025-12-31")
	if st.Flags[FlagOverlapsRecord] != 4 || st.Flags[FlagDailyOnlineOverCap] != 2 || st.Flags[FlagLongSpan] != 1 {
		t.Errorf("status flags=%v", st.Flags)
	}
}

// docs/rules.md "Plausibility and bounds".
func TestCheckPlausible(t *testing.T) {
	today := MustDate("2026-11-27")
	tests := []struct {
		name  string
		r     Record
		field string // "" = valid
	}{
		{"Ok", span(t, "a", "2026-03-01", "2026-04-30", 61, "320"), ""},
		{"TenYears", span(t, "a", "2014-01-01", "2024-01-13", 3665, "100"), "end_date"},
		{"SpanOverMax", span(t, "a", "2025-01-01", "2026-01-02", 300, "100"), "end_date"},
		{"SpanAtMax", span(t, "a", "2025-01-01", "2026-01-01", 300, "100"), ""},
		{"EndBeforeFirstPolicy", span(t, "a", "2022-12-01", "2022-12-05", 5, "40"), "end_date"},
		{"StartBeforeFirstPolicyIsFine", span(t, "a", "2022-12-28", "2023-01-05", 9, "40"), ""},
		{"EndTomorrowIsGrace", span(t, "a", "2026-11-20", "2026-11-28", 9, "40"), ""},
		{"EndTooFar", span(t, "a", "2026-11-20", "2026-11-29", 9, "40"), "end_date"},
		{"StudiedOnFuture", online(t, "w", "2027-01-01", "1"), "studied_on"},
		{"StudiedOnOld", online(t, "w", "2020-01-01", "1"), "studied_on"},
		{"CompletedAtFuture", Record{Kind: KindOnline, Hours: 100, CompletedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, CST)}, "completed_at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := DefaultRules().CheckPlausible(tc.r, today)
			if tc.field == "" && len(f) > 0 || tc.field != "" && (len(f) != 1 || f[0].Field != tc.field) {
				t.Errorf("CheckPlausible=%v, want an error on %q only", f, tc.field)
			}
		})
	}
}

// docs/rules.md "Plausibility and bounds": as_of must be evaluable and day counts never overflow.
func TestCheckAsOfAndBigSpans(t *testing.T) {
	for _, tc := range []struct {
		asOf string
		bad  bool
	}{{"2022-12-31", true}, {"2023-01-01", false}, {"9997-12-31", false}, {"9998-01-01", true}, {"9999-12-31", true}} {
		f := DefaultRules().CheckAsOf(MustDate(tc.asOf))
		if (len(f) > 0) != tc.bad || len(f) > 0 && f[0].Field != "as_of" {
			t.Errorf("CheckAsOf(%s)=%v, want bad=%v on as_of", tc.asOf, f, tc.bad)
		}
	}
	if _, err := Evaluate(township, nil, MustDate("9999-12-31"), computedAt); ErrorCode(err) != EINVALID {
		t.Errorf("Evaluate(9999-12-31) err=%v, want EINVALID", err)
	}
	if n := (Date{Year: 1, Month: time.January, Day: 1}).DaysThrough(MustDate("9999-12-31")); n != 3652059 {
		t.Errorf("DaysThrough(0001-01-01, 9999-12-31)=%d, want 3652059", n)
	}
}

// docs/rules.md "Leadership terms": a closed window keeps the requirement of a cadre who left;
// a cadre in office part of a window owes a pro-rated target (rounded up).
func TestEvaluateLeadershipTerms(t *testing.T) {
	withTerms := func(terms ...LeadershipTerm) Cadre {
		c := cadreWith("county_deputy", "2020-01-01")
		c.LeadershipHistory = terms
		c.LeadershipMember = LeadershipMemberOn(c, MustDate("2028-06-01"))
		return c
	}
	term := func(from, to string) LeadershipTerm {
		t := LeadershipTerm{AppointedOn: MustDate(from)}
		if to != "" {
			t.LeftOn = MustDate(to)
		}
		return t
	}
	tests := []struct {
		name       string
		c          Cadre
		asOf       string
		wantTarget int // 0 = not applicable
	}{
		{"WholePeriod", withTerms(term("2020-01-01", "")), "2027-12-31", 60},
		{"LeftInWindowStillOwesClosedWindow", withTerms(term("2020-01-01", "2028-01-01")), "2027-12-31", 60},
		{"LeftBeforeNextWindow", withTerms(term("2020-01-01", "2028-01-01")), "2028-06-01", 0},
		{"AppointedAMonthBeforeClose", withTerms(term("2027-12-01", "")), "2027-12-31", 2}, // ⌈60·31/1826⌉
		{"HalfPeriod", withTerms(term("2025-07-02", "")), "2027-12-31", 30},                // ⌈60·913/1826⌉
		{"NotYetAppointed", withTerms(term("2027-12-01", "")), "2027-11-30", 0},
		{"TwoTerms", withTerms(term("2023-01-01", "2024-01-01"), term("2026-01-01", "")), "2027-12-31", 36}, // ⌈60·(365+730)/1826⌉
		{"LegacyFlag", countyLead, "2027-12-31", 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := mustEvaluate(t, tc.c, nil, tc.asOf)
			var got *RequirementStatus
			for i := range st.Requirements {
				if st.Requirements[i].ID == "leadership_party_school_5y" {
					got = &st.Requirements[i]
				}
			}
			switch {
			case tc.wantTarget == 0 && got != nil:
				t.Errorf("leadership requirement reported, want not applicable: %+v", got.Target)
			case tc.wantTarget != 0 && got == nil:
				t.Errorf("leadership requirement not reported, want target %d", tc.wantTarget)
			case got != nil && *got.Target.Days != WholeDays(int64(tc.wantTarget)):
				t.Errorf("target=%s days, want %d", *got.Target.Days, tc.wantTarget)
			}
		})
	}
}

// docs/rules.md "One training, one count", “The same training under a new event id”: the record a
// new report replaces is an active centralized record of the same source, cadre, course and dates
// under another id (the API's writes and the importer both ask ReplacedReport).
func TestReplacedReport(t *testing.T) {
	r := span(t, "new", "2025-03-02", "2025-03-07", 6, "45")
	r.CourseTitle = "中青年干部培训班"
	same := func(id string, change func(*Record)) Record {
		e := r
		e.ID = id
		if change != nil {
			change(&e)
		}
		return e
	}
	for _, tc := range []struct {
		name string
		recs []Record
		want string
	}{
		{"SameTraining", []Record{same("old", nil)}, "old"},
		{"ItselfOnly", []Record{same("new", nil)}, ""},
		{"OtherSource", []Record{same("old", func(e *Record) { e.Source = "platform/q" })}, ""},
		{"Voided", []Record{same("old", func(e *Record) { e.Status = StatusVoided })}, ""},
		{"OtherDates", []Record{same("old", func(e *Record) { e.EndDate = MustDate("2025-03-08") })}, ""},
		{"OtherCourse", []Record{same("old", func(e *Record) { e.CourseTitle = "另一个班" })}, ""},
		{"OtherCadre", []Record{same("old", func(e *Record) { e.CadreID = "c-002" })}, ""},
		{"FirstActiveMatch", []Record{same("voided", func(e *Record) { e.Status = StatusVoided }), same("old", nil)}, "old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReplacedReport(tc.recs, r); got != tc.want {
				t.Fatalf("ReplacedReport = %q, want %q", got, tc.want)
			}
		})
	}
	online := r
	online.Kind = KindOnline
	if got := ReplacedReport([]Record{same("old", func(e *Record) { e.Kind = KindOnline })}, online); got != "" {
		t.Fatalf("online study was matched: %q", got)
	}
}

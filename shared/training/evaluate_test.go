package training

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

var computedAt = time.Date(2026, 1, 1, 2, 0, 3, 0, CST)

func mustHours(tb testing.TB, s string) Hours {
	tb.Helper()
	h, err := ParseHours(s)
	if err != nil {
		tb.Fatalf("ParseHours(%q): %v", s, err)
	}
	return h
}

// cadreWith returns a cadre whose rank history is the given (rank, effective date) pairs.
func cadreWith(pairs ...string) Cadre {
	c := Cadre{ID: "c-001"}
	for i := 0; i+1 < len(pairs); i += 2 {
		c.RankHistory = append(c.RankHistory, RankChange{Rank: pairs[i], EffectiveOn: MustDate(pairs[i+1])})
		c.Rank = pairs[i]
	}
	return c
}

var (
	township   = cadreWith("principal_staff_1", "2020-01-01")
	county     = cadreWith("county_deputy", "2020-01-01")
	countyLead = func() Cadre { c := cadreWith("县处级正职", "2020-01-01"); c.LeadershipMember = true; return c }()
)

// central is an active centralized record ending on end, with the given days and 学时.
func central(tb testing.TB, id, end string, days int, hours string) Record {
	tb.Helper()
	e := MustDate(end)
	return Record{ID: id, CadreID: "c-001", Kind: KindCentralized, StartDate: e.AddDays(-(days - 1)),
		EndDate: e, Days: WholeDays(int64(days)), Hours: mustHours(tb, hours), Status: StatusActive}
}

// online is an active online self-study record studied on the given date.
func online(tb testing.TB, id, on, hours string) Record {
	tb.Helper()
	return Record{ID: id, CadreID: "c-001", Kind: KindOnline, StudiedOn: MustDate(on),
		Hours: mustHours(tb, hours), Status: StatusActive}
}

func mustEvaluate(tb testing.TB, c Cadre, recs []Record, asOf string) Status {
	tb.Helper()
	st, err := Evaluate(c, recs, MustDate(asOf), computedAt)
	if err != nil {
		tb.Fatalf("Evaluate(as_of %s): %v", asOf, err)
	}
	return st
}

func findReq(tb testing.TB, st Status, id string) RequirementStatus {
	tb.Helper()
	for _, r := range st.Requirements {
		if r.ID == id {
			return r
		}
	}
	tb.Fatalf("requirement %s not reported; got %v", id, reqIDs(st))
	return RequirementStatus{}
}

func reqIDs(st Status) []string {
	var ids []string
	for _, r := range st.Requirements {
		ids = append(ids, r.ID)
	}
	return ids
}

// measures renders Measures compactly, "-" for an absent measure: "12d/90h", "-/50h".
func measures(m Measures) string {
	d, h := "-", "-"
	if m.Days != nil {
		d = fmt.Sprintf("%sd", *m.Days)
	}
	if m.Hours != nil {
		h = m.Hours.String() + "h"
	}
	return d + "/" + h
}

func TestRankOn(t *testing.T) {
	c := cadreWith("county_deputy", "2021-03-01", "principal_staff_1", "2025-07-01", "township_principal", "2026-01-01")
	for _, tc := range []struct {
		name string
		c    Cadre
		d    string
		want string
	}{
		{"BeforeFirstUsesFirst", c, "2020-01-01", "county_deputy"},
		{"OnFirst", c, "2021-03-01", "county_deputy"},
		{"DayBeforeChange", c, "2025-06-30", "county_deputy"},
		{"OnChange", c, "2025-07-01", "principal_staff_1"},
		{"AfterLast", c, "2030-01-01", "township_principal"},
		{"NoHistory", Cadre{Rank: "clerk"}, "2025-01-01", ""},
		{"UnsortedHistory", Cadre{RankHistory: []RankChange{
			{Rank: "b", EffectiveOn: MustDate("2025-01-01")},
			{Rank: "a", EffectiveOn: MustDate("2020-01-01")},
		}}, "2024-01-01", "a"},
		{"UnsortedBeforeAll", Cadre{RankHistory: []RankChange{
			{Rank: "b", EffectiveOn: MustDate("2025-01-01")},
			{Rank: "a", EffectiveOn: MustDate("2020-01-01")},
		}}, "2019-01-01", "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := RankOn(tc.c, MustDate(tc.d)), tc.want; got != want {
				t.Fatalf("RankOn(%s)=%q, want %q", tc.d, got, want)
			}
		})
	}
}

// Requirement-level cases: one requirement of one cadre as of one date.
func TestEvaluateRequirement(t *testing.T) {
	failed := func(r Record) Record { r.Assessment = AssessmentFailed; return r }
	passed := func(r Record) Record { r.Assessment = AssessmentPassed; return r }
	voided := func(r Record) Record { r.Status = StatusVoided; return r }
	partySchool := func(r Record) Record { r.InstitutionType = "party_school"; return r }
	completedAt := func(r Record, at string) Record {
		ts, err := time.Parse(time.RFC3339, at)
		if err != nil {
			panic(err)
		}
		r.StudiedOn, r.CompletedAt = Date{}, ts
		return r
	}
	for _, tc := range []struct {
		name      string
		c         Cadre
		recs      []Record
		asOf      string
		req       string
		window    string // "start..end"
		achieved  string
		remaining string
		state     State
	}{
		// docs/rules.md §2 "Either measure satisfies": days alone, hours alone.
		{"EitherMeasureDays", township, []Record{central(t, "a", "2025-03-10", 12, "20")}, "2025-06-30",
			"centralized_annual", "2025-01-01..2025-12-31", "12d/20h", "0d/70h", StateMet},
		{"EitherMeasureHours", township, []Record{central(t, "a", "2025-03-10", 3, "90")}, "2025-06-30",
			"centralized_annual", "2025-01-01..2025-12-31", "3d/90h", "9d/0h", StateMet},
		// docs/rules.md §2 "不少于 / 以上 include the number itself. 90.00 学时 meets a 90 学时 target."
		{"NinetyPointZeroZeroMeetsNinety", township, []Record{central(t, "a", "2025-03-10", 5, "90.00")}, "2025-12-31",
			"centralized_annual", "2025-01-01..2025-12-31", "5d/90h", "7d/0h", StateMet},
		{"TwelveDaysMeetsTwelve", township, []Record{central(t, "a", "2025-03-10", 7, "10"), central(t, "b", "2025-11-10", 5, "10")}, "2025-12-31",
			"centralized_annual", "2025-01-01..2025-12-31", "12d/20h", "0d/70h", StateMet},
		// 0.01 学时 short of the target at year end: unmet, remaining exactly 0.01.
		{"OneHundredthShortUnmet", township, []Record{central(t, "a", "2025-03-10", 5, "45.5"), central(t, "b", "2025-09-10", 6, "44.49")}, "2025-12-31",
			"centralized_annual", "2025-01-01..2025-12-31", "11d/89.99h", "1d/0.01h", StateUnmet},
		// docs/rules.md §3 "unmet … (e.g. as_of = 2025-12-31 for the 2025 annual quotas)"; one day earlier the window is open.
		{"ClosedUnmet", township, []Record{central(t, "a", "2025-03-10", 8, "64.5")}, "2025-12-31",
			"centralized_annual", "2025-01-01..2025-12-31", "8d/64.5h", "4d/25.5h", StateUnmet},
		{"DayBeforeCloseAtRisk", township, []Record{central(t, "a", "2025-03-10", 8, "64.5")}, "2025-12-30",
			"centralized_annual", "2025-01-01..2025-12-31", "8d/64.5h", "4d/25.5h", StateAtRisk},
		// docs/rules.md §2 "Window attribution … end_date for centralized training": a training over New Year counts in the year it ends.
		{"SpansTwoYearsCountsInEndYear", township, []Record{central(t, "a", "2025-01-03", 12, "80")}, "2025-01-31",
			"centralized_annual", "2025-01-01..2025-12-31", "12d/80h", "0d/10h", StateMet},
		{"SpansTwoYearsNotInStartYear", township, []Record{central(t, "a", "2025-01-03", 12, "80")}, "2024-12-31",
			"centralized_annual", "2024-01-01..2024-12-31", "0d/0h", "12d/90h", StateUnmet},
		// docs/rules.md §3 "using records attributed on or before as_of".
		{"AttributedAfterAsOfIgnored", township, []Record{central(t, "a", "2025-07-01", 12, "90")}, "2025-06-30",
			"centralized_annual", "2025-01-01..2025-12-31", "0d/0h", "12d/90h", StateAtRisk},
		{"AttributedOnAsOfCounts", township, []Record{central(t, "a", "2025-06-30", 12, "90")}, "2025-06-30",
			"centralized_annual", "2025-01-01..2025-12-31", "12d/90h", "0d/0h", StateMet},
		{"PreviousYearIgnored", township, []Record{central(t, "a", "2024-12-31", 12, "90")}, "2025-01-01",
			"centralized_annual", "2025-01-01..2025-12-31", "0d/0h", "12d/90h", StateOnTrack},
		// docs/rules.md §2 "What does not count: voided records; records whose assessment is failed".
		{"VoidedDoesNotCount", township, []Record{voided(central(t, "a", "2025-03-10", 12, "90")), central(t, "b", "2025-03-11", 1, "1")}, "2025-12-31",
			"centralized_annual", "2025-01-01..2025-12-31", "1d/1h", "11d/89h", StateUnmet},
		{"FailedDoesNotCount", township, []Record{failed(central(t, "a", "2025-03-10", 12, "90"))}, "2025-12-31",
			"centralized_annual", "2025-01-01..2025-12-31", "0d/0h", "12d/90h", StateUnmet},
		{"PassedCounts", township, []Record{passed(central(t, "a", "2025-03-10", 12, "90"))}, "2025-12-31",
			"centralized_annual", "2025-01-01..2025-12-31", "12d/90h", "0d/0h", StateMet},
		// docs/rules.md §2 "online hours toward centralized targets and centralized hours toward the online target" don't count.
		{"OnlineNotToCentralized", township, []Record{online(t, "a", "2025-03-10", "100")}, "2025-12-31",
			"centralized_annual", "2025-01-01..2025-12-31", "0d/0h", "12d/90h", StateUnmet},
		{"CentralizedNotToOnline", township, []Record{central(t, "a", "2025-03-10", 12, "100")}, "2025-12-31",
			"online_annual", "2025-01-01..2025-12-31", "-/0h", "-/50h", StateUnmet},
		// Online target is hours only: only hours are reported.
		{"OnlineHoursOnly", township, []Record{online(t, "a", "2025-03-10", "49.99"), online(t, "b", "2025-03-11", "0.01")}, "2025-04-01",
			"online_annual", "2025-01-01..2025-12-31", "-/50h", "-/0h", StateMet},
		// docs/rules.md §2 "the date of completed_at in China Standard Time": 16:30 UTC on 31 Dec is 1 Jan in CST.
		{"CompletedAtNextCSTDayNotIn2024", township, []Record{completedAt(online(t, "a", "2024-01-01", "50"), "2024-12-31T16:30:00Z")}, "2024-12-31",
			"online_annual", "2024-01-01..2024-12-31", "-/0h", "-/50h", StateUnmet},
		{"CompletedAtNextCSTDayIn2025", township, []Record{completedAt(online(t, "a", "2024-01-01", "50"), "2024-12-31T16:30:00Z")}, "2025-01-01",
			"online_annual", "2025-01-01..2025-12-31", "-/50h", "-/0h", StateMet},
		{"CompletedAtBeforeCSTMidnight", township, []Record{completedAt(online(t, "a", "2024-01-01", "50"), "2024-12-31T15:59:59Z")}, "2024-12-31",
			"online_annual", "2024-01-01..2024-12-31", "-/50h", "-/0h", StateMet},
		// centralized_5y: plan period, 90 days or 550 学时.
		{"FiveYearSummedAcrossYears", county, []Record{central(t, "a", "2023-05-01", 30, "200"), central(t, "b", "2025-05-01", 30, "200"), central(t, "c", "2027-12-31", 30, "149.99")}, "2027-12-31",
			"centralized_5y", "2023-01-01..2027-12-31", "90d/549.99h", "0d/0.01h", StateMet},
		{"FiveYearUnmet", county, []Record{central(t, "a", "2023-05-01", 89, "549.99")}, "2027-12-31",
			"centralized_5y", "2023-01-01..2027-12-31", "89d/549.99h", "1d/0.01h", StateUnmet},
		// docs/rules.md §2 "Plan periods after 2027 are five-year blocks (2028–2032, …)": earlier training does not carry over.
		{"PlanPeriodAfter2027", county, []Record{central(t, "a", "2027-06-01", 90, "550"), central(t, "b", "2028-03-01", 10, "80")}, "2028-06-30",
			"centralized_5y", "2028-01-01..2032-12-31", "10d/80h", "80d/470h", StateOnTrack},
		// leadership_party_school_5y: only party_school centralized training, days only.
		{"LeadershipPartySchoolOnly", countyLead, []Record{partySchool(central(t, "a", "2024-05-01", 59, "400")), central(t, "b", "2025-05-01", 30, "200")}, "2025-06-30",
			"leadership_party_school_5y", "2023-01-01..2027-12-31", "59d/-", "1d/-", StateOnTrack},
		{"LeadershipSixtyDaysMet", countyLead, []Record{partySchool(central(t, "a", "2024-05-01", 30, "200")), partySchool(central(t, "b", "2025-05-01", 30, "200"))}, "2025-06-30",
			"leadership_party_school_5y", "2023-01-01..2027-12-31", "60d/-", "0d/-", StateMet},
		{"LeadershipFailedPartySchool", countyLead, []Record{failed(partySchool(central(t, "a", "2024-05-01", 60, "400")))}, "2027-12-31",
			"leadership_party_school_5y", "2023-01-01..2027-12-31", "0d/-", "60d/-", StateUnmet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := mustEvaluate(t, tc.c, tc.recs, tc.asOf)
			r := findReq(t, st, tc.req)
			if got, want := r.Window.Start.String()+".."+r.Window.End.String(), tc.window; got != want {
				t.Fatalf("window=%s, want %s", got, want)
			}
			if got, want := r.Deadline, r.Window.End; got != want {
				t.Fatalf("deadline=%s, want window end %s", got, want)
			}
			if got, want := measures(r.Achieved), tc.achieved; got != want {
				t.Fatalf("achieved=%s, want %s", got, want)
			}
			if got, want := measures(r.Remaining), tc.remaining; got != want {
				t.Fatalf("remaining=%s, want %s", got, want)
			}
			if got, want := r.State, tc.state; got != want {
				t.Fatalf("state=%s, want %s (achieved %s)", got, want, measures(r.Achieved))
			}
		})
	}
}

// docs/rules.md §2 "900 records of 0.1 学时 make exactly 90 学时", through Evaluate (the records have no days).
func TestEvaluateNineHundredTenths(t *testing.T) {
	var recs []Record
	for i := range 900 {
		r := central(t, fmt.Sprint(i), "2025-03-10", 1, "0.1")
		r.Days = Days{}
		recs = append(recs, r)
	}
	r := findReq(t, mustEvaluate(t, township, recs, "2025-12-31"), "centralized_annual")
	if got, want := measures(r.Achieved), "0d/90h"; got != want {
		t.Fatalf("achieved=%s, want %s", got, want)
	}
	if got, want := r.State, StateMet; got != want {
		t.Fatalf("state=%s, want %s", got, want)
	}
	// One record fewer is 89.9: not met.
	r = findReq(t, mustEvaluate(t, township, recs[1:], "2025-12-31"), "centralized_annual")
	if got, want := r.State, StateUnmet; got != want {
		t.Fatalf("899 × 0.1: state=%s, want %s", got, want)
	}
}

// docs/rules.md §3 "at_risk — window open, at least a quarter of it elapsed, and on every measure of the
// target the achieved amount is below target × elapsed".
func TestEvaluateAtRisk(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     Cadre
		recs  []Record
		asOf  string
		req   string
		state State
	}{
		// 2025 has 365 days; 1/4 is 91.25 days. 2025-04-01 is day 91, 2025-04-02 day 92.
		{"QuarterElapsedDayBeforeOnTrack", township, nil, "2025-04-01", "centralized_annual", StateOnTrack},
		{"QuarterElapsedFirstDayAtRisk", township, nil, "2025-04-02", "centralized_annual", StateAtRisk},
		{"QuarterElapsedOnlineAtRisk", township, nil, "2025-04-02", "online_annual", StateAtRisk},
		{"FirstDayOfYearOnTrack", township, nil, "2025-01-01", "online_annual", StateOnTrack},
		// 2024 has 366 days; 2024-07-01 is day 183 = exactly half: 50 × 1/2 = 25 学时.
		{"AtPaceIsNotBehind", township, []Record{online(t, "a", "2024-03-01", "25")}, "2024-07-01", "online_annual", StateOnTrack},
		{"OneHundredthBehindPace", township, []Record{online(t, "a", "2024-03-01", "24.99")}, "2024-07-01", "online_annual", StateAtRisk},
		// Every measure must be behind: 2025-07-02 is day 183 of 365; pace = 6.016 days and 45.123 学时.
		{"AheadOnDaysBehindOnHours", township, []Record{central(t, "a", "2025-06-01", 7, "10")}, "2025-07-02", "centralized_annual", StateOnTrack},
		{"BehindOnDaysAheadOnHours", township, []Record{central(t, "a", "2025-06-01", 6, "45.13")}, "2025-07-02", "centralized_annual", StateOnTrack},
		{"BehindOnBoth", township, []Record{central(t, "a", "2025-06-01", 6, "45.12")}, "2025-07-02", "centralized_annual", StateAtRisk},
		// Plan period 2023–2027 has 1826 days: a quarter is 456.5 days; 2024-04-01 is day 457.
		{"PlanQuarterDayBefore", county, nil, "2024-03-31", "centralized_5y", StateOnTrack},
		{"PlanQuarterFirstDay", county, nil, "2024-04-01", "centralized_5y", StateAtRisk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := findReq(t, mustEvaluate(t, tc.c, tc.recs, tc.asOf), tc.req)
			if got, want := r.State, tc.state; got != want {
				t.Fatalf("state=%s, want %s (achieved %s)", got, want, measures(r.Achieved))
			}
		})
	}
}

// The pace test itself, with an elapsed fraction of exactly 1/4 (2 of 8 days) and one day less.
func TestBehindPace(t *testing.T) {
	days, hours := WholeDays(4), HoursOf(40)
	target := Measures{Days: &days, Hours: &hours}
	for _, tc := range []struct {
		name     string
		days     string
		hours    Hours
		num, den int64
		want     bool
	}{
		{"ExactlyQuarterNothingDone", "0", 0, 2, 8, true},
		{"JustUnderQuarter", "0", 0, 1, 8, false},
		{"ExactlyQuarterAtPaceDays", "1", 0, 2, 8, false},     // 4 × 1/4 = 1 day: not below
		{"QuarterHalfDayBehind", "0.5", 0, 2, 8, true},        // docs/rules.md “Half days”: 0.5 < 1, exactly
		{"ThreeEighthsHalfDaysAtPace", "1.5", 0, 3, 8, false}, // 4 × 3/8 = 1.5 days: not below
		{"ExactlyQuarterAtPaceHours", "0", 1000, 2, 8, false}, // 40 × 1/4 = 10 学时: not below
		{"ExactlyQuarterJustBehind", "0", 999, 2, 8, true},
		{"WholeWindow", "3", 3999, 8, 8, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := behindPace(target, mustDays(t, tc.days), tc.hours, tc.num, tc.den), tc.want; got != want {
				t.Fatalf("behindPace(%sd, %v, %d/%d)=%v, want %v", tc.days, tc.hours, tc.num, tc.den, got, want)
			}
		})
	}
}

// Which requirements apply, in policy order, and the reported category (docs/rules.md §1, §2 "who").
func TestEvaluateApplicable(t *testing.T) {
	leadTownship := cadreWith("township_principal", "2020-01-01")
	leadTownship.LeadershipMember = true
	bureauLead := cadreWith("厅局级副职", "2020-01-01")
	bureauLead.LeadershipMember = true
	nationalLead := cadreWith("national_deputy", "2020-01-01")
	nationalLead.LeadershipMember = true
	// docs/rules.md §1 "A requirement is judged with the category in force on the evaluation date".
	demoted := cadreWith("county_deputy", "2020-01-01", "principal_staff_1", "2025-07-01")
	for _, tc := range []struct {
		name     string
		c        Cadre
		asOf     string
		category string
		ids      []string
	}{
		{"Township", township, "2025-06-30", "township_and_below", []string{"centralized_annual", "online_annual"}},
		{"County", county, "2025-06-30", "county_and_above", []string{"centralized_5y", "online_annual"}},
		{"CountyByTitle", cadreWith("四级调研员", "2020-01-01"), "2025-06-30", "county_and_above", []string{"centralized_5y", "online_annual"}},
		{"CountyLeadership", countyLead, "2025-06-30", "county_and_above", []string{"centralized_5y", "online_annual", "leadership_party_school_5y"}},
		// docs/rules.md “The leadership rule”: the 2018–2022 plan binds 省、市、县党政领导班子成员 only.
		{"TownshipLeadership", leadTownship, "2025-06-30", "township_and_below", []string{"centralized_annual", "online_annual"}},
		{"BureauLeadership", bureauLead, "2025-06-30", "county_and_above", []string{"centralized_5y", "online_annual", "leadership_party_school_5y"}},
		{"NationalLeadership", nationalLead, "2025-06-30", "county_and_above", []string{"centralized_5y", "online_annual"}},
		{"RankChangeBefore", demoted, "2025-06-30", "county_and_above", []string{"centralized_5y", "online_annual"}},
		{"RankChangeAfter", demoted, "2025-07-01", "township_and_below", []string{"centralized_annual", "online_annual"}},
		{"NoRank", Cadre{ID: "c-001"}, "2025-06-30", "", []string{"online_annual"}},
		{"UnknownRank", cadreWith("科长", "2020-01-01"), "2025-06-30", "", []string{"online_annual"}},
		{"NoHistoryFallsBackToRank", Cadre{ID: "c-001", Rank: "clerk"}, "2025-06-30", "township_and_below", []string{"centralized_annual", "online_annual"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := mustEvaluate(t, tc.c, nil, tc.asOf)
			if got, want := st.Category, tc.category; got != want {
				t.Fatalf("category=%q, want %q", got, want)
			}
			if got, want := reqIDs(st), tc.ids; !reflect.DeepEqual(got, want) {
				t.Fatalf("requirements=%v, want %v", got, want)
			}
			if got, want := st.Policy, "cadre-2023-2027"; got != want {
				t.Fatalf("policy=%q, want %q", got, want)
			}
		})
	}
}

// Rank change county → township inside the 2025 window: as of a day after the change the township
// annual quota applies and counts the whole year's centralized training, including what was done
// before the change.
func TestEvaluateRankChangeInsideWindow(t *testing.T) {
	c := cadreWith("county_deputy", "2020-01-01", "principal_staff_1", "2025-07-01")
	recs := []Record{central(t, "a", "2025-03-10", 12, "60")}
	r := findReq(t, mustEvaluate(t, c, recs, "2025-08-01"), "centralized_annual")
	if got, want := r.State, StateMet; got != want {
		t.Fatalf("state=%s, want %s", got, want)
	}
	r = findReq(t, mustEvaluate(t, c, recs, "2025-06-30"), "centralized_5y")
	if got, want := measures(r.Achieved), "12d/60h"; got != want {
		t.Fatalf("centralized_5y achieved=%s, want %s", got, want)
	}
}

func TestEvaluateOverall(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs []Record
		asOf string
		want State
	}{
		// township: centralized_annual and online_annual.
		{"AllMet", []Record{central(t, "a", "2025-03-01", 12, "90"), online(t, "b", "2025-03-01", "50")}, "2025-06-30", StateMet},
		{"MetAndOnTrack", []Record{central(t, "a", "2025-03-01", 12, "90")}, "2025-01-10", StateOnTrack},
		{"AtRiskBeatsOnTrackAndMet", []Record{central(t, "a", "2025-03-01", 12, "90")}, "2025-06-30", StateAtRisk},
		{"UnmetBeatsMet", []Record{central(t, "a", "2025-03-01", 12, "90")}, "2025-12-31", StateUnmet},
		{"NothingEarly", nil, "2025-02-01", StateOnTrack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := mustEvaluate(t, township, tc.recs, tc.asOf).Overall, tc.want; got != want {
				t.Fatalf("overall=%s, want %s", got, want)
			}
		})
	}
}

// docs/rules.md §4 "Appraisal flag: a cadre with any record of the year whose assessment is failed gets
// appraisal_excellent_eligible: false for that year".
func TestEvaluateAppraisalFlag(t *testing.T) {
	fail := func(r Record) Record { r.Assessment = AssessmentFailed; return r }
	for _, tc := range []struct {
		name string
		recs []Record
		asOf string
		want bool
	}{
		{"NoRecords", nil, "2025-12-31", true},
		{"PassedOnly", []Record{central(t, "a", "2025-03-01", 5, "40")}, "2025-12-31", true},
		{"FailedCentralized", []Record{fail(central(t, "a", "2025-03-01", 5, "40"))}, "2025-12-31", false},
		{"FailedOnline", []Record{fail(online(t, "a", "2025-03-01", "2"))}, "2025-12-31", false},
		{"FailedLastYear", []Record{fail(central(t, "a", "2024-12-31", 5, "40"))}, "2025-12-31", true},
		{"FailedSpanningIntoYear", []Record{fail(central(t, "a", "2025-01-02", 5, "40"))}, "2025-01-02", false},
		{"FailedButVoided", []Record{func() Record { r := fail(central(t, "a", "2025-03-01", 5, "40")); r.Status = StatusVoided; return r }()}, "2025-12-31", true},
		{"FailedAfterAsOf", []Record{fail(central(t, "a", "2025-09-01", 5, "40"))}, "2025-08-31", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := mustEvaluate(t, township, tc.recs, tc.asOf).AppraisalExcellentEligible, tc.want; got != want {
				t.Fatalf("appraisal_excellent_eligible=%v, want %v", got, want)
			}
		})
	}
}

func TestEvaluateErrNoPolicy(t *testing.T) {
	_, err := Evaluate(township, nil, MustDate("2022-12-31"), computedAt)
	if got, want := ErrorCode(err), EINVALID; got != want {
		t.Fatalf("code=%q (%v), want %q", got, err, want)
	}
}

func TestEvaluateIgnoresOtherCadresRecords(t *testing.T) {
	r := central(t, "a", "2025-03-01", 12, "90")
	r.CadreID = "c-002"
	got := findReq(t, mustEvaluate(t, township, []Record{r}, "2025-06-30"), "centralized_annual")
	if got, want := measures(got.Achieved), "0d/0h"; got != want {
		t.Fatalf("achieved=%s, want %s", got, want)
	}
}

// The evaluated targets are copies: changing a Status must not change the policy.
func TestEvaluateTargetsAreCopies(t *testing.T) {
	st := mustEvaluate(t, township, nil, "2025-06-30")
	*st.Requirements[0].Target.Days = WholeDays(1)
	r := findReq(t, mustEvaluate(t, township, nil, "2025-06-30"), "centralized_annual")
	if got, want := *r.Target.Days, WholeDays(12); got != want {
		t.Fatalf("target days after mutation=%s, want %s", got, want)
	}
}

// docs/api.md quota-status example: township cadre, 2025, 8 days / 64.5 学时 centralized and 50 学时 online.
func TestEvaluateAPIExample(t *testing.T) {
	recs := []Record{
		central(t, "a", "2025-04-18", 5, "40"),
		central(t, "b", "2025-10-17", 3, "24.5"),
		online(t, "c", "2025-03-02", "1.5"),
		online(t, "d", "2025-11-30", "48.5"),
		online(t, "e", "2026-01-01", "10"), // after as_of
	}
	st := mustEvaluate(t, township, recs, "2025-12-31")
	got, err := json.Marshal(st.WithoutExplain()) // docs/api.md shows the status without explain=true
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"cadre_id": "c-001", "as_of": "2025-12-31", "policy": "cadre-2023-2027", "category": "township_and_below",
 "overall": "unmet", "appraisal_excellent_eligible": true,
 "requirements": [
  {"id": "centralized_annual", "window": {"start": "2025-01-01", "end": "2025-12-31"},
   "target": {"days": 12, "hours": 90}, "achieved": {"days": 8, "hours": 64.5},
   "remaining": {"days": 4, "hours": 25.5}, "state": "unmet", "deadline": "2025-12-31"},
  {"id": "online_annual", "window": {"start": "2025-01-01", "end": "2025-12-31"},
   "target": {"hours": 50}, "achieved": {"hours": 50}, "remaining": {"hours": 0}, "state": "met",
   "deadline": "2025-12-31"}],
 "computed_at": "2026-01-01T02:00:03+08:00"}`
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("status JSON=\n%s\nwant\n%s", got, want)
	}
}

// Evaluate evaluates with the embedded rules (DefaultRules().Evaluate).
func Evaluate(c Cadre, records []Record, asOf Date, computedAt time.Time) (Status, error) {
	return defaultRules.Evaluate(c, records, asOf, computedAt)
}

// Policies returns the embedded policies, oldest first.
func Policies() []*Policy { return policies }

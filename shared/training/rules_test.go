package training

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func joined(c Cadre, on string) Cadre { c.JoinedOn = MustDate(on); return c }

// docs/rules.md “Training on promotion”. 干部教育培训工作条例（2023）: “提拔担任领导职务的，确因特殊情况在提任前
// 未达到教育培训要求的，应当在提任后1年内完成培训。” Window: promotion date … + 12 months (clamped); records
// of the 5 years before the promotion count; the target is the 5-year one (3 months = 90 days or 550 学时).
func TestEvaluatePromotionTraining(t *testing.T) {
	promoted := cadreWith("township_principal", "2018-01-01", "county_deputy", "2025-03-15")
	for _, tc := range []struct {
		name     string
		c        Cadre
		recs     []Record
		asOf     string
		want     string // state, or "" when the requirement is not reported
		window   string // "start…end"
		achieved string
	}{
		{"NothingYetAtRisk", promoted, nil, "2025-06-30", "at_risk", "2025-03-15…2026-03-15", "0d/0h"},
		{"OnPromotionDayOnTrack", promoted, nil, "2025-03-15", "on_track", "2025-03-15…2026-03-15", "0d/0h"},
		{"UnmetOnDeadline", promoted, nil, "2026-03-15", "unmet", "2025-03-15…2026-03-15", "0d/0h"},
		{"GoneAfterDeadline", promoted, nil, "2026-03-16", "", "", ""},
		{"MetWithinTheYear", promoted, []Record{central(t, "a", "2025-12-20", 90, "300")}, "2025-12-31", "met", "2025-03-15…2026-03-15", "90d/300h"},
		{"MetBeforePromotion", promoted, []Record{central(t, "a", "2022-06-30", 40, "560")}, "2025-04-01", "met", "2025-03-15…2026-03-15", "40d/560h"},
		{"BeforePlusAfter", promoted, []Record{central(t, "a", "2021-06-30", 50, "200"), central(t, "b", "2025-09-30", 40, "200")}, "2025-10-01", "met", "2025-03-15…2026-03-15", "90d/400h"},
		{"OlderThanFiveYearsDoesNotCount", promoted, []Record{central(t, "a", "2020-03-14", 95, "600")}, "2025-04-01", "on_track", "2025-03-15…2026-03-15", "0d/0h"},
		{"ClampedLeapDay", cadreWith("researcher_4", "2019-01-01", "county_principal", "2024-02-29"), nil, "2025-02-28", "unmet", "2024-02-29…2025-02-28", "0d/0h"},
		{"DeputyToPrincipal", cadreWith("county_deputy", "2019-01-01", "county_principal", "2025-03-15"), nil, "2025-04-01", "on_track", "2025-03-15…2026-03-15", "0d/0h"},
		{"DemotionIsNoPromotion", cadreWith("county_principal", "2019-01-01", "county_deputy", "2025-03-15"), nil, "2025-04-01", "", "", ""},
		{"FirstEntryIsNoPromotion", cadreWith("county_deputy", "2025-03-15"), nil, "2025-04-01", "", "", ""},
		{"GradeIsNoLeadershipPosition", cadreWith("principal_staff_1", "2019-01-01", "researcher_4", "2025-03-15"), nil, "2025-04-01", "", "", ""},
		{"TownshipPostNotListed", cadreWith("staff_1", "2019-01-01", "township_deputy", "2025-03-15"), nil, "2025-04-01", "", "", ""},
		{"FuturePromotion", cadreWith("township_principal", "2018-01-01", "county_deputy", "2026-03-15"), nil, "2025-04-01", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := mustEvaluate(t, tc.c, tc.recs, tc.asOf)
			var r *RequirementStatus
			for i := range st.Requirements {
				if st.Requirements[i].ID == "promotion_training" {
					r = &st.Requirements[i]
				}
			}
			if tc.want == "" {
				if r != nil {
					t.Fatalf("promotion_training reported: %+v", *r)
				}
				return
			}
			if r == nil {
				t.Fatalf("promotion_training not reported; got %v", reqIDs(st))
			}
			if got := string(r.State); got != tc.want {
				t.Fatalf("state=%s, want %s", got, tc.want)
			}
			if got := r.Window.Start.String() + "…" + r.Window.End.String(); got != tc.window {
				t.Fatalf("window=%s, want %s", got, tc.window)
			}
			if got := measures(r.Achieved); got != tc.achieved {
				t.Fatalf("achieved=%s, want %s", got, tc.achieved)
			}
			if r.Deadline != r.Window.End || r.Trigger == nil || r.Trigger.Event != "promotion" || r.Trigger.On != r.Window.Start {
				t.Fatalf("deadline/trigger=%v/%+v", r.Deadline, r.Trigger)
			}
			if got, want := r.CountedFrom, r.Window.Start.AddMonthsClamped(-60); got != want {
				t.Fatalf("counted_from=%s, want %s", got, want)
			}
			if tc.want == "unmet" && st.Overall != StateUnmet {
				t.Fatalf("overall=%s, want unmet (promotion training is in overall)", st.Overall)
			}
		})
	}
}

// docs/rules.md “Initial training”: 初任培训 of ≥ 12 days within the probation year (新录用公务员试用期管理办法
// （试行）第二条: “试用期为一年”), judged from joined_on.
func TestEvaluateInitialTraining(t *testing.T) {
	newcomer := joined(cadreWith("staff_2", "2025-03-01"), "2025-03-01")
	for _, tc := range []struct {
		name   string
		c      Cadre
		recs   []Record
		asOf   string
		want   string
		window string
	}{
		{"OnTrackFirstMonth", newcomer, nil, "2025-03-31", "on_track", "2025-03-01…2026-03-01"},
		{"AtRisk", newcomer, nil, "2025-07-01", "at_risk", "2025-03-01…2026-03-01"},
		{"Met", newcomer, []Record{central(t, "a", "2025-05-20", 12, "60")}, "2025-07-01", "met", "2025-03-01…2026-03-01"},
		{"ElevenDaysShortOnDeadline", newcomer, []Record{central(t, "a", "2025-05-20", 11, "88")}, "2026-03-01", "unmet", "2025-03-01…2026-03-01"},
		{"BeforeJoiningDoesNotCount", newcomer, []Record{central(t, "a", "2025-02-28", 12, "60")}, "2025-07-01", "at_risk", "2025-03-01…2026-03-01"},
		{"AfterProbationGone", newcomer, nil, "2026-03-02", "", ""},
		{"NoJoinedOn", cadreWith("staff_2", "2025-03-01"), nil, "2025-07-01", "", ""},
		{"JoinedLater", joined(cadreWith("staff_2", "2025-03-01"), "2025-09-01"), nil, "2025-07-01", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := mustEvaluate(t, tc.c, tc.recs, tc.asOf)
			i := -1
			for k, r := range st.Requirements {
				if r.ID == "initial_training" {
					i = k
				}
			}
			if tc.want == "" {
				if i >= 0 {
					t.Fatalf("initial_training reported: %+v", st.Requirements[i])
				}
				return
			}
			if i < 0 {
				t.Fatalf("initial_training not reported; got %v", reqIDs(st))
			}
			r := st.Requirements[i]
			if got := string(r.State); got != tc.want {
				t.Fatalf("state=%s, want %s", got, tc.want)
			}
			if got := r.Window.Start.String() + "…" + r.Window.End.String(); got != tc.window {
				t.Fatalf("window=%s, want %s", got, tc.window)
			}
			if got, want := measures(r.Target), "12d/-"; got != want {
				t.Fatalf("target=%s, want %s", got, want)
			}
		})
	}
}

// docs/rules.md “Mid-year joiners and transfers”: target × remaining whole months / months of the
// window, rounded up to whole days and whole 学时 (policy data).
func TestEvaluateProrated(t *testing.T) {
	for _, tc := range []struct {
		name, asOf, req string
		c               Cadre
		recs            []Record
		target, state   string
		reason          string // "" = not pro-rated
		months          int
	}{
		// Today's bug: joined 2025-11-01, unmet for the whole of 2025.
		{"JoinedNov1Centralized", "2025-12-31", "centralized_annual", joined(township, "2025-11-01"), []Record{central(t, "a", "2025-12-10", 2, "12")}, "2d/15h", "met", "joined", 2},
		{"JoinedNov1Online", "2025-12-31", "online_annual", joined(township, "2025-11-01"), []Record{online(t, "o", "2025-11-20", "8.5")}, "-/9h", "unmet", "joined", 2},
		{"JoinedNov2OneMonth", "2025-12-31", "centralized_annual", joined(township, "2025-11-02"), nil, "1d/8h", "unmet", "joined", 1},
		{"JoinedDec15NothingOwed", "2025-12-31", "online_annual", joined(township, "2025-12-15"), nil, "-/0h", "met", "joined", 0},
		{"JoinedBeforeWindow", "2025-12-31", "online_annual", joined(township, "2024-06-01"), nil, "-/50h", "unmet", "", 0},
		{"JoinedJan1Full", "2025-12-31", "online_annual", joined(township, "2025-01-01"), nil, "-/50h", "unmet", "", 0},
		{"PlanPeriodJoiner", "2025-12-31", "centralized_5y", joined(county, "2025-11-01"), nil, "39d/239h", "on_track", "joined", 26},
		{"CategoryChangedToTownship", "2025-12-31", "centralized_annual", cadreWith("county_deputy", "2020-01-01", "principal_staff_1", "2025-07-01"), nil, "6d/45h", "unmet", "category_changed", 6},
		{"CategoryChangedToCounty", "2025-12-31", "centralized_5y", cadreWith("principal_staff_1", "2020-01-01", "county_deputy", "2025-07-01"), nil, "45d/275h", "on_track", "category_changed", 30},
		{"SameCategoryChangeNotProrated", "2025-12-31", "centralized_annual", cadreWith("staff_1", "2020-01-01", "principal_staff_4", "2025-07-01"), nil, "12d/90h", "unmet", "", 0},
		{"FirstEntryNotACategoryChange", "2025-12-31", "centralized_annual", cadreWith("staff_1", "2025-07-01"), nil, "12d/90h", "unmet", "", 0},
		{"CategoryNotProratedForOnline", "2025-12-31", "online_annual", cadreWith("county_deputy", "2020-01-01", "principal_staff_1", "2025-07-01"), nil, "-/50h", "unmet", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := findReq(t, mustEvaluate(t, tc.c, tc.recs, tc.asOf), tc.req)
			if got := measures(r.Target); got != tc.target {
				t.Fatalf("target=%s, want %s", got, tc.target)
			}
			if got := string(r.State); got != tc.state {
				t.Fatalf("state=%s, want %s", got, tc.state)
			}
			if tc.reason == "" {
				if r.Prorated != nil {
					t.Fatalf("prorated=%+v, want none", *r.Prorated)
				}
				return
			}
			if r.Prorated == nil || r.Prorated.Reason != tc.reason || r.Prorated.Months != tc.months {
				t.Fatalf("prorated=%+v, want reason %s, %d months", r.Prorated, tc.reason, tc.months)
			}
		})
	}
}

func TestCeilMultiple(t *testing.T) {
	for _, tc := range []struct{ num, den, unit, want int64 }{
		{0, 12, 1, 0}, {24, 12, 1, 2}, {25, 12, 1, 3}, {5000 * 2, 12, 100, 900}, {5000 * 2, 12, 50, 850}, {9000, 12, 100, 800},
	} {
		if got := ceilMultiple(tc.num, tc.den, tc.unit); got != tc.want {
			t.Errorf("ceilMultiple(%d,%d,%d)=%d, want %d", tc.num, tc.den, tc.unit, got, tc.want)
		}
	}
}

const overlayOK = `{"id": "t", "unit": "cn/x", "title": "T", "effective_from": "2023-01-01", "source": "test", "illustrative": true,
 "crediting": {"days_to_hours": {"hours_per_day": 6, "replace_sent_hours": true}, "online_daily_cap_hours": 4,
  "training_caps": [{"institution_types": ["out_of_town"], "max_hours": 48}],
  "carry_over": {"requirements": ["centralized_annual"], "max_hours": 20}}}`

// docs/rules.md “Local crediting overlays”: a bad file names the file and the field.
func TestParseOverlay(t *testing.T) {
	for _, tc := range []struct{ name, body, field string }{
		{"UnknownField", `{"id": "t", "unit": "cn/x", "bogus": 1}`, "bogus"},
		{"TypeError", `{"id": "t", "unit": 5}`, "unit"},
		{"NoID", strings.Replace(overlayOK, `"id": "t"`, `"id": ""`, 1), "id"},
		{"BadUnit", strings.Replace(overlayOK, `"cn/x"`, `"cn//x"`, 1), "unit"},
		{"NoSource", strings.Replace(overlayOK, `"source": "test"`, `"source": " "`, 1), "source"},
		{"NoEffectiveFrom", strings.Replace(overlayOK, `"effective_from": "2023-01-01", `, ``, 1), "effective_from"},
		{"ZeroRate", strings.Replace(overlayOK, `"hours_per_day": 6`, `"hours_per_day": 0`, 1), "crediting.days_to_hours.hours_per_day"},
		{"RateOver24", strings.Replace(overlayOK, `"hours_per_day": 6`, `"hours_per_day": 25`, 1), "crediting.days_to_hours.hours_per_day"},
		{"CapZero", strings.Replace(overlayOK, `"online_daily_cap_hours": 4`, `"online_daily_cap_hours": 0`, 1), "crediting.online_daily_cap_hours"},
		{"BadToken", strings.Replace(overlayOK, `"out_of_town"`, `"Out Of Town"`, 1), "crediting.training_caps[0].institution_types"},
		{"CapMaxZero", strings.Replace(overlayOK, `"max_hours": 48`, `"max_hours": 0`, 1), "crediting.training_caps[0].max_hours"},
		{"CarryUnknownRequirement", strings.Replace(overlayOK, `["centralized_annual"]`, `["nope"]`, 1), "crediting.carry_over.requirements"},
		{"CarryPlanPeriod", strings.Replace(overlayOK, `["centralized_annual"]`, `["centralized_5y"]`, 1), "crediting.carry_over.requirements"},
		{"BadDate", strings.Replace(overlayOK, `"2023-01-01"`, `"2023-13-01"`, 1), "effective_from"},
		{"ThreeDecimals", strings.Replace(overlayOK, `"max_hours": 48`, `"max_hours": 48.125`, 1), "crediting.training_caps[0].max_hours"},
		{"HoursAsString", strings.Replace(overlayOK, `"max_hours": 20`, `"max_hours": "20"`, 1), "crediting.carry_over.max_hours"},
		{"RateThreeDecimals", strings.Replace(overlayOK, `"hours_per_day": 6`, `"hours_per_day": 6.001`, 1), "crediting.days_to_hours.hours_per_day"},
		{"CapString", strings.Replace(overlayOK, `"online_daily_cap_hours": 4`, `"online_daily_cap_hours": "4"`, 1), "crediting.online_daily_cap_hours"},
		{"NestedUnknownField", strings.Replace(overlayOK, `"replace_sent_hours": true`, `"replace_sent_hours": true, "per": 1`, 1), "crediting.days_to_hours.per"},
		{"TierOrder", strings.Replace(overlayOK, `"crediting": {`, `"crediting": {"online_course_length": [{"min_minutes": 15, "hours": 0.5}, {"min_minutes": 30, "hours": 1}], `, 1), "crediting.online_course_length[1].min_minutes"},
		{"TierZeroMinutes", strings.Replace(overlayOK, `"crediting": {`, `"crediting": {"online_course_length": [{"min_minutes": 0, "hours": 1}], `, 1), "crediting.online_course_length[0].min_minutes"},
		{"TierHoursThreeDecimals", strings.Replace(overlayOK, `"crediting": {`, `"crediting": {"online_course_length": [{"min_minutes": 30, "hours": 0.125}], `, 1), "crediting.online_course_length[0].hours"},
		// docs/rules.md “Half days”: half a day of hours_per_day must be exact hundredths.
		{"HalfDaysOddRate", strings.Replace(overlayOK, `"crediting": {"days_to_hours": {"hours_per_day": 6,`, `"crediting": {"half_days": true, "days_to_hours": {"hours_per_day": 6.25,`, 1), "crediting.days_to_hours.hours_per_day"},
		{"HalfDaysNotBool", strings.Replace(overlayOK, `"crediting": {`, `"crediting": {"half_days": 1, `, 1), "crediting.half_days"},
		{"FileSetInFile", strings.Replace(overlayOK, `"id": "t"`, `"id": "t", "file": "x"`, 1), "file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOverlay("bad.json", []byte(tc.body), Policies())
			var oe *OverlayError
			if !errors.As(err, &oe) {
				t.Fatalf("err=%v, want *OverlayError", err)
			}
			if oe.File != "bad.json" || oe.Field != tc.field {
				t.Fatalf("error names %s / %q, want bad.json / %q (%v)", oe.File, oe.Field, tc.field, err)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		o, err := ParseOverlay("ok.json", []byte(overlayOK), Policies())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := o.File, "ok.json"; got != want {
			t.Fatalf("file=%q, want %q", got, want)
		}
	})
}

// Longest whole-segment prefix, then the version in force.
func TestOverlayFor(t *testing.T) {
	fsys := fstest.MapFS{
		"o/a.json":   {Data: []byte(`{"id": "prov", "unit": "cn/js", "title": "P", "effective_from": "2023-01-01", "source": "s", "illustrative": true, "crediting": {}}`)},
		"o/b.json":   {Data: []byte(`{"id": "city-v1", "unit": "cn/js/nj", "title": "C", "effective_from": "2023-01-01", "source": "s", "illustrative": true, "crediting": {}}`)},
		"o/c.json":   {Data: []byte(`{"id": "city-v2", "unit": "cn/js/nj", "title": "C", "effective_from": "2025-07-01", "source": "s", "illustrative": true, "crediting": {}}`)},
		"o/x.txt":    {Data: []byte(`not an overlay`)},
		"o/d/e.json": {Data: []byte(`not read: subdirectories are not overlays`)},
	}
	set, err := LoadOverlays(fsys, "o", Policies())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ unit, on, want string }{
		{"cn/js/nj/xuanwu", "2025-06-30", "city-v1"},
		{"cn/js/nj/xuanwu", "2025-07-01", "city-v2"},
		{"cn/js/nj", "2026-01-01", "city-v2"},
		{"cn/js/su", "2025-07-01", "prov"},
		{"cn/jsx", "2025-07-01", ""},
		{"cn/js/nj", "2022-12-31", ""},
	} {
		got := ""
		if o := set.For(tc.unit, MustDate(tc.on)); o != nil {
			got = o.ID
		}
		if got != tc.want {
			t.Errorf("For(%s, %s)=%q, want %q", tc.unit, tc.on, got, tc.want)
		}
	}
	t.Run("ErrSameUnitSameDate", func(t *testing.T) {
		dup := fstest.MapFS{"o/a.json": fsys["o/b.json"], "o/b.json": fsys["o/b.json"]}
		_, err := LoadOverlays(dup, "o", Policies())
		var oe *OverlayError
		if !errors.As(err, &oe) || oe.File != "b.json" || oe.Field != "effective_from" {
			t.Fatalf("err=%v, want b.json effective_from", err)
		}
	})
}

// docs/rules.md “Local crediting overlays”: each rule of an overlay, applied in the evaluation.
func TestEvaluateOverlay(t *testing.T) {
	o, err := ParseOverlay("t.json", []byte(overlayOK), Policies())
	if err != nil {
		t.Fatal(err)
	}
	rules := &Rules{Policies: Policies(), Overlays: &OverlaySet{all: []*Overlay{o}}}
	inX := func(c Cadre) Cadre { c.Unit = "cn/x/y"; return c }
	outOfTown := func(r Record) Record { r.InstitutionType = "out_of_town"; return r }
	for _, tc := range []struct {
		name, req, asOf string
		c               Cadre
		recs            []Record
		achieved        string
		sent, credited  string
		carried         string
	}{
		{"DaysTimesSix", "centralized_annual", "2025-12-31", inX(township), []Record{central(t, "a", "2025-05-10", 5, "40")}, "5d/30h", "40", "30", ""},
		{"OutOfTownCapped", "centralized_annual", "2025-12-31", inX(township), []Record{outOfTown(central(t, "a", "2025-05-10", 10, "80"))}, "10d/48h", "80", "48", ""},
		{"OnlineDailyCap", "online_annual", "2025-12-31", inX(township), []Record{online(t, "o1", "2025-03-02", "3"), online(t, "o2", "2025-03-02", "2.5"), online(t, "o3", "2025-03-03", "1")}, "-/5h", "6.5", "5", ""},
		{"CarryOverCapped", "centralized_annual", "2025-12-31", inX(township), []Record{central(t, "p", "2024-06-10", 20, "1"), central(t, "a", "2025-05-10", 2, "1")}, "2d/32h", "1", "12", "20"},
		{"CarryOverOnlyExcess", "centralized_annual", "2025-12-31", inX(township), []Record{central(t, "p", "2024-06-10", 16, "1")}, "0d/6h", "0", "0", "6"},
		{"NoCarryWhenShortLastYear", "centralized_annual", "2025-12-31", inX(township), []Record{central(t, "p", "2024-06-10", 14, "1")}, "0d/0h", "0", "0", ""},
		{"NoCarryBeforeFirstPolicy", "centralized_annual", "2023-12-31", inX(township), []Record{central(t, "p", "2022-06-10", 20, "1")}, "0d/0h", "0", "0", ""},
		{"NoHoursSentNoOverlay", "centralized_annual", "2025-12-31", township, []Record{central(t, "a", "2025-05-10", 5, "0")}, "5d/0h", "", "", ""},
		{"OtherUnitUntouched", "centralized_annual", "2025-12-31", township, []Record{central(t, "a", "2025-05-10", 5, "40")}, "5d/40h", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := rules.Evaluate(tc.c, tc.recs, MustDate(tc.asOf), computedAt)
			if err != nil {
				t.Fatal(err)
			}
			r := findReq(t, st, tc.req)
			if got := measures(r.Achieved); got != tc.achieved {
				t.Fatalf("achieved=%s, want %s", got, tc.achieved)
			}
			if tc.sent == "" {
				if r.Crediting != nil || st.Overlay != "" {
					t.Fatalf("crediting=%+v overlay=%q, want none", r.Crediting, st.Overlay)
				}
				return
			}
			if st.Overlay != "t" || r.Crediting == nil {
				t.Fatalf("overlay=%q crediting=%+v", st.Overlay, r.Crediting)
			}
			if got := r.Crediting.HoursAsSent.String() + "→" + r.Crediting.HoursCredited.String(); got != tc.sent+"→"+tc.credited {
				t.Fatalf("crediting=%s, want %s→%s", got, tc.sent, tc.credited)
			}
			carried := ""
			if r.Crediting.CarriedOver != nil {
				carried = r.Crediting.CarriedOver.String()
			}
			if carried != tc.carried {
				t.Fatalf("carried_over=%q, want %q", carried, tc.carried)
			}
		})
	}
}

// days_to_hours without replace_sent_hours converts only records sent without 学时.
func TestEvaluateDaysToHoursWhenMissing(t *testing.T) {
	o, err := ParseOverlay("m.json", []byte(strings.Replace(overlayOK, `"replace_sent_hours": true`, `"replace_sent_hours": false`, 1)), Policies())
	if err != nil {
		t.Fatal(err)
	}
	rules := &Rules{Policies: Policies(), Overlays: &OverlaySet{all: []*Overlay{o}}}
	c := township
	c.Unit = "cn/x"
	recs := []Record{central(t, "sent", "2025-05-10", 5, "40"), central(t, "none", "2025-06-10", 3, "0")}
	st, err := rules.Evaluate(c, recs, MustDate("2025-12-31"), computedAt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := measures(findReq(t, st, "centralized_annual").Achieved), "8d/58h"; got != want {
		t.Fatalf("achieved=%s, want %s (40 as sent + 3 × 6)", got, want)
	}
}

// Crediting by course length (云南省干部在线学习学院 “学习学时制介绍”: ≥ 30 min = 1 学时, 15–30 min = 0.5,
// ≤ 15 min = 0.25), through the shipped overlay cn-yn.json.
func TestEvaluateCourseLength(t *testing.T) {
	c := township
	c.Unit = "cn/yn/kunming"
	withLength := func(id, hours string, minutes int) Record {
		r := online(t, id, "2025-03-02", hours)
		r.DurationMinutes = minutes
		return r
	}
	for _, tc := range []struct {
		name string
		rec  Record
		want string
	}{
		{"ThirtyMinutesOneHour", withLength("a", "0.5", 30), "-/1h"},
		{"FortyFiveMinutes", withLength("a", "0.75", 45), "-/1h"},
		{"TwoHoursStillOne", withLength("a", "2", 120), "-/1h"},
		{"SixteenMinutesHalf", withLength("a", "0.3", 16), "-/0.5h"},
		{"TwentyNineMinutesHalf", withLength("a", "0.5", 29), "-/0.5h"},
		{"FifteenMinutesQuarter", withLength("a", "0.25", 15), "-/0.25h"},
		{"OneMinuteQuarter", withLength("a", "0.01", 1), "-/0.25h"},
		{"NoLengthAsSent", online(t, "a", "2025-03-02", "1.5"), "-/1.5h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := mustEvaluate(t, c, []Record{tc.rec}, "2025-12-31")
			if got, want := st.Overlay, "yunnan-online-course-length"; got != want {
				t.Fatalf("overlay=%q, want %q", got, want)
			}
			if got := measures(findReq(t, st, "online_annual").Achieved); got != tc.want {
				t.Fatalf("achieved=%s, want %s", got, tc.want)
			}
		})
	}
	// Outside Yunnan the 学时 sent count.
	if got := measures(findReq(t, mustEvaluate(t, township, []Record{withLength("a", "0.75", 45)}, "2025-12-31"), "online_annual").Achieved); got != "-/0.75h" {
		t.Fatalf("without overlay achieved=%s, want -/0.75h", got)
	}
}

// The shipped example overlay (Nanjing) through the default rules: 6 学时 a day, out-of-town capped at 48.
func TestShippedNanjingOverlay(t *testing.T) {
	c := township
	c.Unit = "cn/js/nanjing/xuanwu"
	r1 := central(t, "a", "2025-05-10", 5, "40")
	r2 := central(t, "b", "2025-09-10", 10, "80")
	r2.InstitutionType = "out_of_town"
	// docs/rules.md “Half days”: “每半天按3学分(学时)折算” — half a day credits 0.5 day and 3 学时.
	r3 := halfSpan(t, "c", "2025-10-20", "2025-10-20", "0.5", "4")
	st := mustEvaluate(t, c, []Record{r1, r2, r3}, "2025-12-31")
	if got, want := st.Overlay, "nanjing-credit-units"; got != want {
		t.Fatalf("overlay=%q, want %q", got, want)
	}
	if got, want := measures(findReq(t, st, "centralized_annual").Achieved), "15.5d/81h"; got != want {
		t.Fatalf("achieved=%s, want %s (5×6 + min(10×6, 48) + 0.5×6)", got, want)
	}
}

// docs/rules.md “A policy change is a file”: a second policy with a new rank and a new requirement,
// and an overlay, loaded from testdata, evaluated without any Go change.
func TestRulesFromFiles(t *testing.T) {
	rules, err := LoadRules(os.DirFS("testdata/rules2"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rules.Policies), 2; got != want {
		t.Fatalf("policies=%d, want %d", got, want)
	}
	p, err := rules.PolicyFor(MustDate("2028-06-30"))
	if err != nil || p.ID != "test-2028-2032" {
		t.Fatalf("PolicyFor(2028-06-30)=%v, %v", p, err)
	}
	ri, ok := p.LookupRank("事业单位八级职员")
	if !ok || ri.Category != "township_and_below" {
		t.Fatalf("new rank=%+v, %v", ri, ok)
	}
	c := Cadre{ID: "c-001", Unit: "cn/t/u", RankHistory: []RankChange{{Rank: "institution_staff_8", EffectiveOn: MustDate("2020-01-01")}}}
	recs := []Record{online(t, "o1", "2028-03-01", "6"), online(t, "o2", "2028-03-01", "6"), central(t, "a", "2028-04-10", 3, "10")}
	st, err := rules.Evaluate(c, recs, MustDate("2028-12-31"), computedAt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reqIDs(st), []string{"centralized_annual", "online_annual", "law_study_annual"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("requirements=%v, want %v", got, want)
	}
	if got, want := st.Overlay, "test-overlay"; got != want {
		t.Fatalf("overlay=%q, want %q", got, want)
	}
	// The overlay caps online study at 8 学时 a day: 12 sent, 8 credited.
	if got, want := measures(findReq(t, st, "online_annual").Achieved), "-/8h"; got != want {
		t.Fatalf("online achieved=%s, want %s", got, want)
	}
	// The new requirement: ≥ 3 days of centralized training a year.
	if got, want := findReq(t, st, "law_study_annual").State, StateMet; got != want {
		t.Fatalf("law_study_annual=%s, want %s", got, want)
	}
	// The embedded rules know neither the rank nor the requirement.
	if _, ok := mustPolicy(t, "2028-06-30").LookupRank("institution_staff_8"); ok {
		t.Fatal("embedded policy knows the test rank")
	}
}

package training

import (
	"testing"
)

func mustPolicy(tb testing.TB, d string) *Policy {
	tb.Helper()
	p, err := PolicyFor(MustDate(d))
	if err != nil {
		tb.Fatalf("PolicyFor(%s): %v", d, err)
	}
	return p
}

// docs/rules.md §1: every rank of the policy file, by code and by Chinese title, maps to its category.
func TestLookupRank(t *testing.T) {
	const county, township = "county_and_above", "township_and_below"
	p := mustPolicy(t, "2025-01-01")
	for _, tc := range []struct{ code, title, cat string }{
		{"national_principal", "国家级正职", county},
		{"national_deputy", "国家级副职", county},
		{"provincial_principal", "省部级正职", county},
		{"provincial_deputy", "省部级副职", county},
		{"bureau_principal", "厅局级正职", county},
		{"bureau_deputy", "厅局级副职", county},
		{"county_principal", "县处级正职", county},
		{"county_deputy", "县处级副职", county},
		{"inspector_1", "一级巡视员", county},
		{"inspector_2", "二级巡视员", county},
		{"researcher_1", "一级调研员", county},
		{"researcher_2", "二级调研员", county},
		{"researcher_3", "三级调研员", county},
		{"researcher_4", "四级调研员", county},
		{"township_principal", "乡科级正职", township},
		{"township_deputy", "乡科级副职", township},
		{"principal_staff_1", "一级主任科员", township},
		{"principal_staff_2", "二级主任科员", township},
		{"principal_staff_3", "三级主任科员", township},
		{"principal_staff_4", "四级主任科员", township},
		{"staff_1", "一级科员", township},
		{"staff_2", "二级科员", township},
		{"clerk", "办事员", township},
	} {
		t.Run(tc.code, func(t *testing.T) {
			for _, key := range []string{tc.code, tc.title} {
				ri, ok := p.LookupRank(key)
				if !ok {
					t.Fatalf("LookupRank(%q) not found", key)
				}
				if got, want := ri, (RankInfo{Code: tc.code, Title: tc.title, Category: tc.cat}); got != want {
					t.Fatalf("LookupRank(%q)=%+v, want %+v", key, got, want)
				}
			}
		})
	}
	t.Run("ErrUnknown", func(t *testing.T) {
		if ri, ok := p.LookupRank("科长"); ok {
			t.Fatalf("LookupRank(科长)=%+v, want not found", ri)
		}
	})
	t.Run("RankCodesCount", func(t *testing.T) {
		if got, want := len(p.RankCodes()), 23; got != want {
			t.Fatalf("len(RankCodes())=%d, want %d", got, want)
		}
	})
}

func TestPolicyFor(t *testing.T) {
	t.Run("InForce", func(t *testing.T) {
		for _, d := range []string{"2023-01-01", "2025-06-30", "2027-12-31", "2031-01-01"} {
			if got, want := mustPolicy(t, d).ID, "cadre-2023-2027"; got != want {
				t.Fatalf("PolicyFor(%s)=%s, want %s", d, got, want)
			}
		}
	})
	t.Run("ErrBeforeFirst", func(t *testing.T) {
		_, err := PolicyFor(MustDate("2022-12-31"))
		if got, want := ErrorCode(err), EINVALID; got != want {
			t.Fatalf("PolicyFor(2022-12-31) code=%q (%v), want %q", got, err, want)
		}
	})
}

// docs/rules.md §2 "Window attribution … Plan periods after 2027 are five-year blocks (2028–2032, …)".
func TestWindowOf(t *testing.T) {
	p := mustPolicy(t, "2025-01-01")
	for _, tc := range []struct {
		name       string
		kind       WindowKind
		d          string
		start, end string
	}{
		{"YearFirstDay", WindowCalendarYear, "2025-01-01", "2025-01-01", "2025-12-31"},
		{"YearLastDay", WindowCalendarYear, "2024-12-31", "2024-01-01", "2024-12-31"},
		{"PlanFirstDay", WindowPlanPeriod, "2023-01-01", "2023-01-01", "2027-12-31"},
		{"PlanLastDay", WindowPlanPeriod, "2027-12-31", "2023-01-01", "2027-12-31"},
		{"PlanAfter2027", WindowPlanPeriod, "2028-01-01", "2028-01-01", "2032-12-31"},
		{"PlanThird", WindowPlanPeriod, "2035-07-01", "2033-01-01", "2037-12-31"},
		{"PlanBefore2023", WindowPlanPeriod, "2022-12-31", "2018-01-01", "2022-12-31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := p.WindowOf(tc.kind, MustDate(tc.d))
			if want := (Window{MustDate(tc.start), MustDate(tc.end)}); got != want {
				t.Fatalf("WindowOf(%s, %s)=%v, want %v", tc.kind, tc.d, got, want)
			}
		})
	}
}

// docs/rules.md §2 requirement table, as data.
func TestPolicyRequirements(t *testing.T) {
	p := mustPolicy(t, "2025-01-01")
	type row struct {
		id     string
		window WindowKind
		days   int // -1: no days measure
		hours  Hours
		kind   Kind
		inst   string
	}
	want := []row{
		{"centralized_5y", WindowPlanPeriod, 90, HoursOf(550), KindCentralized, ""},
		{"centralized_annual", WindowCalendarYear, 12, HoursOf(90), KindCentralized, ""},
		{"online_annual", WindowCalendarYear, -1, HoursOf(50), KindOnline, ""},
		{"leadership_party_school_5y", WindowPlanPeriod, 60, -1, KindCentralized, "party_school"},
		{"promotion_training", WindowAfterPromotion, 90, HoursOf(550), KindCentralized, ""},
		{"initial_training", WindowAfterJoining, 12, -1, KindCentralized, ""},
	}
	if got, want := len(p.Requirements), len(want); got != want {
		t.Fatalf("len(Requirements)=%d, want %d", got, want)
	}
	for i, w := range want {
		r := p.Requirements[i]
		t.Run(w.id, func(t *testing.T) {
			days, hours := -1, Hours(-1)
			if r.Target.Days != nil {
				days = int(r.Target.Days.Floor().Halves() / 2)
			}
			if r.Target.Hours != nil {
				hours = *r.Target.Hours
			}
			if got := (row{r.ID, r.Window, days, hours, r.Counts.Kind, r.Counts.InstitutionType}); got != w {
				t.Fatalf("requirement %d=%+v, want %+v", i, got, w)
			}
		})
	}
}

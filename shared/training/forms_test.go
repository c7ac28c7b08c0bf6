package training

import (
	"testing"
	"time"
)

func TestWholeMonths(t *testing.T) {
	for _, tc := range []struct {
		name       string
		start, end string
		want       int
	}{
		// docs/rules.md §4 (two calendar months, clamped): the shortest qualifying end E lasts 2 months, one day less does not.
		{"RulesRow1Shortest", "2024-03-01", "2024-04-30", 2},
		{"RulesRow1DayShort", "2024-03-01", "2024-04-29", 1},
		{"RulesRow2Shortest", "2024-03-15", "2024-05-14", 2},
		{"RulesRow2DayShort", "2024-03-15", "2024-05-13", 1},
		{"RulesRow3Shortest", "2024-12-31", "2025-02-27", 2},
		{"RulesRow3DayShort", "2024-12-31", "2025-02-26", 1},
		// Own edge cases: leap years, month ends, short and long spans.
		{"FromDec31IntoLeapFeb", "2023-12-31", "2024-02-28", 2},
		{"FromDec31IntoLeapFebDayShort", "2023-12-31", "2024-02-27", 1},
		{"LeapDayStart", "2024-02-29", "2024-04-28", 2},
		{"LeapDayStartDayShort", "2024-02-29", "2024-04-27", 1},
		{"LeapDayToLeapDayPlusYear", "2024-02-29", "2025-02-27", 12},
		{"Jan31ToFeb28Leap", "2024-01-31", "2024-02-28", 1},
		{"Jan31ToFeb27Leap", "2024-01-31", "2024-02-27", 0},
		{"OneDay", "2025-03-02", "2025-03-02", 0},
		{"FullYear", "2025-01-01", "2025-12-31", 12},
		{"FiveYears", "2023-01-01", "2027-12-31", 60},
		{"EndBeforeStart", "2025-03-02", "2025-03-01", 0},
		{"EndWellBeforeStart", "2025-03-02", "2024-03-01", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := WholeMonths(MustDate(tc.start), MustDate(tc.end)), tc.want; got != want {
				t.Fatalf("WholeMonths(%s, %s)=%d, want %d", tc.start, tc.end, got, want)
			}
		})
	}
}

// WholeMonths agrees with its definition (largest n with end+1 ≥ AddMonthsClamped(start, n)) for
// every start in 2023–2024 and every end up to 100 days later.
func TestWholeMonthsDefinition(t *testing.T) {
	for s := MustDate("2023-01-01"); s.Before(MustDate("2025-01-01")); s = s.AddDays(1) {
		for k := 0; k < 100; k++ {
			e := s.AddDays(k)
			want := 0
			for !e.AddDays(1).Before(s.AddMonthsClamped(want + 1)) {
				want++
			}
			if got := WholeMonths(s, e); got != want {
				t.Fatalf("WholeMonths(%s, %s)=%d, want %d", s, e, got, want)
			}
		}
	}
}

func TestFormLine(t *testing.T) {
	r := Record{Kind: KindCentralized, FullTime: true, StartDate: MustDate("2024-03-01"), EndDate: MustDate("2024-04-30"),
		Institution: "中央党校（国家行政学院）", CourseTitle: "中青年干部培训班"}
	for _, tc := range []struct {
		name string
		edit func(*Record)
		want string
	}{
		// docs/rules.md §4 "e.g. 2024.03—2024.04 在中央党校（国家行政学院）中青年干部培训班脱产培训".
		{"RulesExample", func(*Record) {}, "2024.03—2024.04 在中央党校（国家行政学院）中青年干部培训班脱产培训"},
		{"NoInstitution", func(r *Record) { r.Institution = "" }, "2024.03—2024.04 中青年干部培训班脱产培训"},
		{"BlankInstitution", func(r *Record) { r.Institution = "  " }, "2024.03—2024.04 中青年干部培训班脱产培训"},
		{"NoCourseTitle", func(r *Record) { r.CourseTitle = "" }, "2024.03—2024.04 在中央党校（国家行政学院）脱产培训"},
		{"NeitherOne", func(r *Record) { r.CourseTitle, r.Institution = "", "" }, "2024.03—2024.04 脱产培训"},
		{"NotFullTime", func(r *Record) { r.FullTime = false }, "2024.03—2024.04 在中央党校（国家行政学院）中青年干部培训班培训"},
		{"SameMonth", func(r *Record) { r.EndDate = MustDate("2024-03-20") }, "2024.03—2024.03 在中央党校（国家行政学院）中青年干部培训班脱产培训"},
		{"AcrossYears", func(r *Record) { r.StartDate, r.EndDate = MustDate("2024-12-31"), MustDate("2025-02-27") }, "2024.12—2025.02 在中央党校（国家行政学院）中青年干部培训班脱产培训"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := r
			tc.edit(&c)
			if got, want := FormLine(c), tc.want; got != want {
				t.Fatalf("FormLine=%q, want %q", got, want)
			}
		})
	}
}

func TestFormEntries(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, CST)
	base := Record{ID: "r_1", CadreID: "c-001", Kind: KindCentralized, FullTime: true,
		StartDate: MustDate("2024-03-01"), EndDate: MustDate("2024-04-30"), Days: WholeDays(61), Hours: HoursOf(320),
		Institution: "中央党校（国家行政学院）", CourseTitle: "中青年干部培训班", InstitutionType: "party_school",
		Assessment: AssessmentPassed, Status: StatusActive}
	for _, tc := range []struct {
		name   string
		edit   func(*Record)
		forms  []FormKind
		year   int // of the appraisal entry
		months int
	}{
		// docs/rules.md §4 "every full-time (脱产) centralized training is entered for the year of its end_date"
		// and "every full-time training lasting 2 calendar months or more is entered" in the 干部任免审批表.
		{"TwoMonthsBothForms", func(*Record) {}, []FormKind{FormAppraisal, FormAppointment}, 2024, 2},
		{"DayShortAppraisalOnly", func(r *Record) { r.EndDate = MustDate("2024-04-29") }, []FormKind{FormAppraisal}, 2024, 1},
		{"ClampedShortestQualifies", func(r *Record) { r.StartDate, r.EndDate = MustDate("2024-12-31"), MustDate("2025-02-27") }, []FormKind{FormAppraisal, FormAppointment}, 2025, 2},
		{"ClampedDayShort", func(r *Record) { r.StartDate, r.EndDate = MustDate("2024-12-31"), MustDate("2025-02-26") }, []FormKind{FormAppraisal}, 2025, 1},
		{"SpanningYearsEntersEndYear", func(r *Record) { r.StartDate, r.EndDate = MustDate("2024-12-20"), MustDate("2025-01-10") }, []FormKind{FormAppraisal}, 2025, 0},
		{"OneDayTraining", func(r *Record) { r.StartDate = r.EndDate }, []FormKind{FormAppraisal}, 2024, 0},
		// docs/rules.md “Half days”: a full-time half day is still full-time training, entered by its dates.
		{"HalfDayTraining", func(r *Record) { r.StartDate, r.Days = r.EndDate, DaysFromHalves(1) }, []FormKind{FormAppraisal}, 2024, 0},
		// Failed assessment: still entered, with the assessment (seed 000 四 records participation).
		{"FailedStillEntered", func(r *Record) { r.Assessment = AssessmentFailed }, []FormKind{FormAppraisal, FormAppointment}, 2024, 2},
		{"NotFullTime", func(r *Record) { r.FullTime = false }, nil, 0, 0},
		{"Voided", func(r *Record) { r.Status = StatusVoided }, nil, 0, 0},
		{"VoidingSet", func(r *Record) { r.Void = &Voiding{Reason: "dup"} }, nil, 0, 0},
		{"Online", func(r *Record) {
			r.Kind, r.StartDate, r.EndDate, r.StudiedOn = KindOnline, Date{}, Date{}, MustDate("2024-04-30")
		}, nil, 0, 0},
		{"OnlineMarkedFullTime", func(r *Record) { r.Kind = KindOnline }, nil, 0, 0},
		{"NoStartDate", func(r *Record) { r.StartDate = Date{} }, nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			tc.edit(&r)
			es := FormEntries(r, now)
			if got, want := len(es), len(tc.forms); got != want {
				t.Fatalf("len(entries)=%d, want %d: %+v", got, want, es)
			}
			for i, e := range es {
				if got, want := e.Form, tc.forms[i]; got != want {
					t.Fatalf("entry %d form=%s, want %s", i, got, want)
				}
				wantYear := 0
				if e.Form == FormAppraisal {
					wantYear = tc.year
				}
				if got, want := e.Year, wantYear; got != want {
					t.Fatalf("%s year=%d, want %d", e.Form, got, want)
				}
				if got, want := e.Months, tc.months; got != want {
					t.Fatalf("%s months=%d, want %d", e.Form, got, want)
				}
				want := FormEntry{CadreID: "c-001", Form: e.Form, Year: wantYear, RecordID: "r_1", StartDate: r.StartDate,
					EndDate: r.EndDate, Months: tc.months, Institution: r.Institution, CourseTitle: r.CourseTitle,
					Assessment: r.Assessment, Line: FormLine(r), Status: EntryActive, EnteredAt: now}
				if e != want {
					t.Fatalf("entry=%+v, want %+v", e, want)
				}
			}
		})
	}
}

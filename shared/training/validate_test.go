package training

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCheckRecord(t *testing.T) {
	central := func() Record {
		return Record{CadreID: "c-001", Kind: KindCentralized, FullTime: true, CourseTitle: "中青年干部培训班",
			Institution: "中央党校（国家行政学院）", InstitutionType: "party_school",
			StartDate: MustDate("2024-03-01"), EndDate: MustDate("2024-04-30"), Days: WholeDays(61), Hours: HoursOf(320),
			Assessment: AssessmentPassed, CompletedAt: time.Date(2024, 4, 30, 17, 0, 0, 0, CST)}
	}
	online := func() Record {
		return Record{CadreID: "c-001", Kind: KindOnline, Hours: 150, StudiedOn: MustDate("2025-03-02"),
			CourseTitle: "《信访工作条例》解读"}
	}
	for _, tc := range []struct {
		name      string
		rec       func() Record
		edit      func(*Record)
		daysGiven bool
		fields    []string // bad fields, in order
		days      string   // Days afterwards (when fields is empty)
	}{
		{"OKCentralizedAPIExample", central, func(*Record) {}, true, nil, "61"},
		// docs/rules.md §2 "Days of a centralized record … if absent, the inclusive calendar-day count".
		{"OKCentralizedDaysDerived", central, func(r *Record) { r.Days = Days{} }, false, nil, "61"},
		{"OKCentralizedDaysDerivedOverrides", central, func(r *Record) { r.Days = WholeDays(5) }, false, nil, "61"},
		{"OKCentralizedDaysLessThanSpan", central, func(r *Record) { r.Days = WholeDays(40) }, true, nil, "40"},
		{"OKCentralizedDaysEqualsSpan", central, func(r *Record) {
			r.StartDate, r.EndDate, r.Days, r.Hours = MustDate("2024-02-01"), MustDate("2024-02-29"), WholeDays(29), HoursOf(100)
		}, true, nil, "29"},
		{"OKOneDay", central, func(r *Record) { r.StartDate, r.Hours = r.EndDate, HoursOf(24) }, false, nil, "1"},
		{"OKNotFullTimeNoAssessment", central, func(r *Record) { r.FullTime, r.Assessment = false, "" }, true, nil, "61"},
		{"OKFailed", central, func(r *Record) { r.Assessment = AssessmentFailed }, true, nil, "61"},
		{"OKOnlineStudiedOn", online, func(*Record) {}, false, nil, "0"},
		{"OKOnlineCompletedAt", online, func(r *Record) { r.StudiedOn, r.CompletedAt = Date{}, time.Now() }, false, nil, "0"},
		{"OKOneHundredth", online, func(r *Record) { r.Hours = 1 }, false, nil, "0"},
		// docs/rules.md §2 "… negative, zero … 学时 is a 400 error".
		{"ErrHoursZero", online, func(r *Record) { r.Hours = 0 }, false, []string{"hours"}, "0"},
		{"ErrHoursNegative", online, func(r *Record) { r.Hours = -100 }, false, []string{"hours"}, "0"},
		// docs/rules.md “Local crediting overlays”: an online course may report its length.
		{"OKOnlineDuration", online, func(r *Record) { r.DurationMinutes = 45 }, false, nil, "0"},
		{"ErrDurationOverADay", online, func(r *Record) { r.DurationMinutes = 1441 }, false, []string{"duration_minutes"}, "0"},
		{"ErrDurationNegative", online, func(r *Record) { r.DurationMinutes = -1 }, false, []string{"duration_minutes"}, "0"},
		{"ErrDurationCentralized", central, func(r *Record) { r.DurationMinutes = 45 }, true, []string{"duration_minutes"}, "0"},
		{"ErrHoursNegativeCentralized", central, func(r *Record) { r.Hours = -100 }, true, []string{"hours"}, "0"},
		// docs/rules.md “Local crediting overlays”: a centralized record may come without 学时 (0).
		{"OKCentralizedWithoutHours", central, func(r *Record) { r.Hours = 0 }, true, nil, "61"},
		// docs/rules.md §2 "a centralized record with more than 24 学时 per day of its span".
		{"OKTwentyFourPerDay", central, func(r *Record) { r.Hours = HoursOf(24 * 61) }, true, nil, "61"},
		{"ErrOverTwentyFourPerDay", central, func(r *Record) { r.Hours = HoursOf(24*61) + 1 }, true, []string{"hours"}, "0"},
		{"ErrOneDayOverTwentyFour", central, func(r *Record) { r.StartDate, r.Hours = r.EndDate, mustHours(t, "24.01") }, false, []string{"hours"}, "0"},
		// docs/rules.md §2 "an end_date before its start_date".
		{"ErrEndBeforeStart", central, func(r *Record) { r.StartDate, r.EndDate = MustDate("2024-05-01"), MustDate("2024-04-30") }, false, []string{"end_date"}, "0"},
		{"ErrEndBeforeStartDaysGiven", central, func(r *Record) { r.StartDate, r.EndDate = MustDate("2024-05-01"), MustDate("2024-04-30") }, true, []string{"end_date"}, "0"},
		{"ErrNoDates", central, func(r *Record) { r.StartDate, r.EndDate = Date{}, Date{} }, false, []string{"start_date", "end_date"}, "0"},
		{"ErrNoEndDate", central, func(r *Record) { r.EndDate = Date{} }, true, []string{"end_date"}, "0"},
		// docs/rules.md §2 "days larger than that span is a 400 error".
		{"ErrDaysOverSpan", central, func(r *Record) { r.Days = WholeDays(62) }, true, []string{"days"}, "0"},
		{"ErrDaysZeroGiven", central, func(r *Record) { r.Days = Days{} }, true, []string{"days"}, "0"},
		{"ErrDaysNegative", central, func(r *Record) { r.Days = WholeDays(-1) }, true, []string{"days"}, "0"},
		// docs/rules.md “Half days”: days in steps of 0.5, at most the calendar span.
		{"OKHalfDay", central, func(r *Record) { r.Days = mustDays(t, "60.5") }, true, nil, "60.5"},
		{"OKHalfDayAlone", central, func(r *Record) { r.StartDate, r.Days, r.Hours = r.EndDate, mustDays(t, "0.5"), HoursOf(4) }, true, nil, "0.5"},
		{"ErrHalfDayOverSpan", central, func(r *Record) { r.Days = mustDays(t, "61.5") }, true, []string{"days"}, "0"},
		{"ErrHalfDayOverOneDay", central, func(r *Record) { r.StartDate, r.Days, r.Hours = r.EndDate, mustDays(t, "1.5"), HoursOf(4) }, true, []string{"days"}, "0"},
		{"ErrHalfDayNegative", central, func(r *Record) { r.Days = mustDays(t, "-0.5") }, true, []string{"days"}, "0"},
		{"ErrCentralizedStudiedOn", central, func(r *Record) { r.StudiedOn = MustDate("2024-04-30") }, true, []string{"studied_on"}, "0"},
		{"ErrKindMissing", online, func(r *Record) { r.Kind = "" }, false, []string{"kind"}, "0"},
		{"ErrKindUnknown", online, func(r *Record) { r.Kind = "offline" }, false, []string{"kind"}, "0"},
		{"ErrCadreMissing", online, func(r *Record) { r.CadreID = " " }, false, []string{"cadre_id"}, "0"},
		// docs/api.md "online needs completed_at (or studied_on)", "full_time only for centralized".
		{"ErrOnlineNoDate", online, func(r *Record) { r.StudiedOn = Date{} }, false, []string{"studied_on"}, "0"},
		{"ErrOnlineFullTime", online, func(r *Record) { r.FullTime = true }, false, []string{"full_time"}, "0"},
		{"ErrOnlineDates", online, func(r *Record) { r.StartDate, r.EndDate = MustDate("2025-03-01"), MustDate("2025-03-02") }, false, []string{"start_date", "end_date"}, "0"},
		{"ErrOnlineDaysGiven", online, func(*Record) {}, true, []string{"days"}, "0"},
		{"ErrAssessment", online, func(r *Record) { r.Assessment = "excellent" }, false, []string{"assessment"}, "0"},
		{"ErrInstitutionType", central, func(r *Record) { r.InstitutionType = "Party School" }, true, []string{"institution_type"}, "0"},
		{"ErrCourseTitleTooLong", online, func(r *Record) { r.CourseTitle = strings.Repeat("培", 201) }, false, []string{"course_title"}, "0"},
		{"OKCourseTitle200", online, func(r *Record) { r.CourseTitle = strings.Repeat("培", 200) }, false, nil, "0"},
		{"ErrInstitutionTooLong", central, func(r *Record) { r.Institution = strings.Repeat("校", 201) }, true, []string{"institution"}, "0"},
		{"ErrEverythingAtOnce", online, func(r *Record) {
			r.CadreID, r.Hours, r.StudiedOn, r.FullTime, r.Assessment = "", 0, Date{}, true, "x"
		}, false, []string{"cadre_id", "hours", "studied_on", "full_time", "assessment"}, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rec()
			tc.edit(&r)
			before := r
			fs := CheckRecord(&r, tc.daysGiven)
			var got []string
			for _, fe := range fs {
				got = append(got, fe.Field)
				if fe.Message == "" {
					t.Fatalf("field %s has no message", fe.Field)
				}
			}
			if want := tc.fields; !reflect.DeepEqual(got, want) {
				t.Fatalf("bad fields=%v, want %v (%v)", got, want, fs)
			}
			if got, want := fs.Err() == nil, len(tc.fields) == 0; got != want {
				t.Fatalf("Err()==nil is %v, want %v", got, want)
			}
			if len(tc.fields) == 0 {
				if got, want := r.Days, mustDays(t, tc.days); got != want {
					t.Fatalf("days=%s, want %s", got, want)
				}
			}
			// "Does not mutate anything else."
			r.Days, before.Days = Days{}, Days{}
			if !reflect.DeepEqual(r, before) {
				t.Fatalf("record changed beyond Days: %+v, was %+v", r, before)
			}
		})
	}
}

func TestCheckRecordErrIsInvalid(t *testing.T) {
	r := Record{}
	err := CheckRecord(&r, false).Err()
	if got, want := ErrorCode(err), EINVALID; got != want {
		t.Fatalf("code=%q, want %q", got, want)
	}
}

package training

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAddMonthsClamped(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start string
		n     int
		want  string
	}{
		// docs/rules.md §4 (clamped month arithmetic): addMonthsClamped(S, 2) for the boundary starts.
		{"RulesRow1", "2024-03-01", 2, "2024-05-01"},
		{"RulesRow2", "2024-03-15", 2, "2024-05-15"},
		{"RulesRow3YearEndClamp", "2024-12-31", 2, "2025-02-28"},
		// Own edge cases: leap years and month ends.
		{"IntoLeapFebruary", "2023-12-31", 2, "2024-02-29"},
		{"Jan31PlusOneLeap", "2024-01-31", 1, "2024-02-29"},
		{"Jan31PlusOneCommon", "2025-01-31", 1, "2025-02-28"},
		{"LeapDayPlusYear", "2024-02-29", 12, "2025-02-28"},
		{"LeapDayPlusTwo", "2024-02-29", 2, "2024-04-29"},
		{"Aug31PlusOne", "2024-08-31", 1, "2024-09-30"},
		{"Zero", "2024-05-31", 0, "2024-05-31"},
		{"Minus", "2024-03-31", -1, "2024-02-29"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := MustDate(tc.start).AddMonthsClamped(tc.n), MustDate(tc.want); got != want {
				t.Fatalf("%s + %d months = %s, want %s", tc.start, tc.n, got, want)
			}
		})
	}
	t.Run("NotGoAddDate", func(t *testing.T) {
		// docs/rules.md §4 asks for clamped months; Go's time.AddDate does not clamp: it normalises 2025-02-31 to 2025-03-03.
		goDate := DateOf(time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC).AddDate(0, 2, 0))
		if got := MustDate("2024-12-31").AddMonthsClamped(2); got == goDate {
			t.Fatalf("AddMonthsClamped agrees with AddDate (%s); it must clamp", got)
		}
	})
}

func TestDaysThrough(t *testing.T) {
	for _, tc := range []struct {
		name       string
		start, end string
		want       int
	}{
		{"SameDay", "2025-03-02", "2025-03-02", 1},
		{"ApiExample", "2024-03-01", "2024-04-30", 61},
		{"LeapFebruary", "2024-02-01", "2024-02-29", 29},
		{"AcrossYearEnd", "2024-12-30", "2025-01-02", 4},
		{"LeapYear", "2024-01-01", "2024-12-31", 366},
		{"PlanPeriod", "2023-01-01", "2027-12-31", 1826},
		{"EndBefore", "2025-03-02", "2025-03-01", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := MustDate(tc.start).DaysThrough(MustDate(tc.end)), tc.want; got != want {
				t.Fatalf("DaysThrough(%s, %s)=%d, want %d", tc.start, tc.end, got, want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		err  bool
	}{
		{"OK", "2025-03-02", false},
		{"LeapDay", "2024-02-29", false},
		{"ErrNoLeapDay", "2025-02-29", true},
		{"ErrFeb30", "2024-02-30", true},
		{"ErrSlashes", "2025/03/02", true},
		{"ErrTime", "2025-03-02T00:00:00Z", true},
		{"ErrEmpty", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDate(tc.in)
			if got, want := err != nil, tc.err; got != want {
				t.Fatalf("ParseDate(%q) err=%v, want error %v", tc.in, err, want)
			}
			if err == nil {
				if got, want := d.String(), tc.in; got != want {
					t.Fatalf("ParseDate(%q).String()=%q", tc.in, got)
				}
			}
		})
	}
}

func TestDateJSON(t *testing.T) {
	type doc struct {
		D Date `json:"d"`
	}
	t.Run("RoundTrip", func(t *testing.T) {
		in := doc{MustDate("2024-02-29")}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), `{"d":"2024-02-29"}`; got != want {
			t.Fatalf("marshal=%s, want %s", got, want)
		}
		var out doc
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if got, want := out.D, in.D; got != want {
			t.Fatalf("round trip=%v, want %v", got, want)
		}
	})
	t.Run("ZeroIsNull", func(t *testing.T) {
		b, err := json.Marshal(doc{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), `{"d":null}`; got != want {
			t.Fatalf("marshal=%s, want %s", got, want)
		}
		out := doc{MustDate("2025-01-01")}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if !out.D.IsZero() {
			t.Fatalf("null unmarshalled to %v, want zero", out.D)
		}
	})
	t.Run("ErrInvalidDate", func(t *testing.T) {
		var out doc
		if err := json.Unmarshal([]byte(`{"d":"2025-02-30"}`), &out); err == nil {
			t.Fatalf("2025-02-30 unmarshalled to %v, want error", out.D)
		}
	})
	t.Run("ErrNumber", func(t *testing.T) {
		var out doc
		if err := json.Unmarshal([]byte(`{"d":20250302}`), &out); err == nil {
			t.Fatalf("number unmarshalled to %v, want error", out.D)
		}
	})
}

// docs/rules.md §2 "the date of completed_at in China Standard Time, UTC+8".
func TestDateInCST(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   string
		want string
	}{
		{"BeforeMidnightUTCIsNextDayCST", "2024-12-31T16:30:00Z", "2025-01-01"},
		{"JustBeforeCSTMidnight", "2024-12-31T15:59:59Z", "2024-12-31"},
		{"ExactlyCSTMidnight", "2024-12-31T16:00:00Z", "2025-01-01"},
		{"OffsetGiven", "2024-04-30T17:00:00+08:00", "2024-04-30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := DateInCST(at), MustDate(tc.want); got != want {
				t.Fatalf("DateInCST(%s)=%s, want %s", tc.at, got, want)
			}
		})
	}
}

// TestDayNumberMatchesTime: the integer day count (days_from_civil) and AddDays (civil_from_days) are the count of days since
// 1970-01-01 and the date that time gives, for every day of years -1200 to 2800 sampled every 7 days (leap
// rules of 100 and 400 years, negative years) and for dates out of range, which are normalised as
// time.Date does (2025-02-30 is 2025-03-02).
func TestDayNumberMatchesTime(t *testing.T) {
	viaTime := func(d Date) int64 {
		secs := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix()
		days := secs / 86400
		if secs%86400 < 0 {
			days--
		}
		return days
	}
	for d := time.Date(-1200, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2800; d = d.AddDate(0, 0, 7) {
		dd := DateOf(d)
		if got, want := dd.dayNumber(), viaTime(dd); got != want {
			t.Fatalf("%v: dayNumber=%d, want %d", dd, got, want)
		}
		for _, n := range []int{-800, -1, 1, 3, 59, 366} {
			if got, want := dd.AddDays(n), DateOf(d.AddDate(0, 0, n)); got != want {
				t.Fatalf("%v.AddDays(%d)=%v, want %v", dd, n, got, want)
			}
		}
	}
	for _, d := range []Date{{2025, 2, 30}, {2024, 2, 29}, {2100, 2, 29}, {2000, 2, 29}, {2025, 13, 1}, {2025, 0, 10}, {2025, 4, 31}, {2025, 5, 0}, {-1, 12, 31}, {0, 3, 1}} {
		if got, want := d.dayNumber(), viaTime(d); got != want {
			t.Errorf("%+v: dayNumber=%d, want %d", d, got, want)
		}
		if got, want := d.AddDays(1), DateOf(d.t().AddDate(0, 0, 1)); got != want {
			t.Errorf("%+v.AddDays(1)=%v, want %v", d, got, want)
		}
	}
}

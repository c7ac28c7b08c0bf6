package training

import (
	"encoding/json"
	"fmt"
	"time"
)

// China Standard Time. docs/rules.md §2: “Calendar years and plan periods are in China Standard Time.”
// A fixed zone (no tzdata needed in the Lambda image).
var CST = time.FixedZone("CST", 8*60*60)

// Date is a calendar date without a time of day or zone (YYYY-MM-DD). The zero Date is "no date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses YYYY-MM-DD strictly (2025-02-30 is an error).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("must be a date YYYY-MM-DD")
	}
	if t.Year() < MinYear {
		return Date{}, fmt.Errorf("must be a date in %d or later", MinYear)
	}
	return DateOf(t), nil
}

// MinYear is the earliest year a date may have: no cadre record, rank change or query date lies
// before it, and it keeps year 0000 (which time.Parse accepts) out of the arithmetic.
const MinYear = 1900

// MustDate parses s or panics; for tests and constants.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(fmt.Sprintf("MustDate(%q): %v", s, err))
	}
	return d
}

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// DateInCST returns the calendar date of instant t in China Standard Time.
func DateInCST(t time.Time) Date { return DateOf(t.In(CST)) }

// Today returns today's date in China Standard Time.
func Today(now time.Time) Date { return DateInCST(now) }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

func (d Date) t() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// String formats d as YYYY-MM-DD ("" for the zero Date).
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	// By hand, not fmt: dates are formatted on every key, view and export.
	if d.Year < 0 || d.Year > 9999 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
	}
	var b [10]byte
	y, m, day := d.Year, int(d.Month), d.Day
	b[0], b[1], b[2], b[3] = byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10)
	b[4], b[5], b[6] = '-', byte('0'+m/10), byte('0'+m%10)
	b[7], b[8], b[9] = '-', byte('0'+day/10), byte('0'+day%10)
	return string(b[:])
}

// AddDays returns d shifted by n days (counted in integers, as dayNumber).
func (d Date) AddDays(n int) Date { return dateOfDayNumber(d.dayNumber() + int64(n)) }

// ord is a number that orders dates as Compare does (for sorting by a precomputed key).
func (d Date) ord() int64 { return int64(d.Year)<<9 | int64(d.Month)<<5 | int64(d.Day) }

// Before reports d < o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports d > o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// Compare returns -1, 0 or +1. Field by field: a Date is always a real calendar date (ParseDate,
// DateOf), so this orders as time does, without building two time.Time values per comparison
// (the evaluation's hottest path).
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmpInt(d.Year, o.Year)
	case d.Month != o.Month:
		return cmpInt(int(d.Month), int(o.Month))
	}
	return cmpInt(d.Day, o.Day)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// DaysThrough is the inclusive count of calendar days from d to end (1 when equal, ≤ 0 when end < d).
// It counts in whole days since the Unix epoch, not through time.Duration, whose ±292 years would
// overflow for distant dates (docs/rules.md "Plausibility and bounds").
func (d Date) DaysThrough(end Date) int {
	return int(end.dayNumber()-d.dayNumber()) + 1
}

// dayNumber is the number of days from 1970-01-01 to d (negative before). A real calendar date
// is counted in integers (Howard Hinnant's days_from_civil), not through a time.Time: evaluations
// count days of every span; anything else (a month or day out of range) is normalised as
// time.Date does.
func (d Date) dayNumber() int64 {
	if d.Month < time.January || d.Month > time.December || d.Day < 1 || d.Day > 28 && d.Day > daysIn(d.Year, d.Month) {
		secs := d.t().Unix()
		days := secs / 86400
		if secs%86400 < 0 {
			days--
		}
		return days
	}
	y, m := int64(d.Year), int64(d.Month)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400                     // [0, 399]
	mp := (m + 9) % 12                     // March = 0
	doy := (153*mp+2)/5 + int64(d.Day) - 1 // [0, 365]
	doe := yoe*365 + yoe/4 - yoe/100 + doy // [0, 146096]
	return era*146097 + doe - 719468
}

// dateOfDayNumber is the date n days after 1970-01-01 (Howard Hinnant's civil_from_days).
func dateOfDayNumber(n int64) Date {
	z := n + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // March = 0
	day := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return Date{int(y), time.Month(m), int(day)}
}

// daysIn is the number of days of month m of year y.
func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// AddMonthsClamped adds n calendar months, clamping the day of month to the last day of a
// shorter month, as Java's LocalDate.plusMonths and PostgreSQL's + interval 'n months' do.
// docs/rules.md §4: months are clamped (Go's time.AddDate does not clamp): 2024-12-31 + 2 months = 2025-02-28.
func (d Date) AddMonthsClamped(n int) Date {
	first := time.Date(d.Year, d.Month, 1, 0, 0, 0, 0, time.UTC).AddDate(0, n, 0)
	last := first.AddDate(0, 1, -1).Day()
	day := d.Day
	if day > last {
		day = last
	}
	return Date{first.Year(), first.Month(), day}
}

// MarshalJSON writes "YYYY-MM-DD", or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a date YYYY-MM-DD")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

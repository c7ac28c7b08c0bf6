package training

import (
	"encoding/json"
	"errors"
	"testing"
)

func mustDays(tb testing.TB, s string) Days {
	tb.Helper()
	d, err := ParseDays(s)
	if err != nil {
		tb.Fatalf("ParseDays(%q): %v", s, err)
	}
	return d
}

// docs/rules.md “Half days”: days are sent in steps of 0.5 and kept exactly, in half days; JSON
// shows 3 for whole days (existing clients see no change) and 2.5 for a half.
func TestParseDays(t *testing.T) {
	for _, tc := range []struct {
		in     string
		halves int64
		out    string // String(); "" for an error
	}{
		{"3", 6, "3"},
		{"2.5", 5, "2.5"},
		{"0.5", 1, "0.5"},
		{"2.50", 5, "2.5"},
		{"3.0", 6, "3"},
		{"0", 0, "0"},
		{"-0.5", -1, "-0.5"}, // parsed; validation rejects it on days
		{"0.3", 0, ""},
		{"2.25", 0, ""},
		{"2.75", 0, ""},
		{"1e1", 0, ""},
		{"2.", 0, ""},
		{".5", 0, ""},
		{`"3"`, 0, ""},
		{"2.500", 0, ""},
		{"10000000000", 0, ""}, // more days than any sum may hold
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := ParseDays(tc.in)
			if tc.out == "" {
				if !errors.Is(err, ErrDaysFormat) {
					t.Fatalf("ParseDays(%q)=%v, %v; want ErrDaysFormat", tc.in, d, err)
				}
				return
			}
			if err != nil || d.Halves() != tc.halves || d.String() != tc.out {
				t.Fatalf("ParseDays(%q)=%d halves %q, %v; want %d, %q", tc.in, d.Halves(), d, err, tc.halves, tc.out)
			}
			b, _ := json.Marshal(Measures{Days: &d})
			var back Measures
			if err := json.Unmarshal(b, &back); err != nil || *back.Days != d {
				t.Fatalf("JSON round trip of %s: %s → %v, %v", d, b, back.Days, err)
			}
		})
	}
}

// docs/rules.md “Half days”: without an overlay that credits half days a record is credited its
// whole days (rounded down); under half_days its days as sent. Online records credit no days.
func TestCreditedDays(t *testing.T) {
	half := &Overlay{Crediting: Crediting{HalfDays: true}}
	whole := &Overlay{Crediting: Crediting{DaysToHours: &DaysToHours{HoursPerDay: HoursOf(6)}}}
	for _, tc := range []struct {
		name string
		ov   *Overlay
		days string
		want string
	}{
		{"NoOverlayHalf", nil, "0.5", "0"},
		{"NoOverlayTwoAndAHalf", nil, "2.5", "2"},
		{"NoOverlayWhole", nil, "3", "3"},
		{"OverlayWithoutHalfDays", whole, "2.5", "2"},
		{"HalfDays", half, "2.5", "2.5"},
		{"HalfDaysHalf", half, "0.5", "0.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Record{Kind: KindCentralized, Days: mustDays(t, tc.days)}
			if got, want := CreditedDays(tc.ov, r), mustDays(t, tc.want); got != want {
				t.Fatalf("CreditedDays=%s, want %s", got, want)
			}
		})
	}
	if got := CreditedDays(half, Record{Kind: KindOnline, Days: WholeDays(3)}); !got.IsZero() {
		t.Fatalf("online CreditedDays=%s, want 0", got)
	}
}

// docs/rules.md “Half days” and “Local crediting overlays”: days_to_hours converts half days
// exactly (《干部培训学分(学时)统计内容说明》（南京市）“每半天按3学分(学时)折算”: 0.5 × 6 = 3), only the
// days credited (a half day without half_days converts nothing), overflow-checked.
func TestCreditedHoursHalfDays(t *testing.T) {
	conv := func(per string, half bool) *Overlay {
		return &Overlay{Crediting: Crediting{HalfDays: half, DaysToHours: &DaysToHours{HoursPerDay: mustHours(t, per), ReplaceSentHours: true}}}
	}
	for _, tc := range []struct {
		name string
		ov   *Overlay
		days string
		want string // "" for an error
	}{
		{"HalfDayNanjing", conv("6", true), "0.5", "3"},
		{"TwoAndAHalfTimesEight", conv("8", true), "2.5", "20"},
		{"TwoAndAHalfTimesSixPointFive", conv("6.5", true), "2.5", "16.25"},
		{"WithoutHalfDaysRoundedDown", conv("8", false), "2.5", "16"},
		{"HalfAloneWithoutHalfDays", conv("8", false), "0.5", "0"},
		{"OddHundredthsRejected", conv("6.25", true), "0.5", ""}, // ParseOverlay refuses such a file
		{"Overflow", conv("24", true), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Record{Kind: KindCentralized, Hours: HoursOf(1)}
			if tc.days == "" {
				r.Days = DaysFromHalves(1 << 61)
			} else {
				r.Days = mustDays(t, tc.days)
			}
			h, err := CreditedHours(tc.ov, r)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("CreditedHours=%s, want an error", h)
				}
				return
			}
			if err != nil || h != mustHours(t, tc.want) {
				t.Fatalf("CreditedHours=%s, %v; want %s", h, err, tc.want)
			}
		})
	}
}

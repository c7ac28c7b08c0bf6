package training

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Days is an amount of training days in exact half days: WholeDays(3) is 3 days, DaysFromHalves(5)
// is 2.5.
//
// docs/rules.md “Half days”: a centralized record's days may be sent in steps of 0.5; whether a half
// day is credited as a half is a local crediting rule (an overlay's half_days), otherwise the
// national rule's whole days count (CreditedDays). Sums and comparisons are integer arithmetic on
// halves, never floating point; JSON shows a number (2.5, or 3 for whole days).
//
// Days is a struct so that an untyped constant cannot become an amount of days by accident
// (Days: 3 would be 1.5 days if Days were an integer of halves): build values with WholeDays,
// DaysFromHalves or ParseDays.
type Days struct{ halves int64 }

// WholeDays returns n whole days.
func WholeDays(n int64) Days { return Days{2 * n} }

// DaysFromHalves returns n half days: DaysFromHalves(5) is 2.5 days.
func DaysFromHalves(n int64) Days { return Days{n} }

// Halves is the amount in half days.
func (d Days) Halves() int64 { return d.halves }

// IsZero reports whether d is 0 days.
func (d Days) IsZero() bool { return d.halves == 0 }

// IsWhole reports whether d is a whole number of days.
func (d Days) IsWhole() bool { return d.halves%2 == 0 }

// Floor is d rounded down to whole days (for d ≥ 0).
func (d Days) Floor() Days { return Days{d.halves - d.halves%2} }

// Compare returns -1, 0 or +1 as d is less than, equal to or more than o.
func (d Days) Compare(o Days) int { return cmp.Compare(d.halves, o.halves) }

// Plus is d + o; Minus is d − o. Callers sum bounded amounts (days of calendar spans, or sums
// checked by SumDays).
func (d Days) Plus(o Days) Days  { return Days{d.halves + o.halves} }
func (d Days) Minus(o Days) Days { return Days{d.halves - o.halves} }

// MinDays is the smaller of a and b.
func MinDays(a, b Days) Days {
	if b.halves < a.halves {
		return b
	}
	return a
}

// maxDays bounds what ParseDays accepts, so that sums and products of days stay far inside int64.
const maxDays = 1_000_000_000

// ErrDaysFormat is returned (wrapped) by ParseDays for text that is not a number of days in
// steps of 0.5.
var ErrDaysFormat = errors.New("must be a number of days in steps of 0.5 (e.g. 3 or 2.5)")

// ParseDays parses a JSON number's text exactly: a whole number, or one with a fraction of .5
// ("2.5", "3", "3.0", "0.50"). An optional leading minus is accepted (callers reject negatives with
// a clearer message); no exponent, never through float64.
func ParseDays(s string) (Days, error) {
	h, err := ParseHours(s) // the same decimal syntax, in hundredths
	if err != nil {
		return Days{}, ErrDaysFormat
	}
	if h%50 != 0 {
		return Days{}, ErrDaysFormat
	}
	if h > maxDays*100 || h < -maxDays*100 {
		return Days{}, fmt.Errorf("%w (too large)", ErrDaysFormat)
	}
	return Days{int64(h / 50)}, nil
}

// String renders the shortest exact decimal: 3, 2.5, 0.5, -1.5.
func (d Days) String() string {
	v := d.halves
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	if v%2 == 0 {
		return sign + strconv.FormatInt(v/2, 10)
	}
	return sign + strconv.FormatInt(v/2, 10) + ".5"
}

// MarshalJSON writes Days as a JSON number (3, 2.5).
func (d Days) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalJSON reads a JSON number of days in steps of 0.5 exactly (see ParseDays).
func (d *Days) UnmarshalJSON(b []byte) error {
	v, err := ParseDays(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// SumDays adds two amounts of days, failing instead of overflowing.
func SumDays(a, b Days) (Days, error) {
	s := a.halves + b.halves
	if (b.halves > 0 && s < a.halves) || (b.halves < 0 && s > a.halves) {
		return Days{}, fmt.Errorf("days sum overflows")
	}
	return Days{s}, nil
}

// CreditedDays is the days record r is credited under overlay ov before the union of calendar
// days (creditDays): the days sent when the overlay credits half days (half_days), else whole days
// only — a half day is rounded down, as the national rule counts days (docs/rules.md “Half days”).
// Online records credit no days.
func CreditedDays(ov *Overlay, r Record) Days {
	if r.Kind != KindCentralized {
		return Days{}
	}
	if ov != nil && ov.Crediting.HalfDays {
		return r.Days
	}
	return r.Days.Floor()
}

var _ json.Marshaler = Days{}

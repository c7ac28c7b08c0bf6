package training

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Hours is an amount of 学时 in exact hundredths: Hours(150) is 1.5 学时.
//
// docs/rules.md §2: “学时 are exact decimals. Accept at most 2 decimal places, sum exactly
// (integer hundredths or a decimal type), never in binary floating point.” Sums of Hours are
// plain integer additions, so 900 records of 0.1 学时 make exactly 90 学时.
type Hours int64

// HoursOf returns whole 学时 as Hours.
func HoursOf(whole int64) Hours { return Hours(whole * 100) }

// ErrHoursFormat is returned (wrapped) by ParseHours for text that is not a plain decimal
// with at most two places.
var ErrHoursFormat = errors.New("must be a decimal number with at most 2 decimal places")

// ParseHours parses a JSON number's text ("1.5", "90", "0.01") exactly. It accepts an optional
// leading minus sign (callers reject negatives with a clearer message), at most two fraction
// digits, and no exponent. It never goes through float64.
func ParseHours(s string) (Hours, error) {
	if s == "" {
		return 0, ErrHoursFormat
	}
	neg := false
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") || len(frac) > 2 || !allDigits(intPart) || !allDigits(frac) {
		return 0, ErrHoursFormat
	}
	if len(intPart) > 13 { // keeps hundredths far inside int64
		return 0, fmt.Errorf("%w (too large)", ErrHoursFormat)
	}
	whole, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return 0, ErrHoursFormat
	}
	for len(frac) < 2 {
		frac += "0"
	}
	cents, _ := strconv.ParseInt(frac, 10, 64)
	h := Hours(whole*100 + cents)
	if neg {
		h = -h
	}
	return h, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Hundredths is h in hundredths of a 学时 (what shared/sheet writes to xlsx as a number).
func (h Hours) Hundredths() int64 { return int64(h) }

// String renders the shortest exact decimal: 64.5, 90, 0.01, -1.25.
func (h Hours) String() string {
	sign := ""
	v := int64(h)
	if v < 0 {
		sign = "-"
		v = -v
	}
	whole, cents := v/100, v%100
	switch {
	case cents == 0:
		return fmt.Sprintf("%s%d", sign, whole)
	case cents%10 == 0:
		return fmt.Sprintf("%s%d.%d", sign, whole, cents/10)
	default:
		return fmt.Sprintf("%s%d.%02d", sign, whole, cents)
	}
}

// MarshalJSON writes Hours as a JSON number with at most two decimal places.
func (h Hours) MarshalJSON() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalJSON reads a JSON number exactly (see ParseHours).
func (h *Hours) UnmarshalJSON(b []byte) error {
	v, err := ParseHours(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

var _ json.Marshaler = Hours(0)

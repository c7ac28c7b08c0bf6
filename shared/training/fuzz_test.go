package training_test

import (
	"testing"

	"github.com/cadre-training/cadretrain/shared/training"
)

// FuzzParseHours: 学时 parse exactly or not at all, and what parses prints back to itself
// (docs/rules.md §2: exact decimals, at most 2 places).
func FuzzParseHours(f *testing.F) {
	for _, s := range []string{"0", "1.5", "320", "0.01", "50.00", "-1", "1e3", "9999999999999999.99", "1.234", "", " 1", "0x10", "١٢"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := training.ParseHours(s)
		if err != nil {
			return
		}
		back, err := training.ParseHours(h.String())
		if err != nil || back != h {
			t.Fatalf("ParseHours(%q)=%v prints %q, which parses to %v, %v", s, h, h.String(), back, err)
		}
	})
}

// FuzzParseDate: a parsed date is a real calendar date from MinYear on and prints back to itself.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-03-01", "0000-01-01", "2024-02-29", "2023-02-29", "9999-12-31", "2026-3-1", "", "2026-13-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := training.ParseDate(s)
		if err != nil {
			return
		}
		if d.Year < training.MinYear {
			t.Fatalf("ParseDate(%q) = %v, before %d", s, d, training.MinYear)
		}
		if d.String() != s {
			t.Fatalf("ParseDate(%q) prints %q", s, d.String())
		}
	})
}

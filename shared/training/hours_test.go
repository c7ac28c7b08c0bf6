package training

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestParseHours(t *testing.T) {
	// docs/rules.md §2 "学时 are exact decimals. Accept at most 2 decimal places … never in binary floating point".
	// ParseHours accepts a leading minus sign on purpose (CheckRecord rejects negatives with a clearer message).
	for _, tc := range []struct {
		name string
		in   string
		want Hours
		err  bool
	}{
		{"OneAndAHalf", "1.5", 150, false},
		{"OneHundredth", "0.01", 1, false},
		{"Whole", "90", 9000, false},
		{"TwoPlaces", "90.00", 9000, false},
		{"MinusOne", "-1", -100, false},
		{"ErrThreePlaces", "1.234", 0, true},
		{"ErrExponent", "1e2", 0, true},
		{"ErrEmpty", "", 0, true},
		{"ErrTrailingDot", "1.", 0, true},
		{"ErrLeadingDot", ".5", 0, true},
		{"ErrText", "abc", 0, true},
		{"ErrString", `"1.5"`, 0, true},
		{"ErrPlus", "+1", 0, true},
		{"ErrTooLarge", "12345678901234", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHours(tc.in)
			if tc.err {
				if err == nil {
					t.Fatalf("ParseHours(%q)=%v, want error", tc.in, got)
				}
				if !errors.Is(err, ErrHoursFormat) {
					t.Fatalf("ParseHours(%q) err=%v, want ErrHoursFormat", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHours(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseHours(%q)=%d hundredths, want %d", tc.in, got, tc.want)
			}
		})
	}
}

// docs/rules.md §2 "900 records of 0.1 学时 make exactly 90 学时"; the float64 sum does not.
func TestHoursSumExact(t *testing.T) {
	tenth, err := ParseHours("0.1")
	if err != nil {
		t.Fatal(err)
	}
	var sum Hours
	var f float64
	for range 900 {
		sum += tenth
		f += 0.1
	}
	if got, want := sum, HoursOf(90); got != want {
		t.Fatalf("900 × 0.1 = %v, want %v", got, want)
	}
	if f == 90 { // documents why Hours exists: this would make the test above pointless
		t.Fatalf("float64 sum unexpectedly exact: %v", f)
	}
}

func TestHoursString(t *testing.T) {
	for _, tc := range []struct {
		in   Hours
		want string
	}{
		{6450, "64.5"},
		{9000, "90"},
		{1, "0.01"},
		{2550, "25.5"},
		{-125, "-1.25"},
		{0, "0"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got, want := tc.in.String(), tc.want; got != want {
				t.Fatalf("Hours(%d).String()=%q, want %q", int64(tc.in), got, want)
			}
		})
	}
}

func TestHoursJSON(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		var v struct {
			H Hours `json:"hours"`
		}
		if err := json.Unmarshal([]byte(`{"hours": 64.5}`), &v); err != nil {
			t.Fatal(err)
		}
		if got, want := v.H, Hours(6450); got != want {
			t.Fatalf("hours=%d, want %d", got, want)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), `{"hours":64.5}`; got != want {
			t.Fatalf("marshal=%s, want %s", got, want)
		}
	})
	t.Run("ErrThreePlaces", func(t *testing.T) {
		var h Hours
		if err := json.Unmarshal([]byte(`1.234`), &h); err == nil {
			t.Fatalf("unmarshal 1.234 = %v, want error", h)
		}
	})
	t.Run("ErrExponent", func(t *testing.T) {
		var h Hours
		if err := json.Unmarshal([]byte(`1e2`), &h); err == nil {
			t.Fatalf("unmarshal 1e2 = %v, want error", h)
		}
	})
}

// docs/api.md “(platform_id, event_id) is the idempotency key. The same key with the same content again
// → duplicate … different content → conflict”: content is compared by value, so 1.5 and 1.50 学时,
// or one instant written in two offsets, are the same content; other hours are not.
func TestSealContentHash(t *testing.T) {
	base := func() Record {
		return Record{Source: "platform/p", ExternalID: "e1", CadreID: "c", Kind: KindOnline, Hours: 150,
			CompletedAt: time.Date(2024, 4, 30, 17, 0, 0, 0, CST)}
	}
	a := base()
	a.Seal()
	same := base()
	same.CompletedAt = time.Date(2024, 4, 30, 9, 0, 0, 0, time.UTC)
	same.CreatedAt = time.Now()
	same.Seal()
	if a.ContentHash != same.ContentHash || a.ID != same.ID {
		t.Fatalf("same content sealed differently: %s/%s vs %s/%s", a.ID, a.ContentHash, same.ID, same.ContentHash)
	}
	other := base()
	other.Hours = 151
	other.Seal()
	if other.ContentHash == a.ContentHash || other.ID != a.ID {
		t.Fatalf("other hours: hash %s (want different from %s), id %s (want %s)", other.ContentHash, a.ContentHash, other.ID, a.ID)
	}
}

package httpapi

import (
	"testing"

	"github.com/cadre-training/cadretrain/shared/training"
)

// TestParseObjectDuplicateKey: a key given twice is a 400 naming it (encoding/json would keep the
// last silently; docs/api.md “Errors”), however it is spelled, while keys repeated inside nested
// values, inside strings or in other objects are not duplicates.
func TestParseObjectDuplicateKey(t *testing.T) {
	for _, tc := range []struct {
		name, body, dup string
	}{
		{"plain", `{"hours": 1.5, "studied_on": "2026-03-02"}`, ""},
		{"twice", `{"hours": 1.5, "hours": 300}`, "hours"},
		{"twice with space before the colon", `{"a": 1, "b" : 2, "b"	:3}`, "b"},
		{"escaped spelling", `{"hours": 1, "h\u006furs": 2}`, "hours"},
		{"nested repeats", `{"a": {"x": 1, "x": 2}, "b": [{"y": 1}, {"y": 2}]}`, ""},
		{"key-like strings", `{"a": "\"a\": 1", "b": ["a", "a"], "c": "x\\"}`, ""},
		{"after nested", `{"a": {"b": 1}, "b": 2, "a": 3}`, "a"},
		{"empty", `{}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errs training.Fields
			_, ok := parseObject([]byte(tc.body), "", &errs)
			if tc.dup == "" {
				if !ok {
					t.Fatalf("parseObject(%s) failed: %v", tc.body, errs.Err())
				}
				return
			}
			if ok {
				t.Fatalf("parseObject(%s) accepted a key given twice", tc.body)
			}
			if fe, _ := errs.Err().(*training.Error); fe == nil || len(fe.Fields) != 1 || fe.Fields[0].Field != tc.dup {
				t.Fatalf("parseObject(%s): %v, want the field %q", tc.body, errs.Err(), tc.dup)
			}
		})
	}
}

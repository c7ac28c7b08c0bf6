package httpapi

import (
	"bytes"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cadre-training/cadretrain/shared/training"
)

// object reads a JSON object field by field, collecting one error per bad field (named with its
// path, e.g. "completions[3].hours") so a client learns about every problem at once. Fields it
// was not asked about are rejected as unknown by done(). JSON null counts as absent.
type object struct {
	raw    map[string]json.RawMessage
	prefix string
	errs   *training.Fields
	seen   map[string]bool
}

// parseObject decodes b as a JSON object. where names it in errors ("body" or an item path).
// Invalid UTF-8 (which encoding/json would silently turn into U+FFFD) and a key given twice
// (where encoding/json would silently keep the last) are errors naming the object or the key.
func parseObject(b []byte, prefix string, errs *training.Fields) (*object, bool) {
	where := strings.TrimSuffix(prefix, ".")
	if where == "" {
		where = "body"
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		errs.Add(where, "must be a JSON object")
		return nil, false
	}
	if !utf8.Valid(trimmed) {
		errs.Add(where, "is not valid UTF-8")
		return nil, false
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		errs.Add(where, "is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
		return nil, false
	}
	if dup := duplicateKey(trimmed, len(raw)); dup != "" {
		errs.Add(prefix+dup, "is given more than once")
		return nil, false
	}
	return &object{raw: raw, prefix: prefix, errs: errs, seen: map[string]bool{}}, true
}

// duplicateKey returns the first key that the JSON object b (already known to be valid, with
// distinct keys decoded) gives twice, or "". Counting the keys as written settles the usual case
// without decoding anything: only when there are more than distinct are they decoded one by one
// to name the first repeated one (two spellings of one key, "a" and "\u0061", are the same key).
func duplicateKey(b []byte, distinct int) string {
	if topLevelKeys(b) <= distinct {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		key, _ := tok.(string)
		if seen[key] {
			return key
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

// topLevelKeys counts the keys of the valid JSON object b as written: the strings at depth 1
// followed by a colon.
func topLevelKeys(b []byte) int {
	n, depth := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			j := i + 1
			for ; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			if depth == 1 {
				k := j + 1
				for k < len(b) && (b[k] == ' ' || b[k] == '\t' || b[k] == '\n' || b[k] == '\r') {
					k++
				}
				if k < len(b) && b[k] == ':' {
					n++
				}
			}
			i = j
		}
	}
	return n
}

func (o *object) get(name string) (json.RawMessage, bool) {
	o.seen[name] = true
	v, ok := o.raw[name]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

func (o *object) bad(name, format string, args ...any) { o.errs.Add(o.prefix+name, format, args...) }

func (o *object) has(name string) bool { _, ok := o.get(name); return ok }

// str reads a string; required adds "is required" when absent or blank. Lengths are checked by
// the rules (training.Max…), not here, so each limit is written once.
func (o *object) str(name string, required bool) string {
	v, ok := o.get(name)
	if !ok {
		if required {
			o.bad(name, "is required")
		}
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		o.bad(name, "must be a string")
		return ""
	}
	s = strings.TrimSpace(s)
	if required && s == "" {
		o.bad(name, "is required")
	}
	return s
}

func (o *object) boolean(name string) (bool, bool) {
	v, ok := o.get(name)
	if !ok {
		return false, false
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		o.bad(name, "must be true or false")
		return false, false
	}
	return b, true
}

// whole reads a whole JSON number.
func (o *object) whole(name string) (int, bool) {
	v, ok := o.get(name)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		o.bad(name, "must be a whole number")
		return 0, false
	}
	return n, true
}

// days reads days in steps of 0.5 exactly from the JSON number's text (docs/rules.md “Half
// days”): 3 or 2.5; 0.3, 2.25 or a string is a field error.
func (o *object) days(name string) (training.Days, bool) {
	v, ok := o.get(name)
	if !ok {
		return training.Days{}, false
	}
	if len(v) > 0 && v[0] == '"' {
		o.bad(name, "must be a JSON number, not a string")
		return training.Days{}, false
	}
	d, err := training.ParseDays(string(v))
	if err != nil {
		o.bad(name, "%s", training.ErrDaysFormat)
		return training.Days{}, false
	}
	return d, true
}

// hours reads 学时 exactly from the JSON number's text (never through float64).
func (o *object) hours(name string, required bool) (training.Hours, bool) {
	v, ok := o.get(name)
	if !ok {
		if required {
			o.bad(name, "is required")
		}
		return 0, false
	}
	if len(v) > 0 && v[0] == '"' {
		o.bad(name, "must be a JSON number, not a string")
		return 0, false
	}
	h, err := training.ParseHours(string(v))
	if err != nil {
		o.bad(name, "must be a number of 学时 with at most 2 decimal places")
		return 0, false
	}
	return h, true
}

func (o *object) date(name string, required bool) training.Date {
	v, ok := o.get(name)
	if !ok {
		if required {
			o.bad(name, "is required")
		}
		return training.Date{}
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		o.bad(name, "must be a date string YYYY-MM-DD")
		return training.Date{}
	}
	d, err := training.ParseDate(s)
	if err != nil {
		o.bad(name, "must be a date YYYY-MM-DD, got %q", s)
	}
	return d
}

func (o *object) timestamp(name string) time.Time {
	v, ok := o.get(name)
	if !ok {
		return time.Time{}
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		o.bad(name, "must be an RFC 3339 timestamp string")
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		o.bad(name, "must be an RFC 3339 timestamp like 2024-04-30T17:00:00+08:00, got %q", s)
	}
	return t
}

// done rejects every field that was not read (docs/api.md: unknown JSON fields are rejected).
func (o *object) done() {
	var unknown []string
	for k := range o.raw {
		if !o.seen[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		o.bad(k, "is not a known field")
	}
}

// queryDate parses an optional date query parameter.
func queryDate(q url.Values, name string, errs *training.Fields) training.Date {
	s := q.Get(name)
	if s == "" {
		return training.Date{}
	}
	d, err := training.ParseDate(s)
	if err != nil {
		errs.Add(name, "must be a date YYYY-MM-DD, got %q", s)
	}
	return d
}

// queryYear parses an optional year query parameter (0 when absent).
func queryYear(q url.Values, errs *training.Fields) int {
	s := q.Get("year")
	if s == "" {
		return 0
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 1900 || y > 9999 {
		errs.Add("year", "must be a four-digit year, got %q", s)
		return 0
	}
	return y
}

package training

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// An Overlay is a locality's crediting rules (学时认定) for a unit subtree, as data: a file in an
// overlay directory, versioned by EffectiveFrom. The overlay of the longest unit prefix (whole
// segments) in force on the evaluation date applies to a cadre; nothing here branches on a locality.
// docs/rules.md “Local crediting overlays”.
type Overlay struct {
	ID            string `json:"id"`
	Unit          string `json:"unit"`
	Title         string `json:"title"`
	EffectiveFrom Date   `json:"effective_from"`
	// Source names the published local rule the figures come from (document, issuer, article);
	// SourceURL where it was read. Illustrative is true when the figures are NOT from a published
	// rule and only show the format.
	Source       string    `json:"source"`
	SourceURL    string    `json:"source_url,omitempty"`
	Illustrative bool      `json:"illustrative"`
	Notes        string    `json:"notes,omitempty"`
	Crediting    Crediting `json:"crediting"`

	// File is the file the overlay was read from (set by the loader, shown by GET /v1/policies).
	File string `json:"file"`
}

// Crediting holds the crediting rules of an overlay; every rule is optional.
type Crediting struct {
	// HalfDays credits a centralized training's half day (days sent in steps of 0.5) as half a
	// day (“半天按0.5天计算”); without it only whole days are credited (docs/rules.md “Half days”).
	HalfDays bool `json:"half_days,omitempty"`
	// DaysToHours converts a centralized training's days into 学时.
	DaysToHours *DaysToHours `json:"days_to_hours,omitempty"`
	// OnlineDailyCapHours caps the 学时 of online study credited for one calendar day (all sources).
	OnlineDailyCapHours *Hours `json:"online_daily_cap_hours,omitempty"`
	// TrainingCaps cap the 学时 credited for one centralized training whose institution_type is
	// listed (e.g. out-of-town training, “外地培训…最高不超过48学时”).
	TrainingCaps []TrainingCap `json:"training_caps,omitempty"`
	// CarryOver lets 学时 above a calendar-year target count toward the next year's target.
	CarryOver *CarryOver `json:"carry_over,omitempty"`
	// OnlineCourseLength credits an online record that reports its course length
	// (duration_minutes) with the 学时 of the first tier whose MinMinutes it reaches, instead of the
	// 学时 sent (e.g. “时长30分钟及以上的课程，完成学习获得1个学时”). Tiers are listed longest first.
	OnlineCourseLength []LengthTier `json:"online_course_length,omitempty"`
}

// LengthTier is one step of crediting by course length: ≥ MinMinutes → Hours 学时.
type LengthTier struct {
	MinMinutes int   `json:"min_minutes"`
	Hours      Hours `json:"hours"`
}

// DaysToHours credits a centralized training with days × HoursPerDay 学时: when its source sent
// no 学时, or always when ReplaceSentHours (“按实际培训天数，每天按6学时折算”).
type DaysToHours struct {
	HoursPerDay      Hours `json:"hours_per_day"`
	ReplaceSentHours bool  `json:"replace_sent_hours"`
}

// TrainingCap caps the 学时 of one centralized training of the listed institution types.
type TrainingCap struct {
	InstitutionTypes []string `json:"institution_types"`
	MaxHours         Hours    `json:"max_hours"`
}

// CarryOver is “超出部分可结转至下年度”: the 学时 a cadre's own training of the previous calendar
// year credited above that year's target (of the same requirement) count in the next year, up to
// MaxHours when given. Carried 学时 are not carried again.
type CarryOver struct {
	Requirements []string `json:"requirements"`
	MaxHours     *Hours   `json:"max_hours,omitempty"`
}

// OverlayError is a bad overlay file: the file and the field (JSON path) named.
type OverlayError struct {
	File, Field, Message string
}

func (e *OverlayError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("overlay %s: %s", e.File, e.Message)
	}
	return fmt.Sprintf("overlay %s: %s: %s", e.File, e.Field, e.Message)
}

var (
	tokenRE   = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
	overlayID = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
)

// ParseOverlay decodes and checks one overlay file against the policies (carry-over names
// requirements of a calendar-year window). Errors are *OverlayError naming file and field.
func ParseOverlay(file string, b []byte, policies []*Policy) (*Overlay, error) {
	bad := func(field, format string, args ...any) error {
		return &OverlayError{File: file, Field: field, Message: fmt.Sprintf(format, args...)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var o Overlay
	if err := dec.Decode(&o); err != nil {
		oe := jsonFieldError(file, err)
		if oe.Message == "is not a known field" {
			// encoding/json names the key, not where it is.
			if p := unknownFieldPath(reflect.TypeOf(Overlay{}), b, ""); p != "" {
				oe.Field = p
			}
		}
		if oe.Field == "" {
			oe.Field = locateBadValue(b)
		}
		return nil, oe
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad("", "trailing data after the JSON object")
	}
	if o.File != "" {
		return nil, bad("file", "is set by the loader, not in the file")
	}
	o.File = file
	switch {
	case !overlayID.MatchString(o.ID):
		return nil, bad("id", "is required: lower-case letters, digits, _ . - (≤ 64)")
	case !validUnit(o.Unit):
		return nil, bad("unit", "must be a unit path of non-empty /-separated segments, e.g. cn/js/nanjing")
	case strings.TrimSpace(o.Title) == "":
		return nil, bad("title", "is required")
	case o.EffectiveFrom.IsZero():
		return nil, bad("effective_from", "is required (YYYY-MM-DD)")
	case strings.TrimSpace(o.Source) == "":
		return nil, bad("source", "is required: the published local rule, or what the illustrative figures stand for")
	}
	c := o.Crediting
	if c.DaysToHours != nil && (c.DaysToHours.HoursPerDay <= 0 || c.DaysToHours.HoursPerDay > HoursOf(24)) {
		return nil, bad("crediting.days_to_hours.hours_per_day", "must be > 0 and ≤ 24")
	}
	if c.HalfDays && c.DaysToHours != nil && c.DaysToHours.HoursPerDay%2 != 0 {
		return nil, bad("crediting.days_to_hours.hours_per_day", "must be a multiple of 0.02 with half_days, so that half a day is an exact number of 学时")
	}
	if c.OnlineDailyCapHours != nil && (*c.OnlineDailyCapHours <= 0 || *c.OnlineDailyCapHours > HoursOf(24)) {
		return nil, bad("crediting.online_daily_cap_hours", "must be > 0 and ≤ 24")
	}
	seen := map[string]bool{}
	for i, tc := range c.TrainingCaps {
		f := fmt.Sprintf("crediting.training_caps[%d]", i)
		if len(tc.InstitutionTypes) == 0 {
			return nil, bad(f+".institution_types", "is required")
		}
		for _, t := range tc.InstitutionTypes {
			if !tokenRE.MatchString(t) {
				return nil, bad(f+".institution_types", "%q is not an institution_type token ([a-z0-9_], ≤ 64)", t)
			}
			if seen[t] {
				return nil, bad(f+".institution_types", "%q is capped twice", t)
			}
			seen[t] = true
		}
		if tc.MaxHours <= 0 {
			return nil, bad(f+".max_hours", "must be > 0")
		}
	}
	for i, lt := range c.OnlineCourseLength {
		f := fmt.Sprintf("crediting.online_course_length[%d]", i)
		if lt.MinMinutes < 1 || lt.MinMinutes > maxDurationMinutes {
			return nil, bad(f+".min_minutes", "must be 1…%d", maxDurationMinutes)
		}
		if i > 0 && lt.MinMinutes >= c.OnlineCourseLength[i-1].MinMinutes {
			return nil, bad(f+".min_minutes", "tiers must be listed longest first (%d after %d)", lt.MinMinutes, c.OnlineCourseLength[i-1].MinMinutes)
		}
		if lt.Hours <= 0 || lt.Hours > HoursOf(24) {
			return nil, bad(f+".hours", "must be > 0 and ≤ 24")
		}
	}
	if co := c.CarryOver; co != nil {
		if len(co.Requirements) == 0 {
			return nil, bad("crediting.carry_over.requirements", "is required")
		}
		for _, id := range co.Requirements {
			if !carryableRequirement(policies, id) {
				return nil, bad("crediting.carry_over.requirements", "%q is not a calendar_year requirement with a 学时 target in any policy", id)
			}
		}
		if co.MaxHours != nil && *co.MaxHours <= 0 {
			return nil, bad("crediting.carry_over.max_hours", "must be > 0")
		}
	}
	return &o, nil
}

func carryableRequirement(policies []*Policy, id string) bool {
	for _, p := range policies {
		for _, r := range p.Requirements {
			if r.ID == id && r.Window == WindowCalendarYear && r.Target.Hours != nil {
				return true
			}
		}
	}
	return false
}

// locateBadValue finds the date or 学时 field whose value failed to decode: encoding/json does not
// name the field of an error returned by a type's own UnmarshalJSON (Date, Hours). "" if none.
func locateBadValue(b []byte) string {
	bad := func(raw json.RawMessage, v any) bool { return raw != nil && json.Unmarshal(raw, v) != nil }
	obj := func(raw json.RawMessage) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(raw, &m)
		return m
	}
	var d Date
	var h Hours
	top := obj(b)
	if bad(top["effective_from"], &d) {
		return "effective_from"
	}
	cr := obj(top["crediting"])
	if bad(obj(cr["days_to_hours"])["hours_per_day"], &h) {
		return "crediting.days_to_hours.hours_per_day"
	}
	if bad(cr["online_daily_cap_hours"], &h) {
		return "crediting.online_daily_cap_hours"
	}
	var caps []json.RawMessage
	_ = json.Unmarshal(cr["training_caps"], &caps)
	for i, c := range caps {
		if bad(obj(c)["max_hours"], &h) {
			return fmt.Sprintf("crediting.training_caps[%d].max_hours", i)
		}
	}
	if bad(obj(cr["carry_over"])["max_hours"], &h) {
		return "crediting.carry_over.max_hours"
	}
	var tiers []json.RawMessage
	_ = json.Unmarshal(cr["online_course_length"], &tiers)
	for i, t := range tiers {
		if bad(obj(t)["hours"], &h) {
			return fmt.Sprintf("crediting.online_course_length[%d].hours", i)
		}
	}
	return ""
}

// unknownFieldPath is the JSON path of the first key (in document order of the struct walk, keys
// sorted) that type t does not know, "" if none.
func unknownFieldPath(t reflect.Type, raw json.RawMessage, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch t.Kind() {
	case reflect.Struct:
		if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
			return ""
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return ""
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.IsExported() && name != "-" && name != "" {
				fields[name] = f.Type
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				return join(k)
			}
			if p := unknownFieldPath(ft, m[k], join(k)); p != "" {
				return p
			}
		}
	case reflect.Slice:
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return ""
		}
		for i, e := range arr {
			if p := unknownFieldPath(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

// jsonFieldError names the field of a decoding error where encoding/json tells it.
func jsonFieldError(file string, err error) *OverlayError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(document)"
		}
		return &OverlayError{File: file, Field: field, Message: fmt.Sprintf("must be a JSON %s", te.Type.Kind())}
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &OverlayError{File: file, Field: strings.Trim(f, `"`), Message: "is not a known field"}
	}
	// Errors of our own UnmarshalJSON (dates, 学时) do not carry the field name in encoding/json.
	return &OverlayError{File: file, Message: msg}
}

func validUnit(u string) bool {
	if u == "" || len(u) > 256 {
		return false
	}
	for _, s := range strings.Split(u, "/") {
		if s == "" {
			return false
		}
	}
	return true
}

// OverlaySet is the overlays in force, by unit and version.
type OverlaySet struct {
	all []*Overlay // sorted by unit, then effective_from
}

// LoadOverlays reads every *.json file of dir in fsys (none is fine). Two files for the same unit
// and effective date, or a bad file, are an error naming the file (and field).
func LoadOverlays(fsys fs.FS, dir string, policies []*Policy) (*OverlaySet, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	set := &OverlaySet{}
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("overlay %s: %w", n, err)
		}
		o, err := ParseOverlay(path.Base(n), b, policies)
		if err != nil {
			return nil, err
		}
		set.all = append(set.all, o)
	}
	sort.SliceStable(set.all, func(i, j int) bool {
		a, b := set.all[i], set.all[j]
		if a.Unit != b.Unit {
			return a.Unit < b.Unit
		}
		return a.EffectiveFrom.Before(b.EffectiveFrom)
	})
	for i := 1; i < len(set.all); i++ {
		a, b := set.all[i-1], set.all[i]
		if a.Unit == b.Unit && a.EffectiveFrom == b.EffectiveFrom {
			return nil, &OverlayError{File: b.File, Field: "effective_from", Message: fmt.Sprintf("%s also takes effect for unit %s on %s", a.File, b.Unit, b.EffectiveFrom)}
		}
	}
	return set, nil
}

// All lists the overlays, by unit then effective date.
func (s *OverlaySet) All() []*Overlay {
	if s == nil {
		return nil
	}
	return s.all
}

// For returns the overlay that applies to a cadre of unit on date d: of the overlays in force on d
// (latest effective_from ≤ d per unit), the one whose unit is the longest whole-segment prefix of
// unit. nil when none applies.
func (s *OverlaySet) For(unit string, d Date) *Overlay {
	if s == nil {
		return nil
	}
	var best *Overlay
	for _, o := range s.all {
		if o.EffectiveFrom.After(d) || !unitCovers(o.Unit, unit) {
			continue
		}
		if best == nil || len(o.Unit) > len(best.Unit) || (o.Unit == best.Unit && !o.EffectiveFrom.Before(best.EffectiveFrom)) {
			best = o
		}
	}
	return best
}

// unitCovers reports whether prefix covers unit by whole segments (cn/js covers cn/js/nanjing,
// not cn/jsx).
func unitCovers(prefix, unit string) bool {
	return unit == prefix || strings.HasPrefix(unit, prefix+"/")
}

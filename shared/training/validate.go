package training

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the API's text fields, written once here and used by every layer (docs/rules.md
// “Choices”): runes for free text, bytes for ids and codes.
const (
	MaxNameRunes          = 100 // a cadre's name
	MaxReasonRunes        = 500 // why a record was voided or corrected
	MaxTitleRunes         = 200 // course_title, institution
	MaxIDLen              = 128 // cadre_id, record ids, course_id
	MaxExternalIDLen      = 128 // event_id, Idempotency-Key
	MaxUnitLen            = 256 // a unit path
	MaxSourceLen          = 64  // the source system's name
	maxInstitutionTypeLen = 64

	hoursPerDayLimit int64 = 24 // docs/rules.md §2: “more than 24 学时 per day of its span” is a 400 error
)

// CheckText adds an error to f when s holds a character that has no place in a name, title or
// reason: control characters (including NUL, tab and newlines), bidirectional overrides and
// isolates (which can make a list show text other than what is stored), or U+FFFD (what a
// decoder substitutes for invalid UTF-8).
func CheckText(f *Fields, field, s string) {
	for _, r := range s {
		if msg := badRune(r); msg != "" {
			f.Add(field, "must not contain %s (U+%04X)", msg, r)
			return
		}
	}
}

// MinSecretBytes is the shortest signing secret (decoded) accepted for webhooks, both ways: a
// platform's (the configuration) and a subscription's. Standard Webhooks secrets are 24 to 64 bytes;
// 32 is HMAC-SHA256's output size.
const MinSecretBytes = 32

// CheckWebhookSecret says what is wrong with a Standard Webhooks signing secret — whsec_ and the
// base64 of at least MinSecretBytes random bytes — or "" when nothing is: the one check of the
// platforms' secrets (shared/config) and of the subscriptions' (PUT /v1/subscriptions).
func CheckWebhookSecret(s string) string {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	switch {
	case !strings.HasPrefix(s, "whsec_") || err != nil:
		return "must be whsec_ followed by base64"
	case len(raw) < MinSecretBytes:
		return fmt.Sprintf("has %d bytes; at least %d random bytes are required (make one with: printf 'whsec_%%s\\n' \"$(openssl rand -base64 32)\")", len(raw), MinSecretBytes)
	}
	return ""
}

// CheckTextField is the one check of a free-text field (names, titles, reasons, descriptions):
// required when asked, at most maxRunes characters, and the characters CheckText allows.
func CheckTextField(f *Fields, field, s string, maxRunes int, required bool) {
	switch n := utf8.RuneCountInString(s); {
	case n == 0 && required:
		f.Add(field, "is required")
	case n > maxRunes:
		f.Add(field, "must be at most %d characters", maxRunes)
	default:
		CheckText(f, field, s)
	}
}

func badRune(r rune) string {
	switch {
	case r == utf8.RuneError:
		return "invalid UTF-8"
	case unicode.IsControl(r):
		return "control characters"
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return "bidirectional formatting characters"
	}
	return ""
}

// CheckID adds an error to f when id is not a usable id: required, at most MaxIDLen bytes, no
// '/', '#', spaces or control characters.
func CheckID(f *Fields, field, id string) {
	switch {
	case id == "":
		f.Add(field, "is required")
	case len(id) > MaxIDLen:
		f.Add(field, "must be at most %d characters", MaxIDLen)
	case strings.ContainsAny(id, "/#\x00 \t\r\n"):
		f.Add(field, "must not contain '/', '#', spaces or control characters")
	default:
		CheckText(f, field, id)
	}
}

// CheckUnit returns a message when unit is not a '/'-separated path of non-empty segments.
func CheckUnit(unit string) string {
	switch {
	case unit == "":
		return "is required"
	case len(unit) > MaxUnitLen:
		return fmt.Sprintf("must be at most %d characters", MaxUnitLen)
	case strings.HasPrefix(unit, "/") || strings.HasSuffix(unit, "/") || strings.Contains(unit, "//"):
		return "must be a '/'-separated path like cn/cq/yuzhong, without empty segments"
	case strings.ContainsAny(unit, "#\x00\t\r\n "):
		return "must not contain '#', spaces or control characters"
	}
	for _, seg := range strings.Split(unit, "/") {
		if seg == "." || seg == ".." {
			return "must not have '.' or '..' segments"
		}
	}
	var f Fields
	if CheckText(&f, "unit", unit); len(f) > 0 {
		return f[0].Message
	}
	return ""
}

// CheckRecord validates a record's semantics after the wire layer parsed it (docs/rules.md §2 and docs/api.md) and fills
// derived fields: for centralized, Days = inclusive span when daysGiven is false. It returns one FieldError per bad
// field, named by the API's JSON field names ("hours", "days", "end_date", "start_date", "kind", "full_time",
// "studied_on", "completed_at", "assessment", "cadre_id", "institution_type", "course_title"...). Rules: kind must be
// centralized|online; hours > 0 (zero or negative is an error; >2 decimals can't reach here); centralized needs
// start_date and end_date, end_date >= start_date, days > 0 and days <= inclusive span, hours <= 24 * span days;
// online needs studied_on or completed_at, must not set full_time, start_date/end_date/days (decide and document);
// assessment is "", passed or failed. Does not mutate anything else.
//
// docs/rules.md §2: “More than 2 decimals, negative, zero or non-numeric 学时 is a 400 error, and so is a centralized
// record with more than 24 学时 per day of its span or an end_date before its start_date.” “Days of a centralized
// record are the days the source sends; if absent, the inclusive calendar-day count from start_date to end_date.
// days larger than that span is a 400 error.”
//
// Choices where docs/rules.md is silent (docs/rules.md): an online record with start_date, end_date, days or
// full_time is rejected, not silently cleaned; a centralized record with studied_on is rejected (its
// attribution date is end_date); completed_at is accepted on both kinds (docs/api.md's centralized example sends
// it); an online record may give both studied_on and completed_at, and studied_on then places it;
// institution_type is a lower-case token (party_school, …) so a misspelling like "Party School" is an
// error instead of a record that silently never counts toward leadership_party_school_5y; course_title and
// institution are at most 200 characters. Dates in the future are not rejected here.
func CheckRecord(r *Record, daysGiven bool) Fields {
	var f Fields
	if strings.TrimSpace(r.CadreID) == "" {
		f.Add("cadre_id", "is required")
	}
	switch r.Kind {
	case KindCentralized, KindOnline:
	case "":
		f.Add("kind", "is required: centralized or online")
	default:
		f.Add("kind", "must be centralized or online")
	}
	// 0 学时 on a centralized record means the source sent days but no 学时 (the wire layer rejects an
	// explicit 0): its days count, and a crediting overlay may convert them (docs/rules.md “Local
	// crediting overlays”).
	if r.Hours < 0 || (r.Hours == 0 && r.Kind != KindCentralized) {
		f.Add("hours", "must be greater than 0 (at most 2 decimal places)")
	}
	switch r.Kind {
	case KindCentralized:
		checkCentralized(&f, r, daysGiven)
	case KindOnline:
		checkOnline(&f, r, daysGiven)
	}
	switch r.Assessment {
	case AssessmentNone, AssessmentPassed, AssessmentFailed:
	default:
		f.Add("assessment", "must be passed, failed or absent")
	}
	if r.InstitutionType != "" && !isToken(r.InstitutionType) {
		f.Add("institution_type", "must be a lower-case code such as party_school (letters, digits, _; at most %d)", maxInstitutionTypeLen)
	}
	CheckTextField(&f, "course_title", r.CourseTitle, MaxTitleRunes, false)
	CheckTextField(&f, "institution", r.Institution, MaxTitleRunes, false)
	CheckText(&f, "course_id", r.CourseID)
	CheckText(&f, "source", r.SourceSystem)
	CheckText(&f, "event_id", r.ExternalID)
	if len(r.CourseID) > MaxIDLen {
		f.Add("course_id", "must be at most %d characters", MaxIDLen)
	}
	if len(r.SourceSystem) > MaxSourceLen {
		f.Add("source", "must be at most %d characters", MaxSourceLen)
	}
	return f
}

func checkCentralized(f *Fields, r *Record, daysGiven bool) {
	if r.DurationMinutes != 0 {
		f.Add("duration_minutes", "is only for online study; centralized training counts days")
	}
	if !r.StudiedOn.IsZero() {
		f.Add("studied_on", "is only for online records; a centralized record is placed by end_date")
	}
	if r.StartDate.IsZero() {
		f.Add("start_date", "is required for centralized training")
	}
	if r.EndDate.IsZero() {
		f.Add("end_date", "is required for centralized training")
	}
	span := 0
	if !r.StartDate.IsZero() && !r.EndDate.IsZero() {
		if r.EndDate.Before(r.StartDate) {
			f.Add("end_date", "must not be before start_date")
		} else {
			span = r.StartDate.DaysThrough(r.EndDate)
		}
	}
	if daysGiven {
		switch {
		case r.Days.Halves() <= 0:
			f.Add("days", "must be greater than 0 (in steps of 0.5)")
		case span > 0 && r.Days.Compare(WholeDays(int64(span))) > 0:
			f.Add("days", "must not exceed the %d calendar days from start_date to end_date", span)
		}
	} else if span > 0 {
		r.Days = WholeDays(int64(span))
	}
	if span > 0 && r.Hours > 0 && int64(r.Hours) > hoursPerDayLimit*100*int64(span) {
		f.Add("hours", "must not exceed 24 学时 per day of the training (%d days: at most %d)", span, hoursPerDayLimit*int64(span))
	}
}

func checkOnline(f *Fields, r *Record, daysGiven bool) {
	if r.StudiedOn.IsZero() && r.CompletedAt.IsZero() {
		f.Add("studied_on", "studied_on or completed_at is required for online study")
	}
	if r.FullTime {
		f.Add("full_time", "is only for centralized training")
	}
	if !r.StartDate.IsZero() {
		f.Add("start_date", "is only for centralized training; online study uses studied_on or completed_at")
	}
	if !r.EndDate.IsZero() {
		f.Add("end_date", "is only for centralized training; online study uses studied_on or completed_at")
	}
	if daysGiven || !r.Days.IsZero() {
		f.Add("days", "is only for centralized training; online study counts 学时")
	}
	if r.DurationMinutes < 0 || r.DurationMinutes > maxDurationMinutes {
		f.Add("duration_minutes", "must be 1…%d minutes", maxDurationMinutes)
	}
}

// maxDurationMinutes bounds an online course's reported length: one day.
const maxDurationMinutes = 24 * 60

func isToken(s string) bool {
	if len(s) > maxInstitutionTypeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

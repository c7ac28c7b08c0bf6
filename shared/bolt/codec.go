package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// The binary value encoding (format 2). Every value starts with a version byte (codecV1) so the
// encoding can evolve; a value starting with '{' is the JSON of format 1 and is still read.
// Strings are a uvarint length and the bytes; ids and hashes of lowercase hex are stored as
// their bytes (tagged); dates are one signed varint yyyymmdd (0 = zero date); times are a tag
// (0 zero, 1 UTC, 2 with a fixed offset), unix seconds (varint), nanoseconds (uvarint) and the
// offset in seconds (varint, tag 2 only).
const codecV1 = 1

// Records have their own version since half days (docs/rules.md “Half days”): recordV2 stores
// Days as a count of half days; a record of recordV1 (codecV1) stored whole days and is still read
// (3 stored → 3 days). The layout is otherwise the same.
const (
	recordV1 = codecV1
	recordV2 = 2
)

var errShort = errors.New("value is truncated")

type enc struct{ b []byte }

func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) byte1(v byte)     { e.b = append(e.b, v) }
func (e *enc) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }

func (e *enc) boolean(v bool) {
	if v {
		e.byte1(1)
	} else {
		e.byte1(0)
	}
}

// compact stores s, as bytes when it is lowercase hex (tag 2) or "r_" + lowercase hex (tag 1).
func (e *enc) compact(s string) {
	for _, p := range []struct {
		tag    byte
		prefix string
	}{{1, "r_"}, {2, ""}} {
		if len(s) > len(p.prefix) && s[:len(p.prefix)] == p.prefix && isLowerHex(s[len(p.prefix):]) {
			e.byte1(p.tag)
			raw, _ := hex.DecodeString(s[len(p.prefix):])
			e.bytes(raw)
			return
		}
	}
	e.byte1(0)
	e.str(s)
}

func isLowerHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (e *enc) date(d training.Date) {
	if d.IsZero() {
		e.varint(0)
		return
	}
	e.varint(int64(d.Year)*10000 + int64(d.Month)*100 + int64(d.Day))
}

func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.byte1(0)
		return
	}
	_, off := t.Zone()
	if off == 0 {
		e.byte1(1)
	} else {
		e.byte1(2)
	}
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
	if off != 0 {
		e.varint(int64(off))
	}
}

const hexDigits = "0123456789abcdef"

type dec struct {
	b   []byte
	err error
	// s, when set, is the whole value as one string (n bytes) that str slices instead of
	// allocating each string field: a record is decoded with one allocation for its strings.
	s string
	n int
}

func (d *dec) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) byte1() byte {
	if len(d.b) == 0 {
		d.fail(errShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string {
	v := d.bytes()
	if d.s == "" || len(v) == 0 {
		return string(v)
	}
	end := d.n - len(d.b)
	return d.s[end-len(v) : end]
}

// enum reads a string that is usually one of known, returning the constant (no allocation).
func (d *dec) enum(known ...string) string {
	b := d.bytes()
	for _, k := range known {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

func (d *dec) boolean() bool {
	switch d.byte1() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(errors.New("bad boolean"))
	return false
}

func (d *dec) compact() string {
	switch tag := d.byte1(); tag {
	case 0:
		return d.str()
	case 1:
		raw := d.bytes()
		var sb strings.Builder
		sb.Grow(2 + 2*len(raw))
		sb.WriteString("r_")
		for _, c := range raw {
			sb.WriteByte(hexDigits[c>>4])
			sb.WriteByte(hexDigits[c&15])
		}
		return sb.String()
	case 2:
		return hex.EncodeToString(d.bytes())
	default:
		d.fail(fmt.Errorf("bad string tag %d", tag))
		return ""
	}
}

func (d *dec) date() training.Date {
	v := d.varint()
	if v == 0 {
		return training.Date{}
	}
	return training.Date{Year: int(v / 10000), Month: time.Month(v / 100 % 100), Day: int(v % 100)}
}

func (d *dec) time() time.Time {
	tag := d.byte1()
	if tag == 0 {
		return time.Time{}
	}
	if tag > 2 {
		d.fail(fmt.Errorf("bad time tag %d", tag))
		return time.Time{}
	}
	sec, nsec := d.varint(), d.uvarint()
	if nsec >= 1e9 {
		d.fail(errors.New("bad nanoseconds"))
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).UTC()
	if tag == 2 {
		t = t.In(time.FixedZone("", int(d.varint())))
	}
	return t
}

// end checks that the whole value was read.
func (d *dec) end(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("decoding %s: %w", what, d.err)
	}
	return nil
}

// ---- records ----

func appendRecord(b []byte, r *training.Record) []byte {
	e := enc{b}
	e.byte1(recordV2)
	e.compact(r.ID)
	e.str(r.CadreID)
	e.str(r.Source)
	e.str(r.ExternalID)
	e.str(r.SourceSystem)
	e.str(string(r.Kind))
	e.boolean(r.FullTime)
	e.str(r.CourseID)
	e.str(r.CourseTitle)
	e.str(r.Institution)
	e.str(r.InstitutionType)
	e.date(r.StartDate)
	e.date(r.EndDate)
	e.varint(r.Days.Halves())
	e.varint(int64(r.Hours))
	e.date(r.StudiedOn)
	e.time(r.CompletedAt)
	e.str(string(r.Assessment))
	e.str(string(r.Status))
	e.boolean(r.Void != nil)
	if r.Void != nil {
		e.str(r.Void.Reason)
		e.str(r.Void.By)
		e.time(r.Void.At)
	}
	e.compact(r.ContentHash)
	e.time(r.CreatedAt)
	recordExt.append(&e, r)
	return e.b
}

// extension carries the fields of a struct type that its binary codec does not know (added to
// the type after the codec was written), so they are not lost: as a trailing JSON document of a
// value holding only those fields, read back by reflection. A round-trip test fills every field.
type extension[T any] struct {
	extra []int  // indexes of the fields the codec does not know
	zero  []byte // the JSON of a zero T: no extension needed
}

func newExtension[T any](known ...string) extension[T] {
	var x extension[T]
	t := reflect.TypeFor[T]()
	for i := 0; i < t.NumField(); i++ {
		if !slices.Contains(known, t.Field(i).Name) {
			x.extra = append(x.extra, i)
		}
	}
	var zero T
	x.zero, _ = json.Marshal(zero)
	return x
}

// append appends the extension of v, if it has one, as length-prefixed bytes.
func (x extension[T]) append(e *enc, v *T) {
	if len(x.extra) == 0 {
		return
	}
	var only T
	src, dst := reflect.ValueOf(v).Elem(), reflect.ValueOf(&only).Elem()
	for _, i := range x.extra {
		dst.Field(i).Set(src.Field(i))
	}
	b, err := json.Marshal(only)
	if err != nil || bytes.Equal(b, x.zero) {
		return
	}
	e.bytes(b)
}

// read reads an extension if the value has one left.
func (x extension[T]) read(d *dec, v *T) {
	if len(d.b) == 0 || d.err != nil {
		return
	}
	ext := d.bytes()
	if d.err != nil {
		return
	}
	var only T
	if err := json.Unmarshal(ext, &only); err != nil {
		d.fail(fmt.Errorf("extension: %w", err))
		return
	}
	src, dst := reflect.ValueOf(&only).Elem(), reflect.ValueOf(v).Elem()
	for _, i := range x.extra {
		dst.Field(i).Set(src.Field(i))
	}
}

var recordExt = newExtension[training.Record](
	"ID", "CadreID", "Source", "ExternalID", "SourceSystem", "Kind", "FullTime", "CourseID", "CourseTitle",
	"Institution", "InstitutionType", "StartDate", "EndDate", "Days", "Hours", "StudiedOn", "CompletedAt",
	"Assessment", "Status", "Void", "ContentHash", "CreatedAt")

func encodeRecord(r *training.Record) []byte { return appendRecord(make([]byte, 0, 256), r) }

// decodeRecord reads a record in either encoding.
func decodeRecord(v []byte, r *training.Record) error {
	if len(v) > 0 && v[0] == '{' {
		return jsonDecode(v, r)
	}
	d := dec{b: v, s: string(v), n: len(v)}
	ver := d.byte1()
	if ver != recordV1 && ver != recordV2 && d.err == nil {
		return fmt.Errorf("decoding record: unknown encoding version %d", ver)
	}
	*r = training.Record{
		ID:              d.compact(),
		CadreID:         d.str(),
		Source:          d.str(),
		ExternalID:      d.str(),
		SourceSystem:    d.str(),
		Kind:            training.Kind(d.enum(string(training.KindOnline), string(training.KindCentralized))),
		FullTime:        d.boolean(),
		CourseID:        d.str(),
		CourseTitle:     d.str(),
		Institution:     d.str(),
		InstitutionType: d.str(),
		StartDate:       d.date(),
		EndDate:         d.date(),
		Days:            training.DaysFromHalves(d.varint()),
		Hours:           training.Hours(d.varint()),
		StudiedOn:       d.date(),
		CompletedAt:     d.time(),
		Assessment:      training.Assessment(d.enum("", string(training.AssessmentPassed), string(training.AssessmentFailed))),
		Status:          training.RecordStatus(d.enum(string(training.StatusActive), string(training.StatusVoided))),
	}
	if ver == recordV1 {
		r.Days = training.WholeDays(r.Days.Halves()) // whole days before half days
	}
	if d.boolean() {
		r.Void = &training.Voiding{Reason: d.str(), By: d.str(), At: d.time()}
	}
	r.ContentHash = d.compact()
	r.CreatedAt = d.time()
	recordExt.read(&d, r)
	return d.end("record")
}

// ---- cadres ----

var cadreExt = newExtension[training.Cadre](
	"ID", "Name", "Unit", "Rank", "RankTitle", "Category", "RankHistory", "LeadershipMember", "JoinedOn",
	"CreatedAt", "UpdatedAt", "Version")

func encodeCadre(c *training.Cadre) []byte {
	e := enc{make([]byte, 0, 128)}
	e.byte1(codecV1)
	e.str(c.ID)
	e.str(c.Name)
	e.str(c.Unit)
	e.str(c.Rank)
	e.str(c.RankTitle)
	e.str(c.Category)
	e.boolean(c.RankHistory != nil)
	e.uvarint(uint64(len(c.RankHistory)))
	for _, h := range c.RankHistory {
		e.str(h.Rank)
		e.date(h.EffectiveOn)
	}
	e.boolean(c.LeadershipMember)
	e.date(c.JoinedOn)
	e.time(c.CreatedAt)
	e.time(c.UpdatedAt)
	e.varint(c.Version)
	cadreExt.append(&e, c)
	return e.b
}

// decodeCadre reads a cadre in either encoding.
func decodeCadre(v []byte, c *training.Cadre) error {
	if len(v) > 0 && v[0] == '{' {
		return jsonDecode(v, c)
	}
	d := dec{b: v}
	if ver := d.byte1(); ver != codecV1 && d.err == nil {
		return fmt.Errorf("decoding cadre: unknown encoding version %d", ver)
	}
	*c = training.Cadre{ID: d.str(), Name: d.str(), Unit: d.str(), Rank: d.str(), RankTitle: d.str(), Category: d.str()}
	hasHistory := d.boolean()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
	}
	if hasHistory && d.err == nil {
		c.RankHistory = make([]training.RankChange, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			c.RankHistory = append(c.RankHistory, training.RankChange{Rank: d.str(), EffectiveOn: d.date()})
		}
	}
	c.LeadershipMember = d.boolean()
	c.JoinedOn = d.date()
	c.CreatedAt = d.time()
	c.UpdatedAt = d.time()
	c.Version = d.varint()
	cadreExt.read(&d, c)
	return d.end("cadre")
}

// ---- snapshots ----

// A snapshot is the version byte, the length of its body, the body and ComputedAt, so that
// PutSnapshot can tell an unchanged status by comparing bodies. The body is the JSON of the
// status without ComputedAt: the status grows with the rules (overlays, pro-rating, triggers),
// and JSON keeps every field without a codec to keep in step.

func statusBody(s *training.Status) []byte {
	bare := *s
	bare.ComputedAt = time.Time{}
	b, err := json.Marshal(bare)
	if err != nil { // plain fields: cannot fail
		panic(fmt.Sprintf("encoding status of %s: %v", s.CadreID, err))
	}
	return b
}

func encodeStatus(body []byte, computedAt time.Time) []byte {
	e := enc{make([]byte, 0, len(body)+24)}
	e.byte1(codecV1)
	e.bytes(body)
	e.time(computedAt)
	return e.b
}

// splitStatus returns the body and ComputedAt of a stored binary snapshot.
func splitStatus(v []byte) (body []byte, computedAt time.Time, err error) {
	d := dec{b: v}
	if ver := d.byte1(); ver != codecV1 && d.err == nil {
		return nil, time.Time{}, fmt.Errorf("decoding snapshot: unknown encoding version %d", ver)
	}
	body = d.bytes()
	computedAt = d.time()
	return body, computedAt, d.end("snapshot")
}

func decodeStatus(v []byte, s *training.Status) error {
	if len(v) > 0 && v[0] == '{' {
		return jsonDecode(v, s)
	}
	body, at, err := splitStatus(v)
	if err != nil {
		return err
	}
	if err := jsonDecode(body, s); err != nil {
		return fmt.Errorf("decoding snapshot: %w", err)
	}
	s.ComputedAt = at
	return nil
}

// ---- changes ----

// A change value is 8 bytes of big-endian unix nanos of At (read by the trimming without
// decoding), then the change: version byte, kind, cadre id, record id, and the old and new
// records (each a presence byte and a length-prefixed record). Format 1 had JSON after the 8 bytes.

func encodeChange(c *training.Change) []byte {
	e := enc{make([]byte, 8, 600)}
	binary.BigEndian.PutUint64(e.b, uint64(c.At.UnixNano()))
	e.byte1(codecV1)
	e.str(string(c.Kind))
	e.str(c.CadreID)
	e.compact(c.RecordID)
	for _, r := range []*training.Record{c.Old, c.New} {
		e.boolean(r != nil)
		if r != nil {
			e.bytes(encodeRecord(r))
		}
	}
	return e.b
}

// decodeChange decodes a change value; Seq is left for the caller.
func decodeChange(v []byte, c *training.Change) error {
	if len(v) < 9 {
		return fmt.Errorf("decoding change: %w", errShort)
	}
	at := time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
	v = v[8:]
	if v[0] == '{' {
		if err := jsonDecode(v, c); err != nil {
			return err
		}
		c.At = at
		return nil
	}
	d := dec{b: v}
	if ver := d.byte1(); ver != codecV1 {
		return fmt.Errorf("decoding change: unknown encoding version %d", ver)
	}
	*c = training.Change{Kind: training.ChangeKind(d.str()), CadreID: d.str(), RecordID: d.compact(), At: at}
	for _, p := range []**training.Record{&c.Old, &c.New} {
		if d.boolean() {
			raw := d.bytes()
			if d.err != nil {
				break
			}
			var r training.Record
			if err := decodeRecord(raw, &r); err != nil {
				return fmt.Errorf("decoding change: %w", err)
			}
			*p = &r
		}
	}
	if err := d.end("change"); err != nil {
		return err
	}
	if c.Kind != training.ChangeInsert && c.Kind != training.ChangeModify {
		return fmt.Errorf("decoding change: unknown kind %q", c.Kind)
	}
	return nil
}

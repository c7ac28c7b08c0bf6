package bolt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/storetest"
	"github.com/cadre-training/cadretrain/shared/training"
)

// fillAll sets every field of v (recursively, through pointers) to a non-zero value, so that a
// codec that drops any field, including one added to the type later, fails the round trip.
func fillAll(t *testing.T, v reflect.Value, n *int) {
	*n++
	switch v.Interface().(type) {
	case time.Time:
		v.Set(reflect.ValueOf(time.Date(2025, 3, *n%28+1, 8, 30, 15, 123_456_789, time.FixedZone("", 8*3600))))
		return
	case training.Date:
		v.Set(reflect.ValueOf(training.Date{Year: 2024, Month: time.Month(*n%12 + 1), Day: *n%28 + 1}))
		return
	case training.Days: // an odd count of halves: a half day must survive too
		v.Set(reflect.ValueOf(training.DaysFromHalves(int64(*n*2 + 1))))
		return
	case json.RawMessage: // must be JSON (the before and after of a correction)
		v.Set(reflect.ValueOf(json.RawMessage(fmt.Sprintf(`[{"n":%d}]`, *n))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("值 " + string(rune('a'+*n%26)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(*n * 7))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(t, v.Elem(), n)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fillAll(t, v.Field(i), n)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := 0; i < 2; i++ {
			fillAll(t, v.Index(i), n)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fillAll(t, k, n)
		fillAll(t, e, n)
		v.SetMapIndex(k, e)
	default:
		t.Fatalf("fillAll: no value for kind %s (%s): extend the test and the codec", v.Kind(), v.Type())
	}
}

// TestRecordCodecKeepsEveryField: the binary record encoding keeps every field of
// training.Record, those it was written for and any added since (the JSON extension).
func TestRecordCodecKeepsEveryField(t *testing.T) {
	var full training.Record
	n := 0
	fillAll(t, reflect.ValueOf(&full).Elem(), &n)
	sealed := storetest.NewRecord("c1", "platform/a", "e1", training.MustDate("2025-02-28"), storetest.Online(training.Date{}, storetest.T0.In(time.FixedZone("", -5*3600))))
	for name, r := range map[string]training.Record{"EveryField": full, "Sealed": sealed, "Zero": {}} {
		t.Run(name, func(t *testing.T) {
			var got training.Record
			if err := decodeRecord(encodeRecord(&r), &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			a, _ := json.Marshal(r)
			b, _ := json.Marshal(got)
			if !bytes.Equal(a, b) || !got.CompletedAt.Equal(r.CompletedAt) || !got.CreatedAt.Equal(r.CreatedAt) {
				t.Fatalf("round trip\n got %s\nwant %s", b, a)
			}
		})
	}
	t.Run("Extension", func(t *testing.T) {
		// A field the binary part did not know travels in the extension.
		defer func(x extension[training.Record]) { recordExt = x }(recordExt)
		typ := reflect.TypeFor[training.Record]()
		f, _ := typ.FieldByName("CourseTitle")
		recordExt.extra = append(recordExt.extra, f.Index[0])
		v := encodeRecord(&full)
		var got training.Record
		if err := decodeRecord(v, &got); err != nil || got.CourseTitle != full.CourseTitle {
			t.Fatalf("decode with an extension: %q, %v", got.CourseTitle, err)
		}
		if !bytes.Contains(v, []byte(`"course_title"`)) {
			t.Fatalf("no extension in %q", v)
		}
	})
	t.Run("Truncated", func(t *testing.T) {
		v := encodeRecord(&full)
		for i := 0; i < len(v)-1; i += 7 {
			var got training.Record
			if err := decodeRecord(v[:i], &got); err == nil {
				t.Fatalf("decoding %d of %d bytes succeeded", i, len(v))
			}
		}
	})
}

// TestChangeCodec: changes round-trip (snapshots: snapshot_codec_test.go).
func TestChangeCodec(t *testing.T) {
	var rec training.Record
	n := 0
	fillAll(t, reflect.ValueOf(&rec).Elem(), &n)
	old := rec
	old.Void = nil
	c := training.Change{Kind: training.ChangeModify, CadreID: "c1", RecordID: rec.ID, Old: &old, New: &rec, At: storetest.T0}
	var got training.Change
	if err := decodeChange(encodeChange(&c), &got); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(c)
	b, _ := json.Marshal(got)
	if !bytes.Equal(a, b) {
		t.Fatalf("change round trip\n got %s\nwant %s", b, a)
	}
}

// TestCadreCodecKeepsEveryField: the binary cadre encoding keeps every field of training.Cadre,
// a nil rank history apart from an empty one, and reads format 1 JSON.
func TestCadreCodecKeepsEveryField(t *testing.T) {
	var full training.Cadre
	n := 0
	fillAll(t, reflect.ValueOf(&full).Elem(), &n)
	empty := storetest.NewCadre("c1", "cn/cq")
	empty.RankHistory = []training.RankChange{}
	for name, c := range map[string]training.Cadre{"EveryField": full, "Suite": storetest.NewCadre("c1", "cn/cq"), "EmptyHistory": empty, "Zero": {}} {
		t.Run(name, func(t *testing.T) {
			var got training.Cadre
			if err := decodeCadre(encodeCadre(&c), &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			a, _ := json.Marshal(c)
			b, _ := json.Marshal(got)
			if !bytes.Equal(a, b) {
				t.Fatalf("round trip\n got %s\nwant %s", b, a)
			}
			legacy, _ := json.Marshal(c)
			if err := decodeCadre(legacy, &got); err != nil {
				t.Fatalf("JSON cadre: %v", err)
			}
		})
	}
}

// TestRecordCodecHalfDays: docs/rules.md “Half days” — records are stored in recordV2 with days in
// half days (2.5 days round-trip), and a record written by the previous codec (recordV1, whole
// days; these bytes were produced by it) still reads back with its 12 days.
func TestRecordCodecHalfDays(t *testing.T) {
	const v1 = "01010c00112233445566778899aabb05632d3030310a706c6174666f726d2f7003652d31000b63656e7472616c697a6564010018e4b8ade99d92e5b9b4e5b9b2e983a8e59fb9e8aeade78fad0ce5b882e5a794e5859ae6a0a10c70617274795f7363686f6f6cdadea613f0dea6131880960100000006616374697665000205abcdef012301c09e81df0c00"
	raw, err := hex.DecodeString(v1)
	if err != nil {
		t.Fatal(err)
	}
	var old training.Record
	if err := decodeRecord(raw, &old); err != nil {
		t.Fatalf("decoding a recordV1 value: %v", err)
	}
	want := training.Record{ID: "r_00112233445566778899aabb", CadreID: "c-001", Source: "platform/p", ExternalID: "e-1",
		Kind: training.KindCentralized, FullTime: true, CourseTitle: "中青年干部培训班", Institution: "市委党校",
		InstitutionType: "party_school", StartDate: training.MustDate("2024-03-01"), EndDate: training.MustDate("2024-03-12"),
		Days: training.WholeDays(12), Hours: training.HoursOf(96), Status: training.StatusActive, ContentHash: "abcdef0123",
		CreatedAt: time.Date(2024, 3, 12, 10, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(old, want) {
		t.Fatalf("recordV1 read as\n%+v\nwant\n%+v", old, want)
	}
	if got := encodeRecord(&old); got[0] != recordV2 {
		t.Fatalf("written with version %d, want %d", got[0], recordV2)
	}
	for _, days := range []string{"0.5", "2.5", "12", "366"} {
		r := want
		r.Days, _ = training.ParseDays(days)
		var got training.Record
		if err := decodeRecord(encodeRecord(&r), &got); err != nil || got.Days != r.Days {
			t.Fatalf("%s days round trip: %s, %v", days, got.Days, err)
		}
	}
}

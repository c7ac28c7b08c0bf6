package bolt

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

// Values written by the code before statusV2 and binary facts (commit 3d2c605), for
// legacyFixtureStatus and legacyFixtureFacts: a statusV1 snapshot (binary wrapper, JSON body), a
// format 1 snapshot (JSON) and format 1 facts (JSON).
const (
	legacyStatusV1   = "01bb077b2263616472655f6964223a22632d303031222c2261735f6f66223a22323032362d31312d3237222c22706f6c696379223a226e6174696f6e616c2d32303233222c2263617465676f7279223a22746f776e73686970222c226f7665726c6179223a22636e2f6371222c226f766572616c6c223a2261745f7269736b222c2261707072616973616c5f657863656c6c656e745f656c696769626c65223a66616c73652c22726571756972656d656e7473223a5b7b226964223a22616e6e75616c5f63656e7472616c697a6564222c2277696e646f77223a7b227374617274223a22323032362d30312d3031222c22656e64223a22323032362d31322d3331227d2c22746172676574223a7b2264617973223a31322c22686f757273223a39307d2c226163686965766564223a7b2264617973223a322e357d2c2272656d61696e696e67223a7b22686f757273223a39307d2c227374617465223a2261745f7269736b222c22646561646c696e65223a22323032362d31322d3331222c22637265646974696e67223a7b226f7665726c6179223a22636e2f6371222c22686f7572735f61735f73656e74223a31302e352c22686f7572735f6372656469746564223a382c22636172726965645f6f766572223a322e357d7d2c7b226964223a2270726f6d6f74696f6e5f747261696e696e67222c2277696e646f77223a7b227374617274223a22323032362d30332d3031222c22656e64223a22323032372d30322d3238227d2c22746172676574223a7b2264617973223a31327d2c226163686965766564223a7b7d2c2272656d61696e696e67223a7b7d2c227374617465223a226f6e5f747261636b222c22646561646c696e65223a22323032372d30322d3238222c2274726967676572223a7b226576656e74223a2270726f6d6f74696f6e222c226f6e223a22323032362d30332d3031222c2272616e6b223a22636f756e74795f646570757479222c2266726f6d5f72616e6b223a22746f776e73686970227d2c22636f756e7465645f66726f6d223a22323032312d30332d3031222c2270726f7261746564223a7b22726561736f6e223a226a6f696e6564222c2266726f6d223a22323032362d30332d3031222c226d6f6e746873223a31302c226f665f6d6f6e746873223a31322c2266756c6c5f746172676574223a7b22686f757273223a39307d7d7d5d2c22666c616773223a7b226c6f6e675f7370616e223a312c226f7665726c6170735f7265636f7264223a327d2c22636f6d70757465645f6174223a22303030312d30312d30315430303a30303a30305a227d018081c8b00d7b"
	legacyStatusJSON = `{"cadre_id":"c-001","as_of":"2026-11-27","policy":"national-2023","category":"township","overlay":"cn/cq","overall":"at_risk","appraisal_excellent_eligible":false,"requirements":[{"id":"annual_centralized","window":{"start":"2026-01-01","end":"2026-12-31"},"target":{"days":12,"hours":90},"achieved":{"days":2.5},"remaining":{"hours":90},"state":"at_risk","deadline":"2026-12-31","crediting":{"overlay":"cn/cq","hours_as_sent":10.5,"hours_credited":8,"carried_over":2.5}},{"id":"promotion_training","window":{"start":"2026-03-01","end":"2027-02-28"},"target":{"days":12},"achieved":{},"remaining":{},"state":"on_track","deadline":"2027-02-28","trigger":{"event":"promotion","on":"2026-03-01","rank":"county_deputy","from_rank":"township"},"counted_from":"2021-03-01","prorated":{"reason":"joined","from":"2026-03-01","months":10,"of_months":12,"full_target":{"hours":90}}}],"flags":{"long_span":1,"overlaps_record":2},"computed_at":"2026-11-27T04:00:00.000000123Z"}`
	legacyFactsJSON  = `{"cadre_id":"c-001","name":"张三","unit":"cn/cq/a","year":2026,"as_of":"2026-11-27","rank":"township","category":"township","leadership_member":true,"overall":"unmet","requirements":[{"id":"annual_centralized","state":"unmet"},{"id":"annual_online","state":"met"}],"trained":true,"centralized_hours":40.5,"full_time_hours":40,"online_hours":50.25,"makeup":["leader_no_party_school","unmet_last_year"],"computed_at":"2026-11-27T04:00:00Z"}`
)

// legacyFixtureStatus and legacyFixtureFacts are the status and facts whose bytes, as the code
// before statusV2 and binary facts wrote them, TestLegacySnapshotAndFacts reads.
func legacyFixtureStatus() training.Status {
	days, hours, carried := training.WholeDays(12), training.HoursOf(90), training.Hours(250)
	half := training.DaysFromHalves(5)
	return training.Status{
		CadreID: "c-001", AsOf: training.MustDate("2026-11-27"), Policy: "national-2023", Category: "township",
		Overlay: "cn/cq", Overall: training.StateAtRisk, AppraisalExcellentEligible: false,
		Requirements: []training.RequirementStatus{
			{ID: "annual_centralized", Window: training.Window{Start: training.MustDate("2026-01-01"), End: training.MustDate("2026-12-31")},
				Target: training.Measures{Days: &days, Hours: &hours}, Achieved: training.Measures{Days: &half},
				Remaining: training.Measures{Hours: &hours}, State: training.StateAtRisk, Deadline: training.MustDate("2026-12-31"),
				Crediting: &training.CreditingApplied{Overlay: "cn/cq", HoursAsSent: 1050, HoursCredited: 800, CarriedOver: &carried}},
			{ID: "promotion_training", Window: training.Window{Start: training.MustDate("2026-03-01"), End: training.MustDate("2027-02-28")},
				Target: training.Measures{Days: &days}, State: training.StateOnTrack, Deadline: training.MustDate("2027-02-28"),
				Trigger:     &training.Trigger{Event: "promotion", On: training.MustDate("2026-03-01"), Rank: "county_deputy", FromRank: "township"},
				CountedFrom: training.MustDate("2021-03-01"),
				Prorated: &training.Proration{Reason: "joined", From: training.MustDate("2026-03-01"), Months: 10, OfMonths: 12,
					FullTarget: training.Measures{Hours: &hours}}},
		},
		Flags:      map[training.Flag]int{training.FlagLongSpan: 1, training.FlagOverlapsRecord: 2},
		ComputedAt: time.Date(2026, 11, 27, 4, 0, 0, 123, time.UTC),
	}
}

func legacyFixtureFacts() training.Facts {
	return training.Facts{CadreID: "c-001", Name: "张三", Unit: "cn/cq/a", Year: 2026, AsOf: training.MustDate("2026-11-27"),
		Rank: "township", Category: "township", Leadership: true, Overall: training.StateUnmet,
		Requirements: []training.FactState{{ID: "annual_centralized", State: training.StateUnmet}, {ID: "annual_online", State: training.StateMet}},
		Trained:      true, CentralizedHours: 4050, FullTimeHours: 4000, OnlineHours: 5025,
		Makeup:     []string{training.MakeupLeaderNoPartySchool, training.MakeupUnmetLastYear},
		ComputedAt: time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStatusCodecKeepsEveryField: a snapshot is written as statusV2 and keeps every field of
// training.Status (through the extensions, those added later and Explain), null requirements
// apart from empty ones, and it is less than half the bytes of the statusV1 value of the same
// status (issue 12 item 2, docs/benchmarks.md “National scale”).
func TestStatusCodecKeepsEveryField(t *testing.T) {
	var full training.Status
	n := 0
	fillAll(t, reflect.ValueOf(&full).Elem(), &n)
	empty := legacyFixtureStatus()
	empty.Requirements = []training.RequirementStatus{}
	none := legacyFixtureStatus()
	none.Requirements, none.Flags = nil, nil
	for name, st := range map[string]training.Status{"EveryField": full, "Fixture": legacyFixtureStatus(), "NoRequirements": empty, "NilRequirements": none, "Zero": {}} {
		t.Run(name, func(t *testing.T) {
			v := encodeStatus(appendStatusBody(nil, &st), st.ComputedAt)
			if v[0] != statusV2 {
				t.Fatalf("written with version %d, want %d", v[0], statusV2)
			}
			var got training.Status
			if err := decodeStatus(v, &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if a, b := jsonOf(t, st), jsonOf(t, got); a != b || !got.ComputedAt.Equal(st.ComputedAt) {
				t.Fatalf("round trip\n got %s\nwant %s", b, a)
			}
		})
	}
	t.Run("Truncated", func(t *testing.T) {
		v := encodeStatus(appendStatusBody(nil, &full), full.ComputedAt)
		for i := 0; i < len(v)-1; i += 5 {
			var got training.Status
			if err := decodeStatus(v[:i], &got); err == nil {
				t.Fatalf("decoding %d of %d bytes succeeded", i, len(v))
			}
		}
	})
	t.Run("HalfTheBytes", func(t *testing.T) {
		st := legacyFixtureStatus()
		old, _ := hex.DecodeString(legacyStatusV1)
		v := encodeStatus(appendStatusBody(nil, &st), st.ComputedAt)
		if 2*len(v) > len(old) {
			t.Fatalf("statusV2 value %d bytes, statusV1 %d: want less than half", len(v), len(old))
		}
	})
}

// TestFactsCodecKeepsEveryField: report facts are stored binary (not JSON) and keep every field.
func TestFactsCodecKeepsEveryField(t *testing.T) {
	var full training.Facts
	n := 0
	fillAll(t, reflect.ValueOf(&full).Elem(), &n)
	for name, f := range map[string]training.Facts{"EveryField": full, "Fixture": legacyFixtureFacts(), "Zero": {}} {
		t.Run(name, func(t *testing.T) {
			v := encodeFacts(appendFactsBody(nil, &f), &f)
			if v[0] != codecV1 {
				t.Fatalf("written starting with %q, want the version byte %d", v[0], codecV1)
			}
			var got training.Facts
			if err := decodeFacts(v, &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if a, b := jsonOf(t, f), jsonOf(t, got); a != b || !got.ComputedAt.Equal(f.ComputedAt) {
				t.Fatalf("round trip\n got %s\nwant %s", b, a)
			}
		})
	}
}

// TestLegacySnapshotAndFacts: values the previous code wrote are read as what they were, and
// compare as the same status / the same facts with what the current code encodes.
func TestLegacySnapshotAndFacts(t *testing.T) {
	st, f := legacyFixtureStatus(), legacyFixtureFacts()
	v1, err := hex.DecodeString(legacyStatusV1)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string][]byte{"statusV1": v1, "JSON": []byte(legacyStatusJSON)} {
		var got training.Status
		if err := decodeStatus(v, &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a, b := jsonOf(t, st), jsonOf(t, got); a != b {
			t.Fatalf("%s read as\n%s\nwant\n%s", name, b, a)
		}
		body, at, current, err := storedStatusBody(v)
		if err != nil || current || !at.Equal(st.ComputedAt) || !bytes.Equal(body, appendStatusBody(nil, &st)) {
			t.Fatalf("%s: body differs from the current encoding's (current %v, at %v, %v)", name, current, at, err)
		}
	}
	var got training.Facts
	if err := decodeFacts([]byte(legacyFactsJSON), &got); err != nil {
		t.Fatal(err)
	}
	if a, b := jsonOf(t, f), jsonOf(t, got); a != b {
		t.Fatalf("facts read as\n%s\nwant\n%s", b, a)
	}
	body, at, err := storedFactsBody([]byte(legacyFactsJSON))
	if err != nil || !at.Equal(f.ComputedAt) || !bytes.Equal(body, appendFactsBody(nil, &f)) {
		t.Fatalf("facts body differs from the current encoding's (at %v, %v)", at, err)
	}
}

// TestLegacyValuesInTheStore: in a file holding the previous code's values, a recompute that
// finds the same status writes no snapshot of it but rewrites the stored one as statusV2, keeping
// its computed_at (so it is decoded once); the same facts are rewritten binary as they were (as
// of, computed at and rollups unchanged); changed facts replace the JSON ones and move the
// cadre's contribution between the unit rollups.
func TestLegacyValuesInTheStore(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpen(t)
	st, f := legacyFixtureStatus(), legacyFixtureFacts()
	v1, _ := hex.DecodeString(legacyStatusV1)
	tally, _ := json.Marshal(f.Tally())
	y := yearKey(f.Year)
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bktSnapshots).Put([]byte(st.CadreID), v1); err != nil {
			return err
		}
		for _, kv := range []struct {
			bucket []byte
			k, v   []byte
		}{
			{bktFacts, key(y, f.CadreID), []byte(f.Unit)},
			{bktFactsUnits, key(y, f.Unit, f.CadreID), []byte(legacyFactsJSON)},
			{bktFactsMakeup, key(y, f.Unit, f.CadreID), nil},
			{bktRollups, key(y, f.Unit), tally},
		} {
			b, err := tx.CreateBucketIfNotExists(kv.bucket)
			if err != nil {
				return err
			}
			if err := b.Put(kv.k, kv.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored := func(bucket, k []byte) []byte {
		var v []byte
		if err := s.db.View(func(tx *bbolt.Tx) error { v = bytes.Clone(tx.Bucket(bucket).Get(k)); return nil }); err != nil {
			t.Fatal(err)
		}
		return v
	}

	later := st
	later.ComputedAt = st.ComputedAt.Add(24 * time.Hour)
	// Not reported the same while stored in the older encoding (PutSnapshots is to rewrite it).
	if got, same, err := s.SnapshotUnlessSame(ctx, later, true); err != nil || same || got == nil || jsonOf(t, *got) != jsonOf(t, st) {
		t.Fatalf("SnapshotUnlessSame of a statusV1 snapshot: same %v, %v; want it decoded and not the same", same, err)
	}
	if n, err := s.PutSnapshots(ctx, []training.Status{later}); err != nil || n != 0 {
		t.Fatalf("PutSnapshots of the same status: wrote %d, %v; want 0", n, err)
	}
	if v := stored(bktSnapshots, []byte(st.CadreID)); len(v) == 0 || v[0] != statusV2 {
		t.Fatalf("same status left as %x, want it rewritten as statusV2", v)
	}
	if got, err := s.GetSnapshot(ctx, st.CadreID); err != nil || !got.ComputedAt.Equal(st.ComputedAt) || jsonOf(t, got) != jsonOf(t, st) {
		t.Fatalf("snapshot after the rewrite: %s, %v; want %s", jsonOf(t, got), err, jsonOf(t, st))
	}
	if got, same, err := s.SnapshotUnlessSame(ctx, later, true); err != nil || !same || got != nil {
		t.Fatalf("SnapshotUnlessSame after the rewrite: same %v, %v; want the same, nothing decoded", same, err)
	}
	changed := later
	changed.Overall = training.StateMet
	if got, same, err := s.SnapshotUnlessSame(ctx, changed, false); err != nil || same || got != nil {
		t.Fatalf("SnapshotUnlessSame of a changed status without decode: same %v, %v", same, err)
	}

	same := f
	same.AsOf, same.ComputedAt = training.MustDate("2026-11-28"), f.ComputedAt.Add(24*time.Hour)
	if err := s.PutFacts(ctx, same); err != nil {
		t.Fatal(err)
	}
	if v := stored(bktFactsUnits, key(y, f.Unit, f.CadreID)); len(v) == 0 || v[0] != codecV1 {
		t.Fatalf("the same facts left as %q, want them rewritten in the binary encoding", v)
	}
	if got, err := s.GetFacts(ctx, f.CadreID, []int{f.Year}); err != nil || jsonOf(t, got[f.Year]) != jsonOf(t, f) {
		t.Fatalf("the same facts after the rewrite: %s, %v; want them as stored (as of and computed at included) %s", jsonOf(t, got[f.Year]), err, jsonOf(t, f))
	}
	if rollups, err := s.ListRollups(ctx, f.Year, "cn/cq"); err != nil || len(rollups) != 1 || !reflect.DeepEqual(rollups[0].Tally, f.Tally()) {
		t.Fatalf("rollups after the same facts: %+v, %v; want %v", rollups, err, f.Tally())
	}

	moved := same
	moved.Unit, moved.Overall, moved.Makeup = "cn/cq/b", training.StateMet, nil
	if err := s.PutFacts(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if v := stored(bktFactsUnits, key(y, moved.Unit, f.CadreID)); len(v) == 0 || v[0] != codecV1 {
		t.Fatalf("changed facts stored as %q, want binary", v)
	}
	if v := stored(bktFactsUnits, key(y, f.Unit, f.CadreID)); v != nil {
		t.Fatalf("the old unit's facts are still there: %q", v)
	}
	rollups, err := s.ListRollups(ctx, f.Year, "cn/cq")
	if err != nil {
		t.Fatal(err)
	}
	if len(rollups) != 1 || rollups[0].Unit != moved.Unit || !reflect.DeepEqual(rollups[0].Tally, moved.Tally()) {
		t.Fatalf("rollups after the move: %+v, want only %s with %v", rollups, moved.Unit, moved.Tally())
	}
	got, err := s.GetFacts(ctx, f.CadreID, []int{f.Year})
	if err != nil || jsonOf(t, got[f.Year]) != jsonOf(t, moved) {
		t.Fatalf("GetFacts: %s, %v; want %s", jsonOf(t, got[f.Year]), err, jsonOf(t, moved))
	}
}

// TestCheckDecodesFacts: cadred -check decodes the report facts too (docs/operations.md): a
// facts value of an unknown encoding is a problem, named with its bucket; legacy JSON facts are not.
func TestCheckDecodesFacts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value []byte
		want  string // "" = consistent
	}{
		{"LegacyJSON", []byte(legacyFactsJSON), ""},
		{"Binary", func() []byte { f := legacyFixtureFacts(); return encodeFacts(appendFactsBody(nil, &f), &f) }(), ""},
		{"UnknownVersion", []byte{9, 1, 0}, "facts_units"},
		{"Truncated", func() []byte {
			f := legacyFixtureFacts()
			v := encodeFacts(appendFactsBody(nil, &f), &f)
			return v[:len(v)-3]
		}(), "facts_units"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := MustOpen(t)
			err := s.db.Update(func(tx *bbolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists(bktFactsUnits)
				if err != nil {
					return err
				}
				return b.Put(key("2026", "cn/cq/a", "c-001"), tc.value)
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			err = Check(path)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Check: %v, want a problem naming %q", err, tc.want)
			}
		})
	}
}

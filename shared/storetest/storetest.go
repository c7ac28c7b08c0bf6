// Package storetest is the contract suite for training.Store: every implementation (shared/bolt,
// shared/dynamo) runs the same tests with
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) training.Store { … fresh, empty store; t.Cleanup(…) … })
//	}
//
// The suite relies only on the contracts written in shared/training/store.go:
//
//   - Every test gets its own fresh store from newStore, so the change feed of a store holds only
//     that test's changes.
//   - Nothing is assumed about timing. The change feed may lag (a DynamoDB stream does): the suite
//     polls ReadChanges until what it waits for has arrived (up to FeedTimeout). To check that an
//     operation appended nothing, it makes one more effective change on the same cadre afterwards
//     and waits for that one: changes of one cadre come in order, so anything the earlier
//     operation had appended would have arrived before it.
//   - Only the order of changes within one cadre is checked, never the order across cadres.
//   - Time precision: every time.Time the suite stores is in UTC with millisecond precision, and
//     compared with Equal (after normalising to UTC). A store must round-trip times at least to
//     the millisecond; it may return them in any location.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// FeedTimeout bounds how long the suite waits for an expected change to appear in the feed.
var FeedTimeout = 30 * time.Second

// Run runs the contract suite. newStore returns a fresh, empty store and registers its own cleanup.
func Run(t *testing.T, newStore func(t *testing.T) training.Store) {
	t.Run("Cadres", func(t *testing.T) { testCadres(t, newStore) })
	t.Run("ListCadres", func(t *testing.T) { testListCadres(t, newStore) })
	t.Run("Records", func(t *testing.T) { testRecords(t, newStore) })
	t.Run("ListRecords", func(t *testing.T) { testListRecords(t, newStore) })
	t.Run("ListRecordsPage", func(t *testing.T) { testListRecordsPage(t, newStore) })
	t.Run("CadreWithRecords", func(t *testing.T) { testCadreWithRecords(t, newStore) })
	t.Run("ConcurrentCreate", func(t *testing.T) { testConcurrentCreate(t, newStore) })
	t.Run("VoidRecord", func(t *testing.T) { testVoidRecord(t, newStore) })
	t.Run("SupersedeRecord", func(t *testing.T) { testSupersedeRecord(t, newStore) })
	t.Run("Snapshots", func(t *testing.T) { testSnapshots(t, newStore) })
	t.Run("PutSnapshots", func(t *testing.T) { testPutSnapshots(t, newStore) })
	t.Run("FormEntries", func(t *testing.T) { testFormEntries(t, newStore) })
	t.Run("ChangeFeed", func(t *testing.T) { testChangeFeed(t, newStore) })
	t.Run("Rollups", func(t *testing.T) { testRollups(t, newStore) })
	t.Run("RollupsRetried", func(t *testing.T) { testRollupsRetried(t, newStore) })
	t.Run("Docs", func(t *testing.T) { testDocs(t, newStore) })
}

// T0 is the base instant of the suite's data: UTC, millisecond precision.
var T0 = time.Date(2025, 3, 1, 8, 30, 15, 123_000_000, time.UTC)

// NewCadre returns a cadre (Version 0) with every field filled.
func NewCadre(id, unit string) training.Cadre {
	return training.Cadre{
		ID:        id,
		Name:      "干部 " + id,
		Unit:      unit,
		Rank:      "county_division_chief",
		RankTitle: "县处级正职",
		Category:  "county_division",
		RankHistory: []training.RankChange{
			{Rank: "county_division_deputy", EffectiveOn: training.MustDate("2019-06-01")},
			{Rank: "county_division_chief", EffectiveOn: training.MustDate("2023-01-15")},
		},
		LeadershipMember: true,
		LeadershipHistory: []training.LeadershipTerm{
			{AppointedOn: training.MustDate("2015-03-01"), LeftOn: training.MustDate("2018-03-01")},
			{AppointedOn: training.MustDate("2021-09-01")},
		},
		Corrections: []training.ProfileCorrection{{
			Field: "leadership_history", Before: []byte(`[{"appointed_on":"2021-10-01"}]`),
			After: []byte(`[{"appointed_on":"2021-09-01"}]`), Reason: "任职文件日期有误", By: "api-key:hr", At: T0,
		}},
		JoinedOn:  training.MustDate("2010-07-01"),
		CreatedAt: T0,
		UpdatedAt: T0,
	}
}

// NewRecord returns a sealed, active centralized record of the cadre keyed (source, externalID)
// ending on end; each mod changes it before it is sealed.
func NewRecord(cadreID, source, externalID string, end training.Date, mods ...func(*training.Record)) training.Record {
	r := training.Record{
		CadreID:         cadreID,
		Source:          source,
		ExternalID:      externalID,
		SourceSystem:    "platform-a",
		Kind:            training.KindCentralized,
		FullTime:        true,
		CourseID:        "course-" + externalID,
		CourseTitle:     "中青年干部培训班",
		Institution:     "中央党校（国家行政学院）",
		InstitutionType: "party_school",
		StartDate:       end.AddDays(-4),
		EndDate:         end,
		Days:            training.WholeDays(5),
		Hours:           training.HoursOf(40),
		Assessment:      training.AssessmentPassed,
		Status:          training.StatusActive,
		CreatedAt:       T0,
	}
	for _, m := range mods {
		m(&r)
	}
	r.Seal()
	return r
}

// Online makes the record an online self-study record studied on d (zero: dated by completedAt).
func Online(studiedOn training.Date, completedAt time.Time) func(*training.Record) {
	return func(r *training.Record) {
		r.Kind, r.FullTime = training.KindOnline, false
		r.StartDate, r.EndDate, r.Days = training.Date{}, training.Date{}, training.Days{}
		r.Institution, r.InstitutionType = "", ""
		r.StudiedOn, r.CompletedAt = studiedOn, completedAt
		r.Hours = 150
		r.DurationMinutes = 45 // stored and read back like every other field
	}
}

// MustPutCadre stores c with expectVersion or fails the test.
func MustPutCadre(tb testing.TB, s training.Store, c training.Cadre, expectVersion int64) training.Cadre {
	tb.Helper()
	got, err := s.PutCadre(context.Background(), c, expectVersion)
	if err != nil {
		tb.Fatalf("PutCadre(%s, %d): %v", c.ID, expectVersion, err)
	}
	return got
}

// MustCreateRecord creates r, failing the test unless the outcome is Created.
func MustCreateRecord(tb testing.TB, s training.Store, r training.Record) training.Record {
	tb.Helper()
	got, outcome, err := s.CreateRecord(context.Background(), r)
	if err != nil {
		tb.Fatalf("CreateRecord(%s/%s): %v", r.Source, r.ExternalID, err)
	}
	if outcome != training.Created {
		tb.Fatalf("CreateRecord(%s/%s) outcome=%s, want %s", r.Source, r.ExternalID, outcome, training.Created)
	}
	return got
}

// ---- normalisation and comparison ----

func utc(t time.Time) time.Time { return t.UTC() }

func normVoiding(v *training.Voiding) *training.Voiding {
	if v == nil {
		return nil
	}
	c := *v
	c.At = utc(c.At)
	return &c
}

func normCadre(c training.Cadre) training.Cadre {
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	c.Corrections = slices.Clone(c.Corrections)
	for i := range c.Corrections {
		c.Corrections[i].At = utc(c.Corrections[i].At)
	}
	return c
}

func normRecord(r training.Record) training.Record {
	r.CompletedAt, r.CreatedAt = utc(r.CompletedAt), utc(r.CreatedAt)
	r.Void = normVoiding(r.Void)
	return r
}

func normStatus(s training.Status) training.Status {
	s.ComputedAt = utc(s.ComputedAt)
	return s
}

func normEntry(e training.FormEntry) training.FormEntry {
	e.EnteredAt = utc(e.EnteredAt)
	e.Withdrawal = normVoiding(e.Withdrawal)
	return e
}

func sameCadre(tb testing.TB, what string, got, want training.Cadre) {
	tb.Helper()
	if g, w := normCadre(got), normCadre(want); !reflect.DeepEqual(g, w) {
		tb.Fatalf("%s:\n got  %+v\n want %+v", what, g, w)
	}
}

func sameRecord(tb testing.TB, what string, got, want training.Record) {
	tb.Helper()
	if g, w := normRecord(got), normRecord(want); !reflect.DeepEqual(g, w) {
		tb.Fatalf("%s:\n got  %+v\n want %+v", what, g, w)
	}
}

func sameStatus(tb testing.TB, what string, got, want training.Status) {
	tb.Helper()
	if g, w := normStatus(got), normStatus(want); !reflect.DeepEqual(g, w) {
		tb.Fatalf("%s:\n got  %+v\n want %+v", what, g, w)
	}
}

func sameEntry(tb testing.TB, what string, got, want training.FormEntry) {
	tb.Helper()
	if g, w := normEntry(got), normEntry(want); !reflect.DeepEqual(g, w) {
		tb.Fatalf("%s:\n got  %+v\n want %+v", what, g, w)
	}
}

func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := training.ErrorCode(err); got != code {
		tb.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func cadreIDs(cs []training.Cadre) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func recordIDs(rs []training.Record) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

func entryIDs(es []training.FormEntry) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.RecordID
	}
	return ids
}

// ---- cadres ----

func testCadres(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()

	t.Run("GetNotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetCadre(ctx, "nobody")
		wantCode(t, "GetCadre", err, training.ENOTFOUND)
	})

	t.Run("Create", func(t *testing.T) {
		s := newStore(t)
		c := NewCadre("c1", "cn/cq")
		got := MustPutCadre(t, s, c, 0)
		if got, want := got.Version, int64(1); got != want {
			t.Fatalf("returned Version=%d, want %d", got, want)
		}
		c.Version = 1
		sameCadre(t, "returned cadre", got, c)
		stored, err := s.GetCadre(ctx, "c1")
		if err != nil {
			t.Fatalf("GetCadre: %v", err)
		}
		sameCadre(t, "stored cadre", stored, c)
	})

	t.Run("CreateTwiceConflict", func(t *testing.T) {
		s := newStore(t)
		MustPutCadre(t, s, NewCadre("c1", "cn/cq"), 0)
		other := NewCadre("c1", "cn/sc")
		other.Name = "someone else"
		_, err := s.PutCadre(ctx, other, 0)
		wantCode(t, "second create", err, training.ECONFLICT)
		stored, err := s.GetCadre(ctx, "c1")
		if err != nil {
			t.Fatalf("GetCadre: %v", err)
		}
		want := NewCadre("c1", "cn/cq")
		want.Version = 1
		sameCadre(t, "stored cadre after the refused create", stored, want)
	})

	t.Run("Update", func(t *testing.T) {
		s := newStore(t)
		c := MustPutCadre(t, s, NewCadre("c1", "cn/cq"), 0)
		for i, wantVersion := range []int64{2, 3, 4} {
			c.Name = fmt.Sprintf("renamed %d", i)
			c.UpdatedAt = T0.Add(time.Duration(i+1) * time.Hour)
			got := MustPutCadre(t, s, c, c.Version)
			if got, want := got.Version, wantVersion; got != want {
				t.Fatalf("Version=%d, want %d", got, want)
			}
			c.Version = wantVersion
			stored, err := s.GetCadre(ctx, "c1")
			if err != nil {
				t.Fatalf("GetCadre: %v", err)
			}
			sameCadre(t, "stored cadre", stored, c)
		}
	})

	t.Run("UpdateWrongVersionConflict", func(t *testing.T) {
		s := newStore(t)
		c := MustPutCadre(t, s, NewCadre("c1", "cn/cq"), 0)
		c = MustPutCadre(t, s, c, 1) // now Version 2
		for _, tc := range []struct {
			name    string
			version int64
		}{
			{"Stale", 1},
			{"Ahead", 3},
			{"Create", 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				changed := c
				changed.Name = "lost update"
				_, err := s.PutCadre(ctx, changed, tc.version)
				wantCode(t, "PutCadre", err, training.ECONFLICT)
				stored, err := s.GetCadre(ctx, "c1")
				if err != nil {
					t.Fatalf("GetCadre: %v", err)
				}
				sameCadre(t, "stored cadre", stored, c)
			})
		}
	})

	t.Run("UpdateMissingConflict", func(t *testing.T) {
		s := newStore(t)
		_, err := s.PutCadre(ctx, NewCadre("c1", "cn/cq"), 1)
		wantCode(t, "PutCadre of a missing cadre with version 1", err, training.ECONFLICT)
		_, err = s.GetCadre(ctx, "c1")
		wantCode(t, "GetCadre", err, training.ENOTFOUND)
	})

	t.Run("UpdateMovesUnit", func(t *testing.T) {
		s := newStore(t)
		c := MustPutCadre(t, s, NewCadre("c1", "cn/cq"), 0)
		c.Unit = "cn/sc"
		MustPutCadre(t, s, c, 1)
		for _, tc := range []struct {
			prefix string
			want   []string
		}{
			{"cn/cq", nil},
			{"cn/sc", []string{"c1"}},
			{"", []string{"c1"}},
		} {
			got := listAllCadres(t, s, tc.prefix, 0)
			if g, w := cadreIDs(got), tc.want; !slices.Equal(g, w) {
				t.Fatalf("ListCadres(%q)=%v, want %v", tc.prefix, g, w)
			}
		}
	})
}

// listAllCadres pages through ListCadres and checks each page against limit.
func listAllCadres(tb testing.TB, s training.Store, prefix string, limit int) []training.Cadre {
	tb.Helper()
	var all []training.Cadre
	cursor := ""
	for page := 0; ; page++ {
		if page > 1000 {
			tb.Fatalf("ListCadres(%q, limit %d): no end after %d pages", prefix, limit, page)
		}
		cs, next, err := s.ListCadres(context.Background(), prefix, cursor, limit)
		if err != nil {
			tb.Fatalf("ListCadres(%q, %q, %d): %v", prefix, cursor, limit, err)
		}
		max := limit
		if max <= 0 {
			max = 100
		}
		if len(cs) > max {
			tb.Fatalf("ListCadres(%q, limit %d) returned %d cadres", prefix, limit, len(cs))
		}
		all = append(all, cs...)
		if next == "" {
			return all
		}
		if next == cursor {
			tb.Fatalf("ListCadres(%q): cursor %q did not advance", prefix, next)
		}
		cursor = next
	}
}

func testListCadres(t *testing.T, newStore func(t *testing.T) training.Store) {
	s := newStore(t)
	units := map[string][]string{ // unit → ids, deliberately not created in order
		"cn/cq/yuzhong":   {"c07", "c03"},
		"cn/cq":           {"c09", "c01", "c05"},
		"cn/cqx":          {"c02"},
		"cn/sc":           {"c04", "c08"},
		"cn":              {"c06"},
		"cn/cq/yuzhong/a": {"c10"},
		"cn/cq-old":       {"c11"},
	}
	var all []training.Cadre
	for _, unit := range []string{"cn/sc", "cn/cq/yuzhong", "cn", "cn/cqx", "cn/cq", "cn/cq/yuzhong/a", "cn/cq-old"} {
		for _, id := range units[unit] {
			all = append(all, MustPutCadre(t, s, NewCadre(id, unit), 0))
		}
	}
	slices.SortFunc(all, func(a, b training.Cadre) int {
		if c := strings.Compare(a.Unit, b.Unit); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	want := func(prefix string) []string {
		var ids []string
		for _, c := range all {
			if training.InUnit(c.Unit, prefix) {
				ids = append(ids, c.ID)
			}
		}
		return ids
	}

	for _, tc := range []struct {
		name, prefix string
	}{
		{"All", ""},
		{"Root", "cn"},
		{"Subtree", "cn/cq"},
		{"TrailingSlash", "cn/cq/"},
		{"Deeper", "cn/cq/yuzhong"},
		{"Leaf", "cn/cq/yuzhong/a"},
		{"OtherBranch", "cn/sc"},
		{"SiblingWithSuffix", "cn/cqx"},
		{"PartialSegment", "cn/c"},
		{"Unknown", "us"},
	} {
		for _, limit := range []int{0, 1, 2, 3, 100} {
			t.Run(fmt.Sprintf("%s/limit=%d", tc.name, limit), func(t *testing.T) {
				got := listAllCadres(t, s, tc.prefix, limit)
				if g, w := cadreIDs(got), want(tc.prefix); !slices.Equal(g, w) {
					t.Fatalf("ListCadres(%q)=%v, want %v", tc.prefix, g, w)
				}
			})
		}
	}

	t.Run("FullValues", func(t *testing.T) {
		got := listAllCadres(t, s, "", 4)
		if got, want := len(got), len(all); got != want {
			t.Fatalf("len=%d, want %d", got, want)
		}
		for i := range all {
			sameCadre(t, "listed cadre "+all[i].ID, got[i], all[i])
		}
	})

	t.Run("ManyPages", func(t *testing.T) {
		s := newStore(t)
		var want []string
		for i := 0; i < 47; i++ {
			id := fmt.Sprintf("p%03d", i)
			unit := fmt.Sprintf("cn/u%d", i%5)
			MustPutCadre(t, s, NewCadre(id, unit), 0)
		}
		for u := 0; u < 5; u++ {
			for i := u; i < 47; i += 5 {
				want = append(want, fmt.Sprintf("p%03d", i))
			}
		}
		for _, limit := range []int{1, 4, 10, 46, 47, 48} {
			got := listAllCadres(t, s, "", limit)
			if g := cadreIDs(got); !slices.Equal(g, want) {
				t.Fatalf("limit %d: ListCadres=%v, want %v", limit, g, want)
			}
		}
	})

	t.Run("BadCursor", func(t *testing.T) {
		for _, cursor := range []string{"%%%not a cursor%%%", "\x00\xff"} {
			_, _, err := s.ListCadres(context.Background(), "cn", cursor, 10)
			wantCode(t, fmt.Sprintf("ListCadres(cursor %q)", cursor), err, training.EINVALID)
		}
	})
}

// ---- records ----

func testRecords(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	end := training.MustDate("2025-02-28")

	t.Run("GetNotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetRecord(ctx, training.RecordID("platform/a", "missing"))
		wantCode(t, "GetRecord", err, training.ENOTFOUND)
	})

	t.Run("Created", func(t *testing.T) {
		s := newStore(t)
		r := NewRecord("c1", "platform/a", "e1", end)
		got := MustCreateRecord(t, s, r)
		sameRecord(t, "returned record", got, r)
		stored, err := s.GetRecord(ctx, r.ID)
		if err != nil {
			t.Fatalf("GetRecord: %v", err)
		}
		sameRecord(t, "stored record", stored, r)
	})

	// Both stores refuse a record that was not sealed, or was changed after sealing (the content
	// hash is what tells a duplicate from a conflict), and store nothing.
	t.Run("UnsealedRejected", func(t *testing.T) {
		s := newStore(t)
		unsealed := NewRecord("c1", "platform/a", "e-unsealed", end)
		unsealed.ID, unsealed.ContentHash = "", ""
		_, _, err := s.CreateRecord(ctx, unsealed)
		wantCode(t, "CreateRecord(unsealed)", err, training.EINVALID)
		changed := NewRecord("c1", "platform/a", "e-changed", end)
		changed.Hours += 100
		_, _, err = s.CreateRecord(ctx, changed)
		wantCode(t, "CreateRecord(changed after sealing)", err, training.EINVALID)
		recs, err := s.ListRecords(ctx, "c1")
		if err != nil || len(recs) != 0 {
			t.Fatalf("ListRecords after refused creates: %d records, %v", len(recs), err)
		}
	})

	t.Run("OnlineRoundTrip", func(t *testing.T) {
		s := newStore(t)
		r := NewRecord("c1", "hr/k1", "idem-1", training.Date{}, Online(training.Date{}, T0.Add(17*time.Hour)))
		MustCreateRecord(t, s, r)
		stored, err := s.GetRecord(ctx, r.ID)
		if err != nil {
			t.Fatalf("GetRecord: %v", err)
		}
		sameRecord(t, "stored record", stored, r)
	})

	// docs/rules.md “Half days”: days in steps of 0.5 are stored exactly and read back.
	t.Run("HalfDayRoundTrip", func(t *testing.T) {
		s := newStore(t)
		for i, days := range []string{"0.5", "2.5"} {
			r := NewRecord("c1", "platform/a", "half-"+days, end, func(r *training.Record) {
				r.StartDate, r.Days = end.AddDays(-i-1), training.DaysFromHalves(int64(1+4*i)) // 0.5 on 2 days, 2.5 on 3 days
			})
			if r.Days.String() != days {
				t.Fatalf("test record has %s days, want %s", r.Days, days)
			}
			MustCreateRecord(t, s, r)
			stored, err := s.GetRecord(ctx, r.ID)
			if err != nil {
				t.Fatalf("GetRecord: %v", err)
			}
			sameRecord(t, "stored half-day record", stored, r)
			recs, err := s.ListRecords(ctx, "c1")
			if err != nil {
				t.Fatalf("ListRecords: %v", err)
			}
			if !slices.ContainsFunc(recs, func(x training.Record) bool { return x.ID == r.ID && x.Days == r.Days }) {
				t.Fatalf("ListRecords lacks %s with %s days: %+v", r.ID, r.Days, recs)
			}
		}
	})

	for _, tc := range []struct {
		name    string
		replay  training.Record
		outcome training.CreateOutcome
	}{
		{"Duplicate", NewRecord("c1", "platform/a", "e1", end, func(r *training.Record) {
			r.CreatedAt = T0.Add(time.Hour) // not part of the content
		}), training.Duplicate},
		{"Conflict", NewRecord("c1", "platform/a", "e1", end, func(r *training.Record) {
			r.Hours = training.HoursOf(8)
		}), training.Conflict},
		{"ConflictOtherCadre", NewRecord("c2", "platform/a", "e1", end), training.Conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			orig := MustCreateRecord(t, s, NewRecord("c1", "platform/a", "e1", end))
			got, outcome, err := s.CreateRecord(ctx, tc.replay)
			if err != nil {
				t.Fatalf("CreateRecord replay: %v", err)
			}
			if got, want := outcome, tc.outcome; got != want {
				t.Fatalf("outcome=%s, want %s", got, want)
			}
			sameRecord(t, "returned record", got, orig)
			stored, err := s.GetRecord(ctx, orig.ID)
			if err != nil {
				t.Fatalf("GetRecord: %v", err)
			}
			sameRecord(t, "stored record", stored, orig)
			for _, cadre := range []string{"c1", "c2"} {
				rs, err := s.ListRecords(ctx, cadre)
				if err != nil {
					t.Fatalf("ListRecords: %v", err)
				}
				want := 0
				if cadre == "c1" {
					want = 1
				}
				if got := len(rs); got != want {
					t.Fatalf("ListRecords(%s) has %d records, want %d", cadre, got, want)
				}
			}
		})
	}

	t.Run("SameExternalIDOtherSource", func(t *testing.T) {
		s := newStore(t)
		a := MustCreateRecord(t, s, NewRecord("c1", "platform/a", "e1", end))
		b := MustCreateRecord(t, s, NewRecord("c1", "platform/b", "e1", end))
		if a.ID == b.ID {
			t.Fatalf("records of two sources share id %s", a.ID)
		}
	})
}

func testListRecords(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	s := newStore(t)
	d := training.MustDate
	recs := []training.Record{
		NewRecord("c1", "platform/a", "e1", d("2024-06-30")),
		NewRecord("c1", "platform/a", "e2", d("2025-01-10")),
		NewRecord("c1", "hr/k", "s1", training.Date{}, Online(d("2024-12-01"), time.Time{})),
		// 2024-12-31 20:00 UTC is 2025-01-01 in China Standard Time.
		NewRecord("c1", "hr/k", "s2", training.Date{}, Online(training.Date{}, time.Date(2024, 12, 31, 20, 0, 0, 0, time.UTC))),
		NewRecord("c1", "platform/b", "e3", d("2025-01-10")), // same date as e2: ordered by id
		NewRecord("c1", "platform/c", "e4", d("2025-01-10")),
		NewRecord("c2", "platform/a", "other", d("2025-02-01")),
	}
	for _, r := range recs {
		MustCreateRecord(t, s, r)
	}
	voided := training.Voiding{Reason: "entered twice", By: "hr-admin", At: T0}
	if _, changed, err := s.VoidRecord(ctx, recs[0].ID, voided); err != nil || !changed {
		t.Fatalf("VoidRecord: changed=%v, err=%v", changed, err)
	}
	recs[0].Status, recs[0].Void = training.StatusVoided, &voided

	want := archiveOrder(recs, "c1")

	t.Run("OrderAndVoided", func(t *testing.T) {
		got, err := s.ListRecords(ctx, "c1")
		if err != nil {
			t.Fatalf("ListRecords: %v", err)
		}
		if g, w := recordIDs(got), recordIDs(want); !slices.Equal(g, w) {
			t.Fatalf("ListRecords ids=%v, want %v", g, w)
		}
		for i := range want {
			sameRecord(t, "listed record", got[i], want[i])
		}
	})

	t.Run("UnknownCadre", func(t *testing.T) {
		got, err := s.ListRecords(ctx, "nobody")
		if err != nil {
			t.Fatalf("ListRecords: %v", err)
		}
		if got, want := len(got), 0; got != want {
			t.Fatalf("len=%d, want %d", got, want)
		}
	})
}

func testConcurrentCreate(t *testing.T, newStore func(t *testing.T) training.Store) {
	const n = 20
	end := training.MustDate("2025-02-28")
	for _, tc := range []struct {
		name        string
		sameContent bool
		loser       training.CreateOutcome
	}{
		{"SameContent", true, training.Duplicate},
		{"OtherContent", false, training.Conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			type result struct {
				in, out training.Record
				outcome training.CreateOutcome
				err     error
			}
			results := make([]result, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				r := NewRecord("c1", "platform/a", "race", end, func(r *training.Record) {
					if !tc.sameContent {
						r.CourseTitle = fmt.Sprintf("course %d", i)
					}
				})
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					out, outcome, err := s.CreateRecord(context.Background(), r)
					results[i] = result{r, out, outcome, err}
				}()
			}
			close(start)
			wg.Wait()

			var winner *result
			for i := range results {
				res := &results[i]
				if res.err != nil {
					t.Fatalf("CreateRecord %d: %v", i, res.err)
				}
				switch res.outcome {
				case training.Created:
					if winner != nil {
						t.Fatalf("two creates returned %s", training.Created)
					}
					winner = res
				case tc.loser:
				default:
					t.Fatalf("CreateRecord %d outcome=%s, want %s or %s", i, res.outcome, training.Created, tc.loser)
				}
			}
			if winner == nil {
				t.Fatalf("no create returned %s", training.Created)
			}
			stored, err := s.GetRecord(context.Background(), winner.in.ID)
			if err != nil {
				t.Fatalf("GetRecord: %v", err)
			}
			sameRecord(t, "stored record", stored, winner.in)
			for _, res := range results {
				sameRecord(t, "returned record", res.out, winner.in)
			}

			// Exactly one INSERT: a sentinel record of the same cadre closes the feed.
			sentinel := MustCreateRecord(t, s, NewRecord("c1", "platform/a", "sentinel", end))
			changes := readUntilRecord(t, s, "", sentinel.ID)
			if got, want := changeSummary(changes, "c1"), []string{"INSERT " + winner.in.ID, "INSERT " + sentinel.ID}; !slices.Equal(got, want) {
				t.Fatalf("changes=%v, want %v", got, want)
			}
		})
	}
}

func testVoidRecord(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	end := training.MustDate("2025-02-28")
	first := training.Voiding{Reason: "entered twice", By: "hr-admin", At: T0.Add(time.Hour)}
	second := training.Voiding{Reason: "other reason", By: "someone", At: T0.Add(2 * time.Hour)}

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.VoidRecord(ctx, training.RecordID("platform/a", "missing"), first)
		wantCode(t, "VoidRecord", err, training.ENOTFOUND)
	})

	t.Run("VoidThenNoOp", func(t *testing.T) {
		s := newStore(t)
		r := MustCreateRecord(t, s, NewRecord("c1", "platform/a", "e1", end))
		want := r
		want.Status, want.Void = training.StatusVoided, &first

		got, changed, err := s.VoidRecord(ctx, r.ID, first)
		if err != nil {
			t.Fatalf("VoidRecord: %v", err)
		}
		if !changed {
			t.Fatalf("first VoidRecord changed=false, want true")
		}
		sameRecord(t, "returned record", got, want)
		stored, err := s.GetRecord(ctx, r.ID)
		if err != nil {
			t.Fatalf("GetRecord: %v", err)
		}
		sameRecord(t, "stored record", stored, want)

		got, changed, err = s.VoidRecord(ctx, r.ID, second)
		if err != nil {
			t.Fatalf("second VoidRecord: %v", err)
		}
		if changed {
			t.Fatalf("second VoidRecord changed=true, want false")
		}
		sameRecord(t, "record returned by the no-op void", got, want)
		stored, err = s.GetRecord(ctx, r.ID)
		if err != nil {
			t.Fatalf("GetRecord: %v", err)
		}
		sameRecord(t, "stored record after the no-op void", stored, want)

		// A voided record is still a duplicate of its replay (the hash ignores status).
		replay, outcome, err := s.CreateRecord(ctx, NewRecord("c1", "platform/a", "e1", end))
		if err != nil {
			t.Fatalf("CreateRecord replay: %v", err)
		}
		if got, want := outcome, training.Duplicate; got != want {
			t.Fatalf("replay outcome=%s, want %s", got, want)
		}
		sameRecord(t, "replay returned", replay, want)
	})
}

// ---- snapshots ----

func testSnapshots(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	status := func(computedAt time.Time, overall training.State) training.Status {
		days, hours := training.WholeDays(90), training.HoursOf(110)
		achieved, achievedDays := training.HoursOf(64), training.DaysFromHalves(5) // 2.5 days (docs/rules.md “Half days”)
		return training.Status{
			CadreID:                    "c1",
			AsOf:                       training.DateInCST(computedAt),
			Policy:                     "cadre-2023-2027",
			Category:                   "county_division",
			Overall:                    overall,
			AppraisalExcellentEligible: true,
			Requirements: []training.RequirementStatus{{
				ID:        "five_year_total",
				Window:    training.Window{Start: training.MustDate("2023-01-01"), End: training.MustDate("2027-12-31")},
				Target:    training.Measures{Days: &days, Hours: &hours},
				Achieved:  training.Measures{Days: &achievedDays, Hours: &achieved},
				Remaining: training.Measures{Hours: &achieved},
				State:     overall,
				Deadline:  training.MustDate("2027-12-31"),
			}},
			ComputedAt: computedAt,
		}
	}
	older, newer, newest := status(T0, training.StateUnmet), status(T0.Add(time.Minute), training.StateOnTrack), status(T0.Add(time.Hour), training.StateMet)

	t.Run("GetNotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetSnapshot(ctx, "c1")
		wantCode(t, "GetSnapshot", err, training.ENOTFOUND)
	})

	for _, tc := range []struct {
		name string
		puts []training.Status
		want training.Status
	}{
		{"One", []training.Status{older}, older},
		{"NewerReplaces", []training.Status{older, newer}, newer},
		{"OlderKeepsNewer", []training.Status{newer, older}, newer},
		{"OutOfOrder", []training.Status{newer, newest, older}, newest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			for _, st := range tc.puts {
				if err := s.PutSnapshot(ctx, st); err != nil {
					t.Fatalf("PutSnapshot(%v): %v", st.ComputedAt, err)
				}
			}
			got, err := s.GetSnapshot(ctx, "c1")
			if err != nil {
				t.Fatalf("GetSnapshot: %v", err)
			}
			sameStatus(t, "snapshot", got, tc.want)
			_, err = s.GetSnapshot(ctx, "c2")
			wantCode(t, "GetSnapshot of another cadre", err, training.ENOTFOUND)
		})
	}
}

// ---- form entries ----

func testFormEntries(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	entry := func(cadre string, form training.FormKind, recordID, start string) training.FormEntry {
		sd := training.MustDate(start)
		return training.FormEntry{
			CadreID:     cadre,
			Form:        form,
			Year:        sd.Year,
			RecordID:    recordID,
			StartDate:   sd,
			EndDate:     sd.AddMonthsClamped(2),
			Months:      2,
			Institution: "中央党校（国家行政学院）",
			CourseTitle: "中青年干部培训班",
			Assessment:  training.AssessmentPassed,
			Line:        fmt.Sprintf("%d.%02d 在中央党校（国家行政学院）中青年干部培训班脱产培训", sd.Year, int(sd.Month)),
			Status:      training.EntryActive,
			EnteredAt:   T0,
		}
	}
	mustPut := func(tb testing.TB, s training.Store, e training.FormEntry) {
		tb.Helper()
		if err := s.PutFormEntry(ctx, e); err != nil {
			tb.Fatalf("PutFormEntry(%s, %s, %s): %v", e.CadreID, e.Form, e.RecordID, err)
		}
	}
	mustList := func(tb testing.TB, s training.Store, cadre string, form training.FormKind) []training.FormEntry {
		tb.Helper()
		es, err := s.ListFormEntries(ctx, cadre, form)
		if err != nil {
			tb.Fatalf("ListFormEntries(%s, %s): %v", cadre, form, err)
		}
		return es
	}
	w1 := training.Voiding{Reason: "record voided", By: "hr-admin", At: T0.Add(time.Hour)}
	w2 := training.Voiding{Reason: "again", By: "someone", At: T0.Add(2 * time.Hour)}

	t.Run("Empty", func(t *testing.T) {
		s := newStore(t)
		if got, want := len(mustList(t, s, "c1", training.FormAppraisal)), 0; got != want {
			t.Fatalf("len=%d, want %d", got, want)
		}
	})

	t.Run("PutIdempotentAndRefresh", func(t *testing.T) {
		s := newStore(t)
		e := entry("c1", training.FormAppraisal, "r1", "2024-03-01")
		mustPut(t, s, e)
		mustPut(t, s, e)
		got := mustList(t, s, "c1", training.FormAppraisal)
		if got, want := len(got), 1; got != want {
			t.Fatalf("len=%d, want %d", got, want)
		}
		sameEntry(t, "entry", got[0], e)

		e.Line = "refreshed line"
		e.EnteredAt = T0.Add(time.Minute)
		mustPut(t, s, e)
		got = mustList(t, s, "c1", training.FormAppraisal)
		if got, want := len(got), 1; got != want {
			t.Fatalf("len=%d, want %d", got, want)
		}
		sameEntry(t, "refreshed entry", got[0], e)
	})

	t.Run("ListOrder", func(t *testing.T) {
		s := newStore(t)
		es := []training.FormEntry{
			entry("c1", training.FormAppraisal, "r2", "2023-05-01"),
			entry("c1", training.FormAppraisal, "r4", "2024-03-01"),
			entry("c1", training.FormAppraisal, "r1", "2024-03-01"),
			entry("c1", training.FormAppraisal, "r3", "2024-09-01"),
			entry("c1", training.FormAppointment, "r3", "2024-09-01"),
			entry("c2", training.FormAppraisal, "r9", "2024-10-01"),
		}
		for _, e := range es {
			mustPut(t, s, e)
		}
		for _, tc := range []struct {
			cadre string
			form  training.FormKind
			want  []string
		}{
			{"c1", training.FormAppraisal, []string{"r3", "r1", "r4", "r2"}},
			{"c1", training.FormAppointment, []string{"r3"}},
			{"c2", training.FormAppraisal, []string{"r9"}},
			{"c2", training.FormAppointment, nil},
		} {
			t.Run(fmt.Sprintf("%s/%s", tc.cadre, tc.form), func(t *testing.T) {
				got := mustList(t, s, tc.cadre, tc.form)
				if g := entryIDs(got); !slices.Equal(g, tc.want) {
					t.Fatalf("ListFormEntries=%v, want %v", g, tc.want)
				}
				for _, g := range got {
					for _, e := range es {
						if e.CadreID == g.CadreID && e.Form == g.Form && e.RecordID == g.RecordID {
							sameEntry(t, "listed entry", g, e)
						}
					}
				}
			})
		}
	})

	t.Run("Withdraw", func(t *testing.T) {
		s := newStore(t)
		apr := entry("c1", training.FormAppraisal, "r1", "2024-03-01")
		apt := entry("c1", training.FormAppointment, "r1", "2024-03-01")
		keep := entry("c1", training.FormAppraisal, "r2", "2024-05-01")
		otherCadre := entry("c2", training.FormAppraisal, "r1", "2024-03-01")
		for _, e := range []training.FormEntry{apr, apt, keep, otherCadre} {
			mustPut(t, s, e)
		}

		n, err := s.WithdrawFormEntries(ctx, "c1", "r1", w1)
		if err != nil {
			t.Fatalf("WithdrawFormEntries: %v", err)
		}
		if got, want := n, 2; got != want {
			t.Fatalf("withdrew %d, want %d", got, want)
		}
		withdrawn := func(e training.FormEntry) training.FormEntry {
			e.Status, e.Withdrawal = training.EntryWithdrawn, &w1
			return e
		}
		check := func(t *testing.T) {
			t.Helper()
			for _, tc := range []struct {
				cadre string
				form  training.FormKind
				want  []training.FormEntry
			}{
				{"c1", training.FormAppraisal, []training.FormEntry{keep, withdrawn(apr)}},
				{"c1", training.FormAppointment, []training.FormEntry{withdrawn(apt)}},
				{"c2", training.FormAppraisal, []training.FormEntry{otherCadre}},
			} {
				got := mustList(t, s, tc.cadre, tc.form)
				if g, w := entryIDs(got), entryIDs(tc.want); !slices.Equal(g, w) {
					t.Fatalf("ListFormEntries(%s, %s)=%v, want %v", tc.cadre, tc.form, g, w)
				}
				for i := range got {
					sameEntry(t, "entry", got[i], tc.want[i])
				}
			}
		}
		check(t)

		t.Run("AgainKeepsFirstWithdrawal", func(t *testing.T) {
			n, err := s.WithdrawFormEntries(ctx, "c1", "r1", w2)
			if err != nil {
				t.Fatalf("WithdrawFormEntries: %v", err)
			}
			if got, want := n, 0; got != want {
				t.Fatalf("withdrew %d, want %d", got, want)
			}
			check(t)
		})

		t.Run("PutAfterWithdrawalStaysWithdrawn", func(t *testing.T) {
			again := apr
			again.Line = "re-entered"
			again.EnteredAt = T0.Add(3 * time.Hour)
			mustPut(t, s, again)
			check(t)
		})

		// PutFormEntries is PutFormEntry for many: a withdrawn entry stays withdrawn, the
		// others are put, in one call.
		t.Run("PutManyKeepsWithdrawn", func(t *testing.T) {
			again := apr
			again.Line = "re-entered in a batch"
			if err := s.PutFormEntries(ctx, []training.FormEntry{again, keep}); err != nil {
				t.Fatalf("PutFormEntries: %v", err)
			}
			check(t)
			fresh := entry("c3", training.FormAppraisal, "r9", "2024-07-01")
			if err := s.PutFormEntries(ctx, []training.FormEntry{fresh}); err != nil {
				t.Fatalf("PutFormEntries: %v", err)
			}
			if got := mustList(t, s, "c3", training.FormAppraisal); len(got) != 1 {
				t.Fatalf("ListFormEntries(c3) after PutFormEntries: %v", entryIDs(got))
			}
		})

		t.Run("UnknownRecord", func(t *testing.T) {
			n, err := s.WithdrawFormEntries(ctx, "c1", "nope", w2)
			if err != nil {
				t.Fatalf("WithdrawFormEntries: %v", err)
			}
			if got, want := n, 0; got != want {
				t.Fatalf("withdrew %d, want %d", got, want)
			}
			check(t)
		})
	})
}

// ---- change feed ----

// readUntil reads the feed from cursor with limit until done says the collected changes are
// complete, polling while nothing new arrives, for at most FeedTimeout.
func readUntil(tb testing.TB, s training.Store, cursor string, limit int, done func([]training.Change) bool) ([]training.Change, string) {
	tb.Helper()
	deadline := time.Now().Add(FeedTimeout)
	var all []training.Change
	for !done(all) {
		cs, next, err := s.ReadChanges(context.Background(), cursor, limit)
		if err != nil {
			tb.Fatalf("ReadChanges(%q, %d): %v", cursor, limit, err)
		}
		max := limit
		if max <= 0 {
			max = 100
		}
		if len(cs) > max {
			tb.Fatalf("ReadChanges(%q, %d) returned %d changes", cursor, limit, len(cs))
		}
		if len(cs) == 0 {
			if next != cursor {
				tb.Fatalf("ReadChanges(%q) returned no changes and moved the cursor to %q", cursor, next)
			}
			if time.Now().After(deadline) {
				tb.Fatalf("feed: still waiting after %v; have %v", FeedTimeout, changeSummary(all, ""))
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		all = append(all, cs...)
		cursor = next
	}
	return all, cursor
}

// readUntilRecord reads until a change of the record has arrived.
func readUntilRecord(tb testing.TB, s training.Store, cursor, recordID string) []training.Change {
	tb.Helper()
	cs, _ := readUntil(tb, s, cursor, 0, func(cs []training.Change) bool {
		return slices.ContainsFunc(cs, func(c training.Change) bool { return c.RecordID == recordID })
	})
	return cs
}

// changeSummary lists "KIND record-id" of the changes of the cadre ("" = all), in feed order.
func changeSummary(cs []training.Change, cadreID string) []string {
	var out []string
	for _, c := range cs {
		if cadreID == "" || c.CadreID == cadreID {
			out = append(out, string(c.Kind)+" "+c.RecordID)
		}
	}
	return out
}

func testChangeFeed(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	end := training.MustDate("2025-02-28")
	void := training.Voiding{Reason: "entered twice", By: "hr-admin", At: T0.Add(time.Hour)}

	t.Run("Empty", func(t *testing.T) {
		s := newStore(t)
		cs, cursor, err := s.ReadChanges(ctx, "", 10)
		if err != nil {
			t.Fatalf("ReadChanges: %v", err)
		}
		if got, want := len(cs), 0; got != want {
			t.Fatalf("len=%d, want %d", got, want)
		}
		if got, want := cursor, ""; got != want {
			t.Fatalf("cursor=%q, want %q", got, want)
		}
	})

	t.Run("InsertAndModify", func(t *testing.T) {
		s := newStore(t)
		a := NewRecord("c1", "platform/a", "a", end)
		MustCreateRecord(t, s, a)
		// None of these appends a change.
		if _, outcome, err := s.CreateRecord(ctx, a); err != nil || outcome != training.Duplicate {
			t.Fatalf("duplicate: outcome=%s, err=%v", outcome, err)
		}
		if _, outcome, err := s.CreateRecord(ctx, NewRecord("c1", "platform/a", "a", end, func(r *training.Record) { r.Days = training.WholeDays(3) })); err != nil || outcome != training.Conflict {
			t.Fatalf("conflict: outcome=%s, err=%v", outcome, err)
		}
		if _, changed, err := s.VoidRecord(ctx, a.ID, void); err != nil || !changed {
			t.Fatalf("void: changed=%v, err=%v", changed, err)
		}
		if _, changed, err := s.VoidRecord(ctx, a.ID, void); err != nil || changed {
			t.Fatalf("second void: changed=%v, err=%v", changed, err)
		}
		if _, _, err := s.VoidRecord(ctx, training.RecordID("platform/a", "missing"), void); training.ErrorCode(err) != training.ENOTFOUND {
			t.Fatalf("void of a missing record: %v", err)
		}
		sentinel := MustCreateRecord(t, s, NewRecord("c1", "platform/a", "sentinel", end))

		cs := readUntilRecord(t, s, "", sentinel.ID)
		if got, want := changeSummary(cs, ""), []string{"INSERT " + a.ID, "MODIFY " + a.ID, "INSERT " + sentinel.ID}; !slices.Equal(got, want) {
			t.Fatalf("changes=%v, want %v", got, want)
		}
		voided := a
		voided.Status, voided.Void = training.StatusVoided, &void
		for i, tc := range []struct {
			old, new *training.Record
		}{
			{nil, &a},
			{&a, &voided},
			{nil, &sentinel},
		} {
			c := cs[i]
			if c.Seq == "" {
				t.Fatalf("change %d has no Seq", i)
			}
			if got, want := c.CadreID, "c1"; got != want {
				t.Fatalf("change %d CadreID=%q, want %q", i, got, want)
			}
			if c.At.IsZero() {
				t.Fatalf("change %d has no At", i)
			}
			if got, want := c.Old != nil, tc.old != nil; got != want {
				t.Fatalf("change %d has Old=%v, want %v", i, got, want)
			}
			if tc.old != nil {
				sameRecord(t, fmt.Sprintf("change %d Old", i), *c.Old, *tc.old)
			}
			if c.New == nil {
				t.Fatalf("change %d has no New", i)
			}
			sameRecord(t, fmt.Sprintf("change %d New", i), *c.New, *tc.new)
		}
	})

	t.Run("CursorReturnsOnlyNewer", func(t *testing.T) {
		s := newStore(t)
		r1 := MustCreateRecord(t, s, NewRecord("c1", "platform/a", "1", end))
		cs, cursor := readUntil(t, s, "", 0, func(cs []training.Change) bool { return len(cs) >= 1 })
		if got, want := changeSummary(cs, ""), []string{"INSERT " + r1.ID}; !slices.Equal(got, want) {
			t.Fatalf("changes=%v, want %v", got, want)
		}
		if cursor == "" {
			t.Fatalf("cursor is empty after reading a change")
		}

		// Nothing new: no changes, the same cursor.
		cs, next, err := s.ReadChanges(ctx, cursor, 10)
		if err != nil {
			t.Fatalf("ReadChanges: %v", err)
		}
		if got, want := len(cs), 0; got != want {
			t.Fatalf("len=%d, want %d", got, want)
		}
		if got, want := next, cursor; got != want {
			t.Fatalf("cursor=%q, want unchanged %q", got, want)
		}

		r2 := MustCreateRecord(t, s, NewRecord("c1", "platform/a", "2", end))
		if _, changed, err := s.VoidRecord(ctx, r1.ID, void); err != nil || !changed {
			t.Fatalf("void: changed=%v, err=%v", changed, err)
		}
		cs, cursor2 := readUntil(t, s, cursor, 0, func(cs []training.Change) bool { return len(cs) >= 2 })
		if got, want := changeSummary(cs, ""), []string{"INSERT " + r2.ID, "MODIFY " + r1.ID}; !slices.Equal(got, want) {
			t.Fatalf("changes after the cursor=%v, want %v", got, want)
		}
		cs, next, err = s.ReadChanges(ctx, cursor2, 10)
		if err != nil {
			t.Fatalf("ReadChanges: %v", err)
		}
		if got, want := len(cs), 0; got != want {
			t.Fatalf("len=%d, want %d", got, want)
		}
		if got, want := next, cursor2; got != want {
			t.Fatalf("cursor=%q, want unchanged %q", got, want)
		}

		// Reading from the start again still returns everything retained.
		cs, _ = readUntil(t, s, "", 0, func(cs []training.Change) bool { return len(cs) >= 3 })
		if got, want := changeSummary(cs, ""), []string{"INSERT " + r1.ID, "INSERT " + r2.ID, "MODIFY " + r1.ID}; !slices.Equal(got, want) {
			t.Fatalf("changes from the start=%v, want %v", got, want)
		}
	})

	t.Run("Limit", func(t *testing.T) {
		s := newStore(t)
		var want []string
		for i := range 7 {
			r := MustCreateRecord(t, s, NewRecord("c1", "platform/a", fmt.Sprint(i), end))
			want = append(want, "INSERT "+r.ID)
		}
		for _, limit := range []int{1, 2, 3, 7, 100} {
			t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
				cs, _ := readUntil(t, s, "", limit, func(cs []training.Change) bool { return len(cs) >= len(want) })
				if got := changeSummary(cs, ""); !slices.Equal(got, want) {
					t.Fatalf("changes=%v, want %v", got, want)
				}
			})
		}
	})

	t.Run("PerCadreOrder", func(t *testing.T) {
		s := newStore(t)
		want := map[string][]string{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		// Each cadre's changes are made in order by one goroutine; the cadres run concurrently.
		for _, cadre := range []string{"c1", "c2", "c3"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var made []string
				var ids []string
				for i := range 4 {
					r := NewRecord(cadre, "platform/a", fmt.Sprintf("%s-%d", cadre, i), end)
					if _, outcome, err := s.CreateRecord(ctx, r); err != nil || outcome != training.Created {
						t.Errorf("CreateRecord: outcome=%s, err=%v", outcome, err)
						return
					}
					made = append(made, "INSERT "+r.ID)
					ids = append(ids, r.ID)
					if i%2 == 1 {
						if _, changed, err := s.VoidRecord(ctx, ids[i-1], void); err != nil || !changed {
							t.Errorf("VoidRecord: changed=%v, err=%v", changed, err)
							return
						}
						made = append(made, "MODIFY "+ids[i-1])
					}
				}
				mu.Lock()
				want[cadre] = made
				mu.Unlock()
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		total := 0
		for _, m := range want {
			total += len(m)
		}
		cs, _ := readUntil(t, s, "", 3, func(cs []training.Change) bool { return len(cs) >= total })
		if got, want := len(cs), total; got != want {
			t.Fatalf("read %d changes, want %d", got, want)
		}
		for cadre, made := range want {
			if got := changeSummary(cs, cadre); !slices.Equal(got, made) {
				t.Fatalf("changes of %s=%v, want %v", cadre, got, made)
			}
		}
	})

	t.Run("BadCursor", func(t *testing.T) {
		s := newStore(t)
		MustCreateRecord(t, s, NewRecord("c1", "platform/a", "1", end))
		for _, cursor := range []string{"%%%not a cursor%%%", "\x00\xff"} {
			_, _, err := s.ReadChanges(ctx, cursor, 10)
			wantCode(t, fmt.Sprintf("ReadChanges(%q)", cursor), err, training.EINVALID)
		}
	})
}

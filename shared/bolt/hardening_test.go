package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cadre-training/cadretrain/shared/storetest"
	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

var end = training.MustDate("2025-02-28")

// fill opens the store at path, bulk-loads n records over 5 cadres, creates 10 more (with
// their changes) and closes it.
func fill(t *testing.T, path string, n int, opts ...Option) []training.Record {
	t.Helper()
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	var cadres []training.Cadre
	for i := range 5 {
		cadres = append(cadres, storetest.NewCadre(fmt.Sprintf("c%d", i), "cn/cq"))
	}
	var out []training.Record
	for i := range n {
		out = append(out, storetest.NewRecord(fmt.Sprintf("c%d", i%5), "platform/a", fmt.Sprint(i), end.AddDays(-i%700)))
	}
	if err := s.Load(context.Background(), cadres, out); err != nil {
		t.Fatalf("Load: %v", err)
	}
	for i := range 10 {
		out = append(out, storetest.MustCreateRecord(t, s, storetest.NewRecord("c1", "platform/b", fmt.Sprint(i), end)))
	}
	return out
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefusesDamagedFiles: issue 11 item 2 — a store file that existed and is now empty,
// short or not a bbolt file is refused at start-up with the file named, never opened as an empty
// store or mapped past its end (SIGBUS).
func TestOpenRefusesDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	fill(t, good, 3000)
	fi, err := os.Stat(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		damage func(path string) error
		want   string
	}{
		{"Empty", func(p string) error { return os.Truncate(p, 0) }, "is empty (0 bytes)"},
		{"Short", func(p string) error { return os.Truncate(p, 50) }, "too short"},
		{"HalfTruncated", func(p string) error { return os.Truncate(p, fi.Size()/2) }, "it is truncated"},
		{"Garbage", func(p string) error {
			b := make([]byte, 64<<10)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			return os.WriteFile(p, b, 0o600)
		}, "neither meta page is valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store.db")
			copyFile(t, good, path)
			if err := tc.damage(path); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path)
			if err == nil {
				s.Close()
				t.Fatalf("Open of a damaged file succeeded")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v; want the path and %q", err, tc.want)
			}
			if err := Check(path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check: %v; want %q", err, tc.want)
			}
		})
	}
	t.Run("Healthy", func(t *testing.T) {
		if err := Check(good); err != nil {
			t.Fatalf("Check of a healthy file: %v", err)
		}
		s, err := Open(good)
		if err != nil {
			t.Fatalf("Open of a healthy file: %v", err)
		}
		s.Close()
	})
}

// TestGarbagePages: issue 11 item 2 — garbage written over the data pages is reported by
// Check, and the store's reads return errors instead of panicking the process.
func TestGarbagePages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	recs := fill(t, path, 3000)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	r := rand.New(rand.NewPCG(3, 4))
	junk := make([]byte, 4096)
	// Pages 0 and 1 are the meta pages; spoil every third page after them.
	for off := int64(3 * 4096); off+4096 <= fi.Size(); off += 3 * 4096 {
		for i := range junk {
			junk[i] = byte(r.Uint32())
		}
		if _, err := f.WriteAt(junk, off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	if err := Check(path); err == nil {
		t.Fatalf("Check of a file with garbage pages reported it healthy")
	}
	s, err := Open(path)
	if err != nil {
		return // refusing to open is as good as failing the reads
	}
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("a read panicked: %v", p)
		}
	}()
	ctx := context.Background()
	failed := 0
	for _, rec := range recs {
		if _, err := s.GetRecord(ctx, rec.ID); err != nil {
			failed++
		}
	}
	for i := range 5 {
		if _, err := s.ListRecords(ctx, fmt.Sprintf("c%d", i)); err != nil {
			failed++
		}
	}
	if _, _, err := s.ReadChanges(ctx, "", 5000); err != nil {
		failed++
	}
	if failed == 0 {
		t.Fatalf("every read of a file with garbage pages succeeded")
	}
	_ = s.Close()
}

// TestCursorIdentity: issue 11 item 1 — a cursor of another store, or of another incarnation of
// this one (a file restored from an older copy, or recreated), is refused with EINVALID instead
// of silently skipping the changes numbered at or below it; cursors saved in the store come back
// with the copy and fit its feed.
func TestCursorIdentity(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path, backup := filepath.Join(dir, "store.db"), filepath.Join(dir, "backup.db")

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		storetest.MustCreateRecord(t, s, storetest.NewRecord("c1", "platform/a", fmt.Sprint(i), end))
	}
	cs, atThree, err := s.ReadChanges(ctx, "", 10)
	if err != nil || len(cs) != 3 {
		t.Fatalf("ReadChanges: %d, %v", len(cs), err)
	}
	if err := s.SaveCursor(ctx, "forms", atThree); err != nil {
		t.Fatalf("SaveCursor: %v", err)
	}
	s.Close()
	copyFile(t, path, backup)

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 6; i++ {
		storetest.MustCreateRecord(t, s, storetest.NewRecord("c1", "platform/a", fmt.Sprint(i), end))
	}
	_, atSix, err := s.ReadChanges(ctx, atThree, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCursor(ctx, "forms", atSix); err != nil {
		t.Fatalf("SaveCursor: %v", err)
	}
	other, _ := MustOpen(t)
	if _, _, err := other.ReadChanges(ctx, atSix, 10); training.ErrorCode(err) != training.EINVALID {
		t.Fatalf("another store's cursor: err=%v, want EINVALID", err)
	}
	if err := other.SaveCursor(ctx, "forms", atSix); training.ErrorCode(err) != training.EINVALID {
		t.Fatalf("SaveCursor of another store's cursor: err=%v, want EINVALID", err)
	}
	s.Close()

	// Restored from the older copy: the feed ends at change 3.
	copyFile(t, backup, path)
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ReadChanges(ctx, atSix, 10); training.ErrorCode(err) != training.EINVALID || !strings.Contains(err.Error(), "past the end") {
		t.Fatalf("cursor past the end of a restored feed: err=%v, want EINVALID", err)
	}
	var made []string
	for i := 10; i < 15; i++ {
		made = append(made, storetest.MustCreateRecord(t, s, storetest.NewRecord("c1", "platform/a", fmt.Sprint(i), end)).ID)
	}
	// Changes 4–8 now exist again, but change 6 is another one.
	if _, _, err := s.ReadChanges(ctx, atSix, 10); training.ErrorCode(err) != training.EINVALID || !strings.Contains(err.Error(), "not the one") {
		t.Fatalf("cursor of the newer incarnation: err=%v, want EINVALID", err)
	}
	// The cursor kept in the store is the copy's own, and misses nothing.
	saved, err := s.LoadCursor(ctx, "forms")
	if err != nil || saved != atThree {
		t.Fatalf("LoadCursor=%q, %v; want the copy's %q", saved, err, atThree)
	}
	cs, _, err = s.ReadChanges(ctx, saved, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, c.RecordID)
	}
	if !slices.Equal(got, made) {
		t.Fatalf("changes after the saved cursor=%v, want %v", got, made)
	}
	s.Close()

	// Recreated: a new store id.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.MustCreateRecord(t, s, storetest.NewRecord("c1", "platform/a", "x", end))
	if _, _, err := s.ReadChanges(ctx, atThree, 10); training.ErrorCode(err) != training.EINVALID || !strings.Contains(err.Error(), "another store") {
		t.Fatalf("cursor of the file before it was recreated: err=%v, want EINVALID", err)
	}
	if c, err := s.LoadCursor(ctx, "forms"); err != nil || c != "" {
		t.Fatalf("LoadCursor in a new file=%q, %v", c, err)
	}
}

// TestUndecodableChange: issue 11 item 3 — a poison entry in the feed comes back alone, as a
// Change with only Seq and Undecodable, and the read goes on past it.
func TestUndecodableChange(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpen(t)
	var ids []string
	for i := range 4 {
		ids = append(ids, storetest.MustCreateRecord(t, s, storetest.NewRecord("c1", "platform/a", fmt.Sprint(i), end)).ID)
	}
	poison := map[uint64][]byte{2: []byte("\x00\x00\x00\x00\x00\x00\x00\x01garbage"), 3: []byte("abc")}
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		for seq, v := range poison {
			if err := tx.Bucket(bktChanges).Put(u64(seq), v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 10} {
		var cs []training.Change
		cursor := ""
		for len(cs) < 4 {
			page, next, err := s.ReadChanges(ctx, cursor, limit)
			if err != nil {
				t.Fatalf("ReadChanges(%q): %v", cursor, err)
			}
			if len(page) == 0 {
				t.Fatalf("ReadChanges stopped after %d changes", len(cs))
			}
			cs, cursor = append(cs, page...), next
		}
		for i, c := range cs {
			if c.Seq == "" {
				t.Fatalf("change %d has no Seq", i)
			}
			if _, bad := poison[uint64(i+1)]; bad {
				if c.Undecodable == "" || c.RecordID != "" || c.New != nil {
					t.Fatalf("poison change %d: %+v, want only Seq and Undecodable", i, c)
				}
				continue
			}
			if c.Undecodable != "" || c.RecordID != ids[i] {
				t.Fatalf("change %d: %+v, want record %s", i, c, ids[i])
			}
		}
	}
}

// TestTrimPassedChanges: issue 12 item 2 — the feed keeps only the replay tail of what every
// saved cursor has passed.
func TestTrimPassedChanges(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpen(t, WithReplayTail(2))
	for i := range 10 {
		storetest.MustCreateRecord(t, s, storetest.NewRecord("c1", "platform/a", fmt.Sprint(i), end))
	}
	all, _, err := s.ReadChanges(ctx, "", 100)
	if err != nil || len(all) != 10 {
		t.Fatalf("ReadChanges: %d, %v", len(all), err)
	}
	oldest := func() int {
		cs, _, err := s.ReadChanges(ctx, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		return 11 - len(cs) // the sequence number of the oldest retained change
	}
	if err := s.SaveCursor(ctx, "a", all[7].Seq); err != nil { // a has passed 1–8
		t.Fatal(err)
	}
	if got, want := oldest(), 7; got != want { // 1–6 trimmed, 7–8 the tail
		t.Fatalf("one consumer at 8: oldest retained %d, want %d", got, want)
	}
	if err := s.SaveCursor(ctx, "b", all[3].Seq); err != nil { // b has passed 1–4: holds 3 on
		t.Fatal(err)
	}
	if got, want := oldest(), 7; got != want {
		t.Fatalf("a at 8, b at 4: oldest retained %d, want %d (nothing comes back)", got, want)
	}
	if err := s.SaveCursor(ctx, "b", all[9].Seq); err != nil {
		t.Fatal(err)
	}
	if got, want := oldest(), 7; got != want { // a still at 8
		t.Fatalf("a at 8, b at 10: oldest retained %d, want %d", got, want)
	}
	if err := s.SaveCursor(ctx, "a", all[9].Seq); err != nil {
		t.Fatal(err)
	}
	if got, want := oldest(), 9; got != want {
		t.Fatalf("both at 10: oldest retained %d, want %d", got, want)
	}
	// A cursor in the trimmed part still reads on from the oldest retained change.
	cs, _, err := s.ReadChanges(ctx, all[2].Seq, 100)
	if err != nil || len(cs) != 2 {
		t.Fatalf("ReadChanges from a trimmed change: %d, %v", len(cs), err)
	}
}

// TestMigrateFormat1: a file written by the format 1 layout (JSON values, records keyed by id,
// cadre_records and record_keys indexes, JSON snapshots and changes) is migrated on Open, in
// batches, and reads as before.
func TestMigrateFormat1(t *testing.T) {
	defer func(n int) { migrateBatch = n }(migrateBatch)
	migrateBatch = 3
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var recs []training.Record
	cadre := storetest.NewCadre("c1", "cn/cq")
	cadre.Version = 1
	status := training.Status{CadreID: "c1", AsOf: end, Policy: "p", Overall: training.StateMet, Requirements: []training.RequirementStatus{}, ComputedAt: storetest.T0}
	if err := db.Update(func(tx *bbolt.Tx) error {
		mk := func(name []byte) *bbolt.Bucket { b, _ := tx.CreateBucket(name); return b }
		cadres, units, records, keys, index := mk(bktCadres), mk(bktCadreUnits), mk(bktV1Records), mk(bktV1RecordKeys), mk(bktV1CadreRecords)
		snaps, forms, changes := mk(bktSnapshots), mk(bktFormEntries), mk(bktChanges)
		_ = forms
		v, _ := json.Marshal(cadre)
		cadres.Put([]byte("c1"), v)
		units.Put(key("cn/cq", "c1"), nil)
		for i := range 8 {
			r := storetest.NewRecord("c1", "platform/a", fmt.Sprint(i), end.AddDays(-i*40))
			r.Status = training.StatusActive
			recs = append(recs, r)
			v, _ := json.Marshal(r)
			records.Put([]byte(r.ID), v)
			keys.Put(key(r.Source, r.ExternalID), []byte(r.ID))
			index.Put(key("c1", r.ID), nil)
			seq, _ := changes.NextSequence()
			c, _ := json.Marshal(training.Change{Seq: fmt.Sprint(seq), Kind: training.ChangeInsert, CadreID: "c1", RecordID: r.ID, New: &r})
			changes.Put(u64(seq), append(u64(uint64(storetest.T0.UnixNano())), c...))
		}
		v, _ = json.Marshal(status)
		return snaps.Put([]byte("c1"), v)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open of a format 1 file: %v", err)
	}
	defer s.Close()
	got, err := s.ListRecords(ctx, "c1")
	if err != nil || len(got) != len(recs) {
		t.Fatalf("ListRecords after migration: %d, %v", len(got), err)
	}
	for i, r := range got {
		if r.ID != recs[i].ID || r.ContentHash != recs[i].ContentHash { // recs are newest first already
			t.Fatalf("record %d: %s, want %s", i, r.ID, recs[i].ID)
		}
	}
	if _, outcome, err := s.CreateRecord(ctx, recs[3]); err != nil || outcome != training.Duplicate {
		t.Fatalf("idempotency after migration: %s, %v", outcome, err)
	}
	if st, err := s.GetSnapshot(ctx, "c1"); err != nil || st.Overall != training.StateMet {
		t.Fatalf("JSON snapshot after migration: %+v, %v", st, err)
	}
	cs, _, err := s.ReadChanges(ctx, "", 100)
	if err != nil || len(cs) != 8 || cs[0].New == nil || cs[0].New.ID != recs[0].ID || cs[0].Undecodable != "" {
		t.Fatalf("JSON changes after migration: %d, %v", len(cs), err)
	}
	if err := s.view(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bktV1Records, bktV1RecordKeys, bktV1CadreRecords} {
			if tx.Bucket(b) != nil {
				t.Errorf("format 1 bucket %s still there", b)
			}
		}
		if f := tx.Bucket(bktMeta).Get(metaFormat); len(f) != 1 || f[0] != formatVersion {
			t.Errorf("format=%v", f)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestCompact: issue 12 item 2 — Compact copies the store into a smaller file that opens with
// the same data, store id and feed, so saved cursors stay valid.
func TestCompact(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	recs := fill(t, src, 3000)
	last := recs[len(recs)-1]
	s, err := Open(src, WithReplayTail(0))
	if err != nil {
		t.Fatal(err)
	}
	cs, cursor, err := s.ReadChanges(ctx, "", 5000)
	if err != nil || len(cs) != 10 {
		t.Fatal(err)
	}
	if err := s.SaveCursor(ctx, "forms", cursor); err != nil { // trims the whole feed
		t.Fatal(err)
	}
	s.Close()
	if err := Compact(src, dst); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if err := Compact(src, dst); err == nil {
		t.Fatalf("Compact over an existing file succeeded")
	}
	if a, b := usedBytes(t, src), usedBytes(t, dst); b >= a {
		t.Fatalf("compacted file uses %d bytes, the source %d", b, a)
	}
	if err := Check(dst); err != nil {
		t.Fatalf("Check of the compacted file: %v", err)
	}
	s, err = Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.GetRecord(ctx, last.ID); err != nil || got.ContentHash != last.ContentHash {
		t.Fatalf("GetRecord in the compacted file: %v", err)
	}
	next := storetest.MustCreateRecord(t, s, storetest.NewRecord("c1", "platform/a", "after", end))
	saved, _ := s.LoadCursor(ctx, "forms")
	cs, _, err = s.ReadChanges(ctx, saved, 10)
	if err != nil || len(cs) != 1 || cs[0].RecordID != next.ID {
		t.Fatalf("the saved cursor in the compacted file: %d changes, %v", len(cs), err)
	}
}

// TestLoad: the bulk path stores cadres and records without feed entries, and refuses
// existing keys as a whole.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpen(t)
	c := storetest.NewCadre("c1", "cn/cq")
	var recs []training.Record
	for i := range 20 {
		r := storetest.NewRecord("c1", "platform/a", fmt.Sprint(i), end.AddDays(-i))
		recs = append(recs, r)
	}
	if err := s.Load(ctx, []training.Cadre{c}, recs); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, err := s.GetCadre(ctx, "c1"); err != nil || got.Version != 1 {
		t.Fatalf("GetCadre: %+v, %v", got, err)
	}
	got, err := s.ListRecords(ctx, "c1")
	if err != nil || len(got) != 20 || got[0].ID != recs[0].ID || got[19].ID != recs[19].ID {
		t.Fatalf("ListRecords: %d, %v", len(got), err)
	}
	if cs, _, err := s.ReadChanges(ctx, "", 10); err != nil || len(cs) != 0 {
		t.Fatalf("Load appended %d changes (%v)", len(cs), err)
	}
	more := storetest.NewRecord("c1", "platform/a", "new", end)
	err = s.Load(ctx, nil, []training.Record{more, recs[5]})
	if training.ErrorCode(err) != training.ECONFLICT {
		t.Fatalf("Load of an existing record: %v, want ECONFLICT", err)
	}
	if _, err := s.GetRecord(ctx, more.ID); training.ErrorCode(err) != training.ENOTFOUND {
		t.Fatalf("a refused Load wrote: %v", err)
	}
}

// usedBytes is the size of the store's pages in use (its high-water mark), whatever the file's
// preallocated size.
func usedBytes(t *testing.T, path string) int64 {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	db.View(func(tx *bbolt.Tx) error { n = tx.Size(); return nil })
	return n
}

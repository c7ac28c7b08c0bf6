package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/dynamo/dynamotest"
	"github.com/cadre-training/cadretrain/shared/storetest"
	"github.com/cadre-training/cadretrain/shared/training"
)

// The unit index has no hot key (docs/dynamodb.md, "Index"): cadres are written to
// dynamo.CadreShards index partitions, the segments list each cadre exactly once between them,
// their counts add up, and a full recompute runs one checkpointed segment per shard.
func TestShardedUnitIndex(t *testing.T) {
	ctx := context.Background()
	s := dynamotest.Store(t)
	const n = 80
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("s%03d", i)
		unit := []string{"cn/cq", "cn/cq/yuzhong", "cn/sc"}[i%3]
		storetest.MustPutCadre(t, s, storetest.NewCadre(id, unit), 0)
		ids = append(ids, id)
	}

	partitions := map[string]int{}
	for _, id := range ids {
		pk, err := s.IndexPartition(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		partitions[pk]++
	}
	if len(partitions) < dynamo.CadreShards/2 {
		t.Fatalf("%d cadres in %d index partitions %v, want them spread over the %d shards", n, len(partitions), partitions, dynamo.CadreShards)
	}

	for _, tc := range []struct {
		unit string
		want int
	}{{"", n}, {"cn/cq", 54}, {"cn/sc", 26}} { // i%3: 27 in cn/cq, 27 in cn/cq/yuzhong, 26 in cn/sc
		t.Run("Segments/"+tc.unit, func(t *testing.T) {
			var listed []string
			counted := 0
			for seg := 0; seg < s.CadreSegments(); seg++ {
				c, err := s.CountCadreSegment(ctx, seg, tc.unit)
				if err != nil {
					t.Fatal(err)
				}
				counted += c
				got := 0
				for cursor := ""; ; {
					page, next, err := s.ListCadreSegment(ctx, seg, tc.unit, cursor, 3)
					if err != nil {
						t.Fatal(err)
					}
					for _, cd := range page {
						if !training.InUnit(cd.Unit, tc.unit) {
							t.Fatalf("segment %d of %q listed %s in %s", seg, tc.unit, cd.ID, cd.Unit)
						}
						listed = append(listed, cd.ID)
					}
					got += len(page)
					if next == "" {
						break
					}
					cursor = next
				}
				if got != c {
					t.Fatalf("segment %d of %q: listed %d, counted %d", seg, tc.unit, got, c)
				}
			}
			slices.Sort(listed)
			if len(listed) != tc.want || len(slices.Compact(listed)) != tc.want || counted != tc.want {
				t.Fatalf("segments of %q listed %d cadres (%d distinct), counted %d; want %d each once", tc.unit, len(listed), len(slices.Compact(slices.Clone(listed))), counted, tc.want)
			}
		})
	}
	if _, _, err := s.ListCadreSegment(ctx, dynamo.CadreShards, "", "", 10); training.ErrorCode(err) != training.EINVALID {
		t.Fatalf("segment %d: %v, want invalid", dynamo.CadreShards, err)
	}

	t.Run("FullRecomputeJob", func(t *testing.T) {
		svc := app.New(s)
		var mu sync.Mutex
		res, err := svc.RunRecomputeJob(ctx, app.RecomputeJob{JobID: "job_shards"}, func(id string, err error) {
			mu.Lock()
			defer mu.Unlock()
			t.Errorf("recompute of %s: %v", id, err)
		})
		if err != nil {
			t.Fatal(err)
		}
		if res != (app.RecomputeResult{Recomputed: n}) {
			t.Fatalf("result %+v, want %d recomputed", res, n)
		}
		j, err := svc.GetJob(ctx, "job_shards")
		if err != nil {
			t.Fatal(err)
		}
		if len(j.Segments) != dynamo.CadreShards || j.State != training.JobDone || j.Total != n || j.Done != n {
			t.Fatalf("job: %d segments, %s, %d / %d; want %d segments, done, %d / %d", len(j.Segments), j.State, j.Done, j.Total, dynamo.CadreShards, n, n)
		}
		for _, id := range ids {
			if _, err := s.GetSnapshot(ctx, id); err != nil {
				t.Fatalf("no snapshot of %s after the job: %v", id, err)
			}
		}
	})
}

// docs/dynamodb.md, "Migration": cadres written before the index was sharded are invisible to the
// sharded listings until BackfillCadreShards moves them; a second run moves none.
func TestBackfillCadreShards(t *testing.T) {
	ctx := context.Background()
	s := dynamotest.Store(t)
	storetest.MustPutCadre(t, s, storetest.NewCadre("new", "cn/cq"), 0)
	for i := 0; i < 5; i++ {
		if err := s.PutLegacyCadre(ctx, storetest.NewCadre(fmt.Sprintf("old%d", i), "cn/cq")); err != nil {
			t.Fatal(err)
		}
	}
	list := func() []string {
		cs, _, err := s.ListCadres(ctx, "cn/cq", "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		return ids
	}
	if got := list(); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("before the backfill: %v, want [new]", got)
	}
	moved, err := s.BackfillCadreShards(ctx, 4, nil)
	if err != nil || moved != 5 {
		t.Fatalf("backfill moved %d, err %v; want 5", moved, err)
	}
	if got, want := list(), []string{"new", "old0", "old1", "old2", "old3", "old4"}; !slices.Equal(got, want) {
		t.Fatalf("after the backfill: %v, want %v", got, want)
	}
	if moved, err := s.BackfillCadreShards(ctx, 4, nil); err != nil || moved != 0 {
		t.Fatalf("second backfill moved %d, err %v; want 0", moved, err)
	}
}

// docs/dynamodb.md, "Migration": facts written before gsi2 are missing from the lists until
// BackfillFactsIndex gives them their index keys (and deletes the listing copies gsi2 replaces); a
// second run changes nothing.
func TestBackfillFactsIndex(t *testing.T) {
	ctx := context.Background()
	s := dynamotest.Store(t)
	y := storetest.T0.Year()
	if err := s.PutFacts(ctx, storetest.NewFacts("new", "cn/cq", y, training.StateMet, storetest.T0)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		f := storetest.NewFacts(fmt.Sprintf("old%d", i), "cn/cq", y, training.StateAtRisk, storetest.T0)
		if i%2 == 1 {
			f.Makeup = []string{training.MakeupUnmetLastYear}
		}
		if err := s.PutLegacyFacts(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	list := func(makeup bool) []string {
		fs, _, err := s.ListFacts(ctx, y, "cn/cq", nil, 100, makeup)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range fs {
			ids = append(ids, f.CadreID)
		}
		return ids
	}
	if got := list(false); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("before the backfill: %v, want [new]", got)
	}
	changed, err := s.BackfillFactsIndex(ctx, 3, nil)
	if err != nil || changed != 8 { // 4 facts items indexed, 4 listing copies deleted
		t.Fatalf("backfill changed %d, err %v; want 8", changed, err)
	}
	if got, want := list(false), []string{"new", "old0", "old1", "old2", "old3"}; !slices.Equal(got, want) {
		t.Fatalf("after the backfill: %v, want %v", got, want)
	}
	if got, want := list(true), []string{"old1", "old3"}; !slices.Equal(got, want) {
		t.Fatalf("补训 list after the backfill: %v, want %v", got, want)
	}
	if changed, err := s.BackfillFactsIndex(ctx, 3, nil); err != nil || changed != 0 {
		t.Fatalf("second backfill changed %d, err %v; want 0", changed, err)
	}
}

// docs/dynamodb.md “Consistency choices”: ListFacts shows a cadre only where its stored facts are.
// An index entry that still places the facts elsewhere (the index lags a move or a change of 补训
// state) is skipped, and the page is filled from the entries after it, page by page.
func TestListFactsSkipsLaggingEntries(t *testing.T) {
	ctx := context.Background()
	s := dynamotest.Store(t)
	y := storetest.T0.Year()
	for i := 0; i < 7; i++ {
		if err := s.PutFacts(ctx, storetest.NewFacts(fmt.Sprintf("f%d", i), "cn/a", y, training.StateMet, storetest.T0)); err != nil {
			t.Fatal(err)
		}
	}
	// f1, f2 and f4 moved to cn/b and f5 joined the 补训 list, as the index does not show yet.
	for _, id := range []string{"f1", "f2", "f4"} {
		if err := s.PutFacts(ctx, storetest.NewFacts(id, "cn/b", y, training.StateMet, storetest.T0.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		if err := s.SetFactsIndexKeys(ctx, id, y, "cn/a", false); err != nil {
			t.Fatal(err)
		}
	}
	f5 := storetest.NewFacts("f5", "cn/a", y, training.StateMet, storetest.T0.Add(time.Minute))
	f5.Makeup = []string{training.MakeupUnmetLastYear}
	if err := s.PutFacts(ctx, f5); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFactsIndexKeys(ctx, "f5", y, "cn/a", false); err != nil {
		t.Fatal(err)
	}
	page := func(unit string, makeup bool, limit int) []string {
		var ids []string
		var after *training.FactsCursor
		for {
			fs, more, err := s.ListFacts(ctx, y, unit, after, limit, makeup)
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) > limit || (more && len(fs) < limit) {
				t.Fatalf("%s: a page of %d (limit %d), more=%v", unit, len(fs), limit, more)
			}
			for _, f := range fs {
				ids = append(ids, f.Unit+"|"+f.CadreID)
			}
			if !more {
				return ids
			}
			last := fs[len(fs)-1]
			after = &training.FactsCursor{Unit: last.Unit, CadreID: last.CadreID}
		}
	}
	for _, limit := range []int{1, 2, 100} {
		if got, want := page("cn/a", false, limit), []string{"cn/a|f0", "cn/a|f3", "cn/a|f6"}; !slices.Equal(got, want) {
			t.Errorf("cn/a, pages of %d: %v, want %v", limit, got, want)
		}
		if got := page("cn", false, limit); len(got) != 3 {
			t.Errorf("cn, pages of %d: %v, want the 3 entries that are where the index says", limit, got)
		}
		if got := page("cn/a", true, limit); len(got) != 0 {
			t.Errorf("补训 list of cn/a, pages of %d: %v, want none until the index has f5 there", limit, got)
		}
	}
}

package storetest

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// NewFacts returns facts of the cadre in unit for year with one requirement.
func NewFacts(cadreID, unit string, year int, overall training.State, at time.Time) training.Facts {
	return training.Facts{
		CadreID: cadreID, Name: "干部 " + cadreID, Unit: unit, Year: year,
		AsOf: training.Date{Year: year, Month: time.December, Day: 31}, Category: "township_and_below",
		Overall:          overall,
		Requirements:     []training.FactState{{ID: "online_annual", State: overall}},
		Trained:          true,
		CentralizedHours: training.HoursOf(12), FullTimeHours: training.HoursOf(8), OnlineHours: 1050,
		ComputedAt: at,
	}
}

// sumFacts is the expected rollup of each unit: the tallies of the facts, summed per unit.
func sumFacts(fs ...training.Facts) map[string]training.Tally {
	out := map[string]training.Tally{}
	for _, f := range fs {
		if out[f.Unit] == nil {
			out[f.Unit] = training.Tally{}
		}
		if err := out[f.Unit].Add(f.Tally()); err != nil {
			panic(err)
		}
	}
	return out
}

func rollupMap(tb testing.TB, s training.Store, year int, unit string) map[string]training.Tally {
	tb.Helper()
	rs, err := s.ListRollups(context.Background(), year, unit)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]training.Tally{}
	last := ""
	for _, r := range rs {
		if r.Unit <= last && last != "" {
			tb.Errorf("rollups out of order: %q after %q", r.Unit, last)
		}
		last = r.Unit
		if !training.InUnit(r.Unit, unit) {
			tb.Errorf("rollup of %q listed under %q", r.Unit, unit)
		}
		if len(r.Tally) > 0 {
			out[r.Unit] = r.Tally
		}
	}
	return out
}

func listAllFacts(tb testing.TB, s training.Store, year int, unit string, limit int, makeup bool) []string {
	tb.Helper()
	var out []string
	var after *training.FactsCursor
	for i := 0; ; i++ {
		page, more, err := s.ListFacts(context.Background(), year, unit, after, limit, makeup)
		if err != nil {
			tb.Fatal(err)
		}
		if len(page) > limit {
			tb.Fatalf("page of %d > limit %d", len(page), limit)
		}
		for _, f := range page {
			out = append(out, f.Unit+"|"+f.CadreID)
		}
		if !more {
			return out
		}
		if len(page) == 0 || i > 1000 {
			tb.Fatal("more pages promised but none given")
		}
		last := page[len(page)-1]
		after = &training.FactsCursor{Unit: last.Unit, CadreID: last.CadreID}
	}
}

// testRollups: training.RollupStore — every rollup is the sum of its unit's stored facts after
// inserts, changes, moves between units, stale writes and 补训 changes; listings by subtree, by
// whole path segments, in (unit, id) order, across pages.
func testRollups(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	s := newStore(t)
	const y = 2026
	a := NewFacts("c-a", "cn/cq", y, training.StateOnTrack, T0)
	b := NewFacts("c-b", "cn/cq/yuzhong", y, training.StateUnmet, T0)
	b.Makeup = []string{training.MakeupUnmetLastYear}
	c := NewFacts("c-c", "cn/cqx", y, training.StateMet, T0)
	d := NewFacts("c-d", "cn/cq-old", y, training.StateAtRisk, T0)
	other := NewFacts("c-a", "cn/cq", y-1, training.StateMet, T0) // another year of c-a
	for _, f := range []training.Facts{a, b, c, d, other} {
		if err := s.PutFacts(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, want map[string]training.Tally, unit string) {
		t.Helper()
		if got := rollupMap(t, s, y, unit); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: rollups under %q = %v, want %v", step, unit, got, want)
		}
	}
	check("insert", sumFacts(a, b), "cn/cq")
	check("insert", sumFacts(a, b, c, d), "")
	if got := rollupMap(t, s, y-1, ""); !reflect.DeepEqual(got, sumFacts(other)) {
		t.Errorf("other year: %v", got)
	}
	got, err := s.GetFacts(ctx, "c-a", []int{y, y - 1, y - 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[y].Same(a) || !got[y-1].Same(other) || !got[y].ComputedAt.Equal(T0) {
		t.Errorf("GetFacts = %+v", got)
	}

	// A change in place: the counters move by the difference.
	a2 := a
	a2.Overall, a2.Requirements, a2.OnlineHours = training.StateMet, []training.FactState{{ID: "online_annual", State: training.StateMet}}, 5000
	a2.ComputedAt = T0.Add(time.Minute)
	if err := s.PutFacts(ctx, a2); err != nil {
		t.Fatal(err)
	}
	check("change", sumFacts(a2, b), "cn/cq")

	// An older computation never overwrites a newer one.
	stale := a
	stale.ComputedAt = T0.Add(30 * time.Second)
	if err := s.PutFacts(ctx, stale); err != nil {
		t.Fatal(err)
	}
	check("stale", sumFacts(a2, b), "cn/cq")

	// A move to another unit (out of the subtree) and off the 补训 list, and one onto it.
	b2 := b
	b2.Unit, b2.Makeup, b2.ComputedAt = "cn/cqx/a", nil, T0.Add(time.Minute)
	a3 := a2
	a3.Unit, a3.Makeup, a3.ComputedAt = "cn/cq/beibei", []string{training.MakeupLeaderNoPartySchool}, T0.Add(2*time.Minute)
	for _, f := range []training.Facts{b2, a3} {
		if err := s.PutFacts(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	check("move", sumFacts(a3), "cn/cq")
	check("move", sumFacts(a3, b2, c, d), "")

	if got, want := listAllFacts(t, s, y, "", 2, false), []string{"cn/cq-old|c-d", "cn/cq/beibei|c-a", "cn/cqx|c-c", "cn/cqx/a|c-b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListFacts all = %v, want %v", got, want)
	}
	if got, want := listAllFacts(t, s, y, "cn/cq", 1, false), []string{"cn/cq/beibei|c-a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListFacts cn/cq = %v, want %v", got, want)
	}
	if got, want := listAllFacts(t, s, y, "", 10, true), []string{"cn/cq/beibei|c-a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListFacts 补训 = %v, want %v", got, want)
	}

	// Many cadres in a unit and its children: pages of every size list each once, in order.
	var many []training.Facts
	for i := range 23 {
		unit := "cn/sc"
		if i%3 == 1 {
			unit = "cn/sc/chengdu"
		} else if i%3 == 2 {
			unit = "cn/sc/chengdu/wuhou"
		}
		f := NewFacts(fmt.Sprintf("s-%02d", i), unit, y, training.StateOnTrack, T0)
		many = append(many, f)
		if err := s.PutFacts(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	want := listAllFacts(t, s, y, "cn/sc", 100, false)
	if len(want) != 23 {
		t.Fatalf("listed %d of 23", len(want))
	}
	for _, lim := range []int{1, 4, 22, 23} {
		if got := listAllFacts(t, s, y, "cn/sc", lim, false); !reflect.DeepEqual(got, want) {
			t.Errorf("limit %d: %v, want %v", lim, got, want)
		}
	}
	check("many", sumFacts(many...), "cn/sc")
}

// testRollupsRetried: a batch of facts written again whole (a retried stream batch), in halves
// (a bisected one) or older (a replay after later changes) moves no counter twice; facts of one
// unit written by concurrent writers (the recomputes of one unit on several stream shards) all
// count once; an older computation that arrives after a move lists nothing where the cadre left.
// docs/api.md “Lists, the unit report”: a unit rollup is always the sum of its cadres' facts.
func testRollupsRetried(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	s := newStore(t)
	const y = 2026
	units := []string{"cn/hb", "cn/hb/wuhan", "cn/hb/wuhan/jiangan"}
	gen := func(n int, at time.Time, unitOf func(i int) string) []training.Facts {
		var fs []training.Facts
		for i := range n {
			f := NewFacts(fmt.Sprintf("r-%03d", i), unitOf(i), y, []training.State{training.StateMet, training.StateOnTrack, training.StateUnmet}[i%3], at)
			f.OnlineHours = training.Hours(100 * (i + 1))
			if i%4 == 0 {
				f.Makeup = []string{training.MakeupUnmetLastYear}
			}
			fs = append(fs, f)
		}
		return fs
	}
	check := func(step string, fs []training.Facts) {
		t.Helper()
		if got, want := rollupMap(t, s, y, "cn/hb"), sumFacts(fs...); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: rollups = %v, want %v", step, got, want)
		}
		sorted := slices.Clone(fs)
		slices.SortFunc(sorted, func(a, b training.Facts) int {
			return cmp.Or(cmp.Compare(a.Unit, b.Unit), cmp.Compare(a.CadreID, b.CadreID))
		})
		var want []string
		for _, f := range sorted {
			want = append(want, f.Unit+"|"+f.CadreID)
		}
		if got := listAllFacts(t, s, y, "cn/hb", 50, false); !slices.Equal(got, want) {
			t.Errorf("%s: listed %v, want %v", step, got, want)
		}
	}
	put := func(fs []training.Facts) {
		t.Helper()
		if err := s.PutFacts(ctx, fs...); err != nil {
			t.Fatal(err)
		}
	}
	first := gen(130, T0, func(i int) string { return units[i%3] })
	put(first)
	check("batch", first)
	put(first) // the stream batch retried whole
	check("retried batch", first)
	put(first[:65]) // bisected: each half again
	put(first[65:])
	check("bisected batch", first)

	// Later facts: every cadre changes, a third move to another unit.
	second := gen(130, T0.Add(time.Hour), func(i int) string { return units[(i+i/3)%3] })
	put(second[:40]) // the first part of a batch that then failed; retried whole, then in halves
	put(second)
	put(second[:65])
	put(second[65:])
	check("second batch retried", second)
	put(first) // a replay of the older batch
	check("older batch replayed", second)

	// Concurrent writers on one unit, each cadre written by two of them (one later than the other).
	third := gen(130, T0.Add(2*time.Hour), func(int) string { return "cn/hb/wuhan" })
	for i := range third {
		third[i].OnlineHours += 7 // unlike second's (facts that say the same are not written again)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []training.Facts
			for i, f := range third {
				if i%8 == w || (i+1)%8 == w {
					if (i+1)%8 == w {
						f.ComputedAt = f.ComputedAt.Add(-time.Minute) // the slower, older computation
						f.OnlineHours++
					}
					mine = append(mine, f)
				}
			}
			for len(mine) > 0 {
				n := min(len(mine), 7)
				if err := s.PutFacts(ctx, mine[:n]...); err != nil {
					errs <- err
					return
				}
				mine = mine[n:]
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check("concurrent writers", third)
}

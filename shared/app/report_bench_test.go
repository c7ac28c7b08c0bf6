package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/training"
)

// BenchmarkUnitReport (docs/benchmarks.md “Unit report”): the root report over REPORT_CADRES
// cadres (default 100,000) in 3,100 units on the embedded store, after a full recompute has
// built the rollups. The benchmark fails unless the report equals a recount from every cadre's
// records. make bench-report runs it.
func BenchmarkUnitReport(b *testing.B) {
	n := 100000
	if v := os.Getenv("REPORT_CADRES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(b.TempDir(), "cadre.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := app.New(st)
	today := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return today }

	ranks := []string{"principal_staff_1", "staff_1", "county_deputy", "researcher_4", "township_deputy"}
	const chunk = 10000
	for from := 0; from < n; from += chunk {
		var cadres []training.Cadre
		var recs []training.Record
		for i := from; i < min(from+chunk, n); i++ {
			id := fmt.Sprintf("c%07d", i)
			unit := fmt.Sprintf("cn/p%02d/c%02d/d%d", i%31, (i/31)%10, (i/310)%10)
			rank := ranks[i%len(ranks)]
			cadres = append(cadres, training.Cadre{ID: id, Name: "干部" + id, Unit: unit, Rank: rank, LeadershipMember: i%11 == 0,
				RankHistory: []training.RankChange{{Rank: rank, EffectiveOn: training.MustDate("2020-01-01")}},
				JoinedOn:    training.MustDate("2015-07-01"), CreatedAt: today, UpdatedAt: today})
			add := func(r training.Record) {
				r.CadreID, r.Source, r.Status, r.CreatedAt = id, "platform/bench", training.StatusActive, today
				r.Seal()
				recs = append(recs, r)
			}
			if i%3 != 0 {
				add(training.Record{ExternalID: id + "-ft", Kind: training.KindCentralized, FullTime: i%2 == 0, CourseTitle: "专题培训班",
					Institution: "市委党校", InstitutionType: "party_school", StartDate: training.MustDate("2026-04-01"),
					EndDate: training.MustDate("2026-04-0" + strconv.Itoa(1+i%9)), Days: training.WholeDays(int64(1 + i%9)), Hours: training.Hours(800 * (1 + i%9))})
			}
			if i%4 != 0 {
				add(training.Record{ExternalID: id + "-on", Kind: training.KindOnline, CourseTitle: "网络课程",
					StudiedOn: training.MustDate("2026-02-10"), Hours: training.Hours(150 * (i % 40))})
			}
			if i%5 != 0 { // 2025 met for four in five (the rest are on the 补训 list)
				add(training.Record{ExternalID: id + "-25", Kind: training.KindOnline, CourseTitle: "网络课程",
					StudiedOn: training.MustDate("2025-05-10"), Hours: training.HoursOf(60)})
				add(training.Record{ExternalID: id + "-25c", Kind: training.KindCentralized, FullTime: true, CourseTitle: "专题培训班",
					Institution: "市委党校", InstitutionType: "party_school", StartDate: training.MustDate("2025-06-01"),
					EndDate: training.MustDate("2025-06-20"), Days: training.WholeDays(20), Hours: training.HoursOf(160)})
			}
		}
		if err := st.Load(ctx, cadres, recs); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	res, err := s.RecomputeUnit(ctx, "", training.Date{}, 0, nil)
	if err != nil || res.Failed > 0 || res.Recomputed != n {
		b.Fatalf("recompute: %+v, %v", res, err)
	}
	b.Logf("full recompute of %d cadres (snapshots, facts and rollups of 2026 and 2025): %s", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	want, err := s.Recount(ctx, "", 2026)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("recount from the records: %s", time.Since(start).Round(time.Millisecond))

	b.ResetTimer()
	var got app.UnitReport
	for b.Loop() {
		if got, err = s.Report(ctx, nil, "", 2026); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if !reflect.DeepEqual(got, want) {
		b.Fatalf("the root report differs from the recount:\n got %+v\nwant %+v", got.Totals, want.Totals)
	}
	if got.Totals.Cadres != int64(n) {
		b.Fatalf("the root report counts %d cadres, want %d", got.Totals.Cadres, n)
	}
	b.Logf("root report = recount: %d cadres in %d child units, 参训率 %s%%, 人均脱产 %s, 人均网络 %s, 补训 %d",
		got.Totals.Cadres, len(got.Children), got.Totals.Participation, got.Totals.FullTimeAvg, got.Totals.OnlineAvg, got.Totals.Makeup.Cadres)
}

package app_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/training"
)

func online(cadre, event, on string, hours training.Hours) training.Record {
	return training.Record{CadreID: cadre, Source: "hr/k", ExternalID: event, Kind: training.KindOnline,
		StudiedOn: training.MustDate(on), Hours: hours, CourseTitle: "网络课程"}
}

func submit(t *testing.T, s *app.Service, r training.Record) training.Record {
	t.Helper()
	res, err := s.SubmitRecord(context.Background(), nil, r, false)
	if err != nil {
		t.Fatalf("submit %s: %v", r.ExternalID, err)
	}
	return res.Record
}

func recompute(t *testing.T, s *app.Service, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := s.Recompute(context.Background(), id, training.Date{}); err != nil {
			t.Fatalf("recompute %s: %v", id, err)
		}
	}
}

// docs/api.md “Unit report”: 参训 (≥ 1 counted centralized training in the year), 脱产 and 网络 学时
// as sent, counted records only (docs/rules.md: voided and failed records never count), and the
// 补训 reasons (《全国干部教育培训规划》 六（二）: leaders with no party-school training in five
// years; cadres unmet last year).
func TestCadreFacts(t *testing.T) {
	ctx := context.Background()
	s := newService(t) // today 2025-06-30
	mustPut(t, s, "t-1", app.ProfileInput{Name: "甲", Unit: "cn/cq", Rank: "staff_1", RankEffectiveOn: training.MustDate("2020-01-01")})
	mustPut(t, s, "l-1", app.ProfileInput{Name: "乙", Unit: "cn/cq", Rank: "county_principal", LeadershipMember: true, RankEffectiveOn: training.MustDate("2020-01-01")})
	mustPut(t, s, "l-2", app.ProfileInput{Name: "丙", Unit: "cn/cq", Rank: "county_principal", LeadershipMember: true, RankEffectiveOn: training.MustDate("2020-01-01")})

	submit(t, s, fullTime("t-1", "ft", "2025-03-01", "2025-03-05", 40))
	part := fullTime("t-1", "pt", "2025-04-01", "2025-04-02", 10)
	part.FullTime = false
	submit(t, s, part)
	failed := fullTime("t-1", "failed", "2025-05-01", "2025-05-02", 16)
	failed.Assessment = training.AssessmentFailed
	submit(t, s, failed)
	voided := submit(t, s, fullTime("t-1", "void", "2025-05-10", "2025-05-12", 24))
	if _, _, err := s.VoidRecord(ctx, nil, voided.ID, "误报", "test"); err != nil {
		t.Fatal(err)
	}
	submit(t, s, online("t-1", "o1", "2025-02-01", 1050))
	submit(t, s, online("t-1", "o-later", "2025-07-01", 500)) // after today: not yet counted
	submit(t, s, fullTime("t-1", "old", "2024-03-01", "2024-03-20", 100))
	ps := fullTime("l-2", "ps", "2024-09-01", "2024-09-30", 160)
	submit(t, s, ps)
	recompute(t, s, "t-1", "l-1", "l-2")

	got, err := s.Store.GetFacts(ctx, "t-1", []int{2025, 2024})
	if err != nil {
		t.Fatal(err)
	}
	f := got[2025]
	if !f.Trained || f.FullTimeHours != training.HoursOf(40) || f.CentralizedHours != training.HoursOf(50) || f.OnlineHours != 1050 {
		t.Errorf("t-1 2025 = trained %v, full-time %v, centralized %v, online %v; want true, 40, 50, 10.5", f.Trained, f.FullTimeHours, f.CentralizedHours, f.OnlineHours)
	}
	if f.AsOf != training.MustDate("2025-06-30") || f.Year != 2025 || f.Name != "甲" {
		t.Errorf("t-1 2025 as_of %v year %d name %s", f.AsOf, f.Year, f.Name)
	}
	// 2024: 100 学时 of centralized training meets the annual 90; 0 online is below 50: unmet.
	if f := got[2024]; f.AsOf != training.MustDate("2024-12-31") || f.FullTimeHours != training.HoursOf(100) || f.Overall != training.StateUnmet {
		t.Errorf("t-1 2024 = %+v", f)
	}
	if !slices.Equal(f.Makeup, []string{training.MakeupUnmetLastYear}) {
		t.Errorf("t-1 makeup = %v, want unmet_last_year (2024 online 0 < 50)", f.Makeup)
	}
	for id, want := range map[string]bool{"l-1": true, "l-2": false} {
		got, err := s.Store.GetFacts(ctx, id, []int{2025})
		if err != nil {
			t.Fatal(err)
		}
		if has := slices.Contains(got[2025].Makeup, training.MakeupLeaderNoPartySchool); has != want {
			t.Errorf("%s leader_no_party_school = %v, want %v (makeup %v)", id, has, want, got[2025].Makeup)
		}
	}
}

// The unit report sums rollups; after any mix of records, voids, moves and rank changes it must
// equal a recount from the records (docs/api.md “Unit report”).
func TestReportEqualsRecount(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	unitsOf := []string{"cn/cq", "cn/cq/yuzhong", "cn/cq/yuzhong/xinfang", "cn/cq/beibei", "cn/cqx", "cn/sc/chengdu"}
	ranks := []string{"staff_1", "county_principal", "principal_staff_1", "bureau_deputy"}
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("c-%02d", i)
		ids = append(ids, id)
		mustPut(t, s, id, app.ProfileInput{Name: "干部" + id, Unit: unitsOf[i%len(unitsOf)], Rank: ranks[i%len(ranks)],
			LeadershipMember: i%5 == 0, RankEffectiveOn: training.MustDate("2021-01-01")})
		if i%3 != 0 {
			submit(t, s, fullTime(id, "a"+id, "2025-03-01", fmt.Sprintf("2025-03-%02d", 2+i%20), int64(min(8*(1+i%7), 24*(1+i%20)))))
		}
		if i%4 == 1 {
			submit(t, s, online(id, "o"+id, "2025-01-15", training.Hours(1234+i)))
		}
		if i%6 == 2 {
			submit(t, s, fullTime(id, "y"+id, "2024-05-01", "2024-06-30", 330))
		}
	}
	recompute(t, s, ids...)
	// Changes after the first rollups: voids, moves, a promotion.
	for i, id := range ids {
		switch i % 7 {
		case 1:
			recs, _ := s.Store.ListRecords(ctx, id)
			if len(recs) > 0 {
				if _, _, err := s.VoidRecord(ctx, nil, recs[0].ID, "更正", "test"); err != nil {
					t.Fatal(err)
				}
			}
		case 2:
			c, _ := s.GetCadre(ctx, nil, id)
			mustPut(t, s, id, app.ProfileInput{Name: c.Name, Unit: "cn/cq/beibei/new", Rank: c.Rank, LeadershipMember: c.LeadershipMember})
		case 3:
			c, _ := s.GetCadre(ctx, nil, id)
			mustPut(t, s, id, app.ProfileInput{Name: c.Name, Unit: c.Unit, Rank: "county_deputy", RankEffectiveOn: training.MustDate("2025-05-01"), LeadershipMember: true})
		}
	}
	recompute(t, s, ids...)
	for _, unit := range []string{"", "cn/cq", "cn/cq/yuzhong", "cn/sc"} {
		for _, year := range []int{2025, 2024} {
			got, err := s.Report(ctx, nil, unit, year)
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.Recount(ctx, unit, year)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("report %q %d:\n got %+v\nwant %+v", unit, year, got, want)
			}
			if unit == "" && year == 2025 && got.Totals.Cadres != 40 {
				t.Errorf("root report counts %d cadres, want 40", got.Totals.Cadres)
			}
		}
	}
}

// docs/api.md “Unit report”: rates and per-cadre averages rounded half up to hundredths.
func TestReportFigures(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	for i, u := range []string{"cn/cq", "cn/cq/a", "cn/cq/a/b"} {
		mustPut(t, s, fmt.Sprintf("c-%d", i), app.ProfileInput{Name: "干部", Unit: u, Rank: "staff_1", RankEffectiveOn: training.MustDate("2021-01-01")})
	}
	submit(t, s, fullTime("c-1", "x", "2025-03-01", "2025-03-02", 10))
	recompute(t, s, "c-0", "c-1", "c-2")
	rep, err := s.Report(ctx, nil, "cn/cq", 2025)
	if err != nil {
		t.Fatal(err)
	}
	tot := rep.Totals
	if tot.Cadres != 3 || tot.Trained != 1 || tot.Participation != 3333 || tot.FullTime != 1000 || tot.FullTimeAvg != 333 {
		t.Errorf("totals = %+v; want 3 cadres, 1 trained, 33.33%%, 10 学时, 3.33 per cadre", tot)
	}
	var children []string
	for _, c := range rep.Children {
		children = append(children, fmt.Sprintf("%s:%d", c.Unit, c.Cadres))
	}
	if want := []string{"cn/cq:1", "cn/cq/a:2"}; !slices.Equal(children, want) {
		t.Errorf("children = %v, want %v", children, want)
	}
	if _, err := s.Report(ctx, units{"cn/sc"}, "cn/cq", 2025); training.ErrorCode(err) != training.EFORBIDDEN {
		t.Errorf("report outside scope: %v", err)
	}
	if _, err := s.Report(ctx, nil, "cn/cq", 2023); training.ErrorCode(err) != training.EINVALID {
		t.Errorf("report of 2023: %v, want EINVALID (figures kept for 2025 and 2024)", err)
	}
}

// The daily recompute re-derives every cadre's facts; those whose figures did not change are not
// written again for the date alone (training.Facts.Same ignores as_of), so a quiet day costs reads.
func TestFactsNotRewrittenForTheDate(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	mustPut(t, s, "q-1", app.ProfileInput{Name: "丁", Unit: "cn/cq", Rank: "staff_1", RankEffectiveOn: training.MustDate("2020-01-01")})
	submit(t, s, fullTime("q-1", "c", "2025-03-01", "2025-03-15", 100))
	submit(t, s, online("q-1", "o", "2025-02-01", training.HoursOf(30)))
	submit(t, s, online("q-1", "o2", "2025-02-02", training.HoursOf(30)))
	recompute(t, s, "q-1")
	first, err := s.Store.GetFacts(ctx, "q-1", []int{2025})
	if err != nil || first[2025].Overall != training.StateMet {
		t.Fatalf("facts %+v, %v; want met", first, err)
	}
	s.Now = func() time.Time { return now.Add(24 * time.Hour) }
	recompute(t, s, "q-1")
	again, err := s.Store.GetFacts(ctx, "q-1", []int{2025})
	if err != nil {
		t.Fatal(err)
	}
	if !again[2025].ComputedAt.Equal(first[2025].ComputedAt) {
		t.Errorf("facts rewritten the next day with the same figures: computed_at %v → %v", first[2025].ComputedAt, again[2025].ComputedAt)
	}
	page, err := s.ListCadres(ctx, nil, app.ListQuery{Unit: "cn/cq", Year: 2025})
	if err != nil || len(page.Items) != 1 || page.Items[0].AsOf != training.MustDate("2025-07-01") {
		t.Errorf("list %+v, %v; want as_of the new today", page.Items, err)
	}
}

package training

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestEvaluationRange: issue 11 item 5 — an evaluation handed only the records of
// Rules.EvaluationRange gives the same status as one handed the whole archive, for every kind
// of requirement (calendar year, plan period, after promotion, after joining, docs/rules.md §2)
// and the carry-over of an overlay (the Nanjing overlay, cn/js/nanjing), so a store can read
// only that range however long the archive grows.
func TestEvaluationRange(t *testing.T) {
	rules := DefaultRules()
	r := rand.New(rand.NewPCG(7, 11))
	promoted := cadreWith("principal_staff_1", "2016-03-01", "county_deputy", "2024-05-01")
	joined := cadreWith("staff_1", "2025-09-01")
	joined.JoinedOn = MustDate("2025-09-01")
	nanjing := cadreWith("principal_staff_1", "2019-01-01")
	nanjing.Unit = "cn/js/nanjing/gulou"
	lead := countyLead
	lead.Unit = "cn/cq"
	for _, c := range []Cadre{township, county, lead, promoted, joined, nanjing} {
		// Ten years of records before and after the as-of dates, every kind and assessment.
		var all []Record
		for i := range 400 {
			d := MustDate("2016-01-01").AddDays(r.IntN(12 * 365))
			rec := Record{ID: fmt.Sprintf("r%03d", i), CadreID: c.ID, Status: StatusActive, Hours: Hours(r.IntN(4000))}
			if i%2 == 0 {
				rec.Kind, rec.StudiedOn = KindOnline, d
			} else {
				days := 1 + r.IntN(20)
				rec.Kind, rec.StartDate, rec.EndDate, rec.Days, rec.FullTime = KindCentralized, d.AddDays(-(days - 1)), d, WholeDays(int64(days)), true
				if i%5 == 0 {
					rec.InstitutionType = "party_school"
				}
				if i%7 == 0 {
					rec.InstitutionType = "out_of_town"
				}
			}
			if i%11 == 0 {
				rec.Assessment = AssessmentFailed
			}
			all = append(all, rec)
		}
		for _, asOf := range []string{"2023-01-01", "2023-06-30", "2024-12-31", "2025-05-01", "2026-02-15", "2026-11-27", "2027-12-31"} {
			d := MustDate(asOf)
			from, to, err := rules.EvaluationRange(c, d)
			if err != nil {
				t.Fatalf("EvaluationRange(%s): %v", asOf, err)
			}
			var in []Record
			for _, rec := range all {
				a := rec.AttributionDate()
				if !a.Before(from) && !a.After(to) {
					in = append(in, rec)
				}
			}
			want, err := rules.Evaluate(c, all, d, computedAt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rules.Evaluate(c, in, d, computedAt)
			if err != nil {
				t.Fatal(err)
			}
			// Explanations list every record passed (docs/rules.md "A status that explains
			// itself"); everything else must not depend on the records outside the range.
			got, want = got.WithoutExplain(), want.WithoutExplain()
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("cadre %v as of %s: the records of [%s, %s] (%d of %d) give\n%+v\nthe whole archive\n%+v", c.RankHistory, asOf, from, to, len(in), len(all), got, want)
			}
			if len(in) == len(all) {
				t.Fatalf("as of %s the range [%s, %s] holds the whole archive: the test proves nothing", asOf, from, to)
			}
		}
	}
}

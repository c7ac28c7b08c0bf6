package training

import (
	"fmt"
	"testing"
)

// BenchmarkEvaluateRules: one evaluation of a township cadre with a year's records (100 online,
// 20 centralized), without an overlay and under the shipped Nanjing overlay (days_to_hours, a
// training cap and a carry-over that evaluates the previous year too), and of a cadre in the year
// after a promotion (5-year look-back). Numbers in docs/benchmarks.md.
func BenchmarkEvaluateRules(b *testing.B) {
	var recs []Record
	for i := range 100 {
		recs = append(recs, online(b, fmt.Sprintf("o%d", i), MustDate("2024-01-03").AddDays(i*7).String(), "1.5"))
	}
	for i := range 20 {
		recs = append(recs, central(b, fmt.Sprintf("c%d", i), MustDate("2024-01-20").AddDays(i*35).String(), 3, "20"))
	}
	plain := township
	plain.Unit = "cn/cq/a"
	nanjing := township
	nanjing.Unit = "cn/js/nanjing/a"
	promoted := cadreWith("township_principal", "2018-01-01", "county_deputy", "2025-03-15")
	for _, bc := range []struct {
		name string
		c    Cadre
	}{{"NoOverlay", plain}, {"NanjingOverlay", nanjing}, {"AfterPromotion", promoted}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Evaluate(bc.c, recs, MustDate("2025-06-30"), computedAt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

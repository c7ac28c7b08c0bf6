package importer

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Generate writes test input to dir: cadres.csv (n profiles, Chinese headers, with a BOM as
// Excel writes it) and records.csv (perCadre records per cadre, English headers), alternating
// online study and full-time centralized training over 2023–2026, 1,000 cadres per unit. It
// returns the two paths (profiles first, as cadred import takes them).
func Generate(dir string, n, perCadre int) ([]string, error) {
	cadres, records := filepath.Join(dir, "cadres.csv"), filepath.Join(dir, "records.csv")
	err := writeCSV(cadres, true, []string{"干部编号", "姓名", "单位", "职级", "职级生效日期", "领导班子成员"}, n, func(i int, emit func([]string)) {
		rank := "principal_staff_1"
		if i%5 == 0 {
			rank = "县处级副职" // official titles are accepted as the API accepts them
		}
		lead := "否"
		if i%17 == 0 {
			lead = "是"
		}
		emit([]string{fmt.Sprintf("k%07d", i), "干部" + strconv.Itoa(i), fmt.Sprintf("cn/p%02d/c%03d", i/100000, i%100000/1000), rank, "2020-01-01", lead})
	})
	if err != nil {
		return nil, err
	}
	head := []string{"cadre_id", "event_id", "kind", "full_time", "course_title", "institution", "institution_type", "start_date", "end_date", "days", "hours", "studied_on"}
	err = writeCSV(records, false, head, n, func(i int, emit func([]string)) {
		for j := range perCadre {
			day := training.MustDate("2023-01-01").AddDays((i*37 + j*131) % 1420)
			id, ev := fmt.Sprintf("k%07d", i), fmt.Sprintf("e%07d-%02d", i, j)
			if j%2 == 0 {
				emit([]string{id, ev, "online", "", "《信访工作条例》专题网络培训", "", "", "", "", "", training.Hours(150 + 100*(j%4)).String(), day.String()})
				continue
			}
			days := 1 + (i+j)%12
			emit([]string{id, ev, "集中培训", "是", "《信访工作条例》专题培训", "中共重庆市委党校", "party_school",
				day.AddDays(-(days - 1)).String(), day.String(), strconv.Itoa(days), strconv.Itoa(8 * days), ""})
		}
	})
	if err != nil {
		return nil, err
	}
	return []string{cadres, records}, nil
}

func writeCSV(path string, bom bool, head []string, n int, rows func(i int, emit func([]string))) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if bom {
		bw.WriteString("\ufeff")
	}
	w := csv.NewWriter(bw)
	w.Write(head)
	for i := range n {
		rows(i, func(r []string) { w.Write(r) })
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

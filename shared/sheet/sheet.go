// Package sheet is a table as HR offices file it — a title row, a row of Chinese column headers,
// the rows — and its CSV form (UTF-8 with a BOM, so Excel reads the Chinese correctly). The xlsx
// form is in shared/sheet/xlsx, apart, so that only the programs that export xlsx link excelize.
package sheet

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
)

// Sheet is one table.
type Sheet struct {
	Name    string // the worksheet's name in a workbook; "" takes it from Title
	Title   string // 干部教育培训学时统计表（2026年度）; also the file name; "" for no title row
	Headers []string
	Rows    [][]any // string, int, int64, float64, bool, Hundredths (training.Hours), Halves (training.Days), fmt.Stringer (training.Date)
}

// Add appends a row.
func (s *Sheet) Add(cells ...any) { s.Rows = append(s.Rows, cells) }

// Hundredths is a cell of 学时 (training.Hours): xlsx shows it as a number with two decimals.
type Hundredths interface{ Hundredths() int64 }

// Halves is a cell of days in half-day steps (training.Days): xlsx shows it as a number.
type Halves interface{ Halves() int64 }

// XLSX renders sheets as one xlsx workbook, a worksheet each: shared/sheet/xlsx.Write in the
// program, or Remote, which has the render-xlsx function do it (hr-api).
type XLSX func(ctx context.Context, sheets ...*Sheet) ([]byte, error)

// CellText is a cell as text: 是/否 for booleans, dates as YYYY-MM-DD, 学时 exactly.
func CellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "是"
		}
		return "否"
	case fmt.Stringer: // training.Date's is "" when unset
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// CSV renders s: the BOM, the title row (when s has a title), the headers, the rows.
func CSV(s *Sheet) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("\ufeff") // the BOM makes Excel read the file as UTF-8
	cw := csv.NewWriter(&buf)
	if s.Title != "" {
		title := make([]string, max(len(s.Headers), 1))
		title[0] = s.Title
		_ = cw.Write(title)
	}
	if len(s.Headers) > 0 {
		_ = cw.Write(s.Headers)
	}
	for _, row := range s.Rows {
		rec := make([]string, len(row))
		for i, v := range row {
			rec[i] = CellText(v)
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, fmt.Errorf("csv export: %w", err)
	}
	return buf.Bytes(), nil
}

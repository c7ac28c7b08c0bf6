// Package xlsx renders sheets as an Excel workbook with excelize: a bold merged title row, a
// shaded header row, 学时 as numbers with two decimals.
package xlsx

import (
	"context"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/cadre-training/cadretrain/shared/sheet"
)

var _ sheet.XLSX = Write

// Write renders the sheets as one workbook, a worksheet each.
func Write(_ context.Context, sheets ...*sheet.Sheet) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	for i, s := range sheets {
		name := s.Name
		if name == "" {
			name = sheetName(s.Title)
		}
		var err error
		if i == 0 {
			err = f.SetSheetName("Sheet1", name)
		} else {
			_, err = f.NewSheet(name)
		}
		if err != nil {
			return nil, fmt.Errorf("xlsx export: %w", err)
		}
		if err := writeSheet(f, name, s); err != nil {
			return nil, fmt.Errorf("xlsx export: %w", err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("xlsx export: %w", err)
	}
	return buf.Bytes(), nil
}

// sheetName fits a title into Excel's 31-character sheet names without []:*?/\.
func sheetName(title string) string {
	r := strings.NewReplacer("[", "（", "]", "）", ":", "：", "*", "", "?", "", "/", "-", "\\", "-").Replace(title)
	if rs := []rune(r); len(rs) > 31 {
		r = string(rs[:31])
	}
	if r == "" {
		r = "Sheet1"
	}
	return r
}

func writeSheet(f *excelize.File, name string, s *sheet.Sheet) error {
	cols := max(len(s.Headers), 1)
	last, _ := excelize.ColumnNumberToName(cols)
	titleStyle, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14},
		Alignment: &excelize.Alignment{Horizontal: "center"}})
	if err != nil {
		return err
	}
	headStyle, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return err
	}
	hoursStyle, err := f.NewStyle(&excelize.Style{NumFmt: 2}) // 0.00
	if err != nil {
		return err
	}
	set := func(col, row int, v any) error {
		cell, err := excelize.CoordinatesToCellName(col, row)
		if err != nil {
			return err
		}
		switch x := v.(type) {
		// A new kind of cell needs its place in sheet's wire format too (render-xlsx, wire.go).
		case sheet.Hundredths:
			// 学时 are exact hundredths; Excel keeps numbers as doubles, shown with two decimals.
			if err := f.SetCellFloat(name, cell, float64(x.Hundredths())/100, 2, 64); err != nil {
				return err
			}
			return f.SetCellStyle(name, cell, cell, hoursStyle)
		case sheet.Halves:
			// Days are exact half days (docs/rules.md “Half days”): 2.5 is exact as a double too.
			return f.SetCellFloat(name, cell, float64(x.Halves())/2, -1, 64)
		case int, int64, float64, string:
			return f.SetCellValue(name, cell, x)
		default:
			return f.SetCellValue(name, cell, sheet.CellText(x))
		}
	}
	row := 1
	if s.Title != "" {
		if err := f.SetCellValue(name, "A1", s.Title); err != nil {
			return err
		}
		if cols > 1 {
			if err := f.MergeCell(name, "A1", last+"1"); err != nil {
				return err
			}
		}
		if err := f.SetCellStyle(name, "A1", last+"1", titleStyle); err != nil {
			return err
		}
		row++
	}
	if len(s.Headers) > 0 {
		for i, h := range s.Headers {
			if err := set(i+1, row, h); err != nil {
				return err
			}
		}
		at := fmt.Sprint(row)
		if err := f.SetCellStyle(name, "A"+at, last+at, headStyle); err != nil {
			return err
		}
		if err := f.SetColWidth(name, "A", last, 16); err != nil {
			return err
		}
		row++
	}
	for r, cells := range s.Rows {
		for c, v := range cells {
			if err := set(c+1, row+r, v); err != nil {
				return err
			}
		}
	}
	return nil
}

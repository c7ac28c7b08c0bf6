package httpapi

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Export formats (docs/api.md “Exports”): ?format=csv|xlsx|json, else the Accept header.
const (
	formatJSON = "json"
	formatCSV  = "csv"
	formatXLSX = "xlsx"

	mimeCSV  = "text/csv; charset=utf-8"
	mimeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

	// MaxExportRows bounds one export: a list export holds every matching row (no pages), and a
	// Lambda response is at most 6 MB.
	MaxExportRows = 20000
)

// exportFormat reads ?format (which wins) or the Accept header; JSON when neither asks otherwise.
func exportFormat(r *http.Request, errs *training.Fields) string {
	if f := r.URL.Query().Get("format"); f != "" {
		switch f {
		case formatJSON, formatCSV, formatXLSX:
			return f
		}
		errs.Add("format", "must be json, csv or xlsx, got %q", f)
		return formatJSON
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv":
			return formatCSV
		case mimeXLSX:
			return formatXLSX
		case "application/json", "*/*":
			return formatJSON
		}
	}
	return formatJSON
}

// sheet is a table as HR offices file it: a title row, a row of Chinese column headers, the rows.
type sheet struct {
	Title   string // 干部教育培训学时统计表（2026年度）; also the file name
	Headers []string
	Rows    [][]any // string, int, int64, training.Hours, training.Date, bool
}

func (s *sheet) add(cells ...any) { s.Rows = append(s.Rows, cells) }

func cellText(v any) string {
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
	case training.Date:
		if x.IsZero() {
			return ""
		}
		return x.String()
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// writeSheet answers s in format (csv or xlsx) as an attachment.
func writeSheet(w http.ResponseWriter, format string, s *sheet) error {
	var (
		body []byte
		ct   string
	)
	switch format {
	case formatCSV:
		var buf bytes.Buffer
		buf.WriteString("\ufeff") // the BOM makes Excel read the file as UTF-8
		cw := csv.NewWriter(&buf)
		title := make([]string, max(len(s.Headers), 1))
		title[0] = s.Title
		_ = cw.Write(title)
		_ = cw.Write(s.Headers)
		for _, row := range s.Rows {
			rec := make([]string, len(row))
			for i, v := range row {
				rec[i] = cellText(v)
			}
			_ = cw.Write(rec)
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("csv export: %w", err)
		}
		body, ct = buf.Bytes(), mimeCSV
	case formatXLSX:
		b, err := xlsxOf(s)
		if err != nil {
			return err
		}
		body, ct = b, mimeXLSX
	default:
		return fmt.Errorf("writeSheet: format %q", format)
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="export.%s"; filename*=UTF-8''%s.%s`,
		format, url.PathEscape(s.Title), format))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

// sheetName fits a title into Excel's 31-character sheet names without []:*?/\.
func sheetName(title string) string {
	r := strings.NewReplacer("[", "（", "]", "）", ":", "：", "*", "", "?", "", "/", "-", "\\", "-").Replace(title)
	if rs := []rune(r); len(rs) > 31 {
		r = string(rs[:31])
	}
	return r
}

func xlsxOf(s *sheet) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	name := sheetName(s.Title)
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return nil, fmt.Errorf("xlsx export: %w", err)
	}
	cols := max(len(s.Headers), 1)
	last, _ := excelize.ColumnNumberToName(cols)
	titleStyle, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14},
		Alignment: &excelize.Alignment{Horizontal: "center"}})
	if err != nil {
		return nil, err
	}
	headStyle, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return nil, err
	}
	hoursStyle, err := f.NewStyle(&excelize.Style{NumFmt: 2}) // 0.00
	if err != nil {
		return nil, err
	}
	set := func(col, row int, v any) error {
		cell, err := excelize.CoordinatesToCellName(col, row)
		if err != nil {
			return err
		}
		switch x := v.(type) {
		case training.Hours:
			// 学时 are exact hundredths; Excel keeps numbers as doubles, shown with two decimals.
			if err := f.SetCellFloat(name, cell, float64(x)/100, 2, 64); err != nil {
				return err
			}
			return f.SetCellStyle(name, cell, cell, hoursStyle)
		case int, int64, string:
			return f.SetCellValue(name, cell, x)
		default:
			return f.SetCellValue(name, cell, cellText(x))
		}
	}
	if err := f.SetCellValue(name, "A1", s.Title); err != nil {
		return nil, err
	}
	if cols > 1 {
		if err := f.MergeCell(name, "A1", last+"1"); err != nil {
			return nil, err
		}
	}
	if err := f.SetCellStyle(name, "A1", last+"1", titleStyle); err != nil {
		return nil, err
	}
	for i, h := range s.Headers {
		if err := set(i+1, 2, h); err != nil {
			return nil, err
		}
	}
	if len(s.Headers) > 0 {
		if err := f.SetCellStyle(name, "A2", last+"2", headStyle); err != nil {
			return nil, err
		}
		if err := f.SetColWidth(name, "A", last, 16); err != nil {
			return nil, err
		}
	}
	for r, row := range s.Rows {
		for c, v := range row {
			if err := set(c+1, r+3, v); err != nil {
				return nil, fmt.Errorf("xlsx export: %w", err)
			}
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("xlsx export: %w", err)
	}
	return buf.Bytes(), nil
}

// Exports are in Chinese: codes are shown by their Chinese labels (labels, i18n.go).
func zh(code string) string {
	if code == "" {
		return "—"
	}
	return label(langZH, code)
}

func stateLabel(s training.State) string { return zh(string(s)) }

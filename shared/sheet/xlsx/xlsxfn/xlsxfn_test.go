package xlsxfn_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/cadre-training/cadretrain/shared/sheet"
	"github.com/cadre-training/cadretrain/shared/sheet/xlsx"
	"github.com/cadre-training/cadretrain/shared/sheet/xlsx/xlsxfn"
	"github.com/cadre-training/cadretrain/shared/training"
)

// TestRender: render-xlsx turns the sheets hr-api sends into the workbook hr-api would have
// written itself: the title row, the headers, 学时 as numbers shown with two decimals, the
// other cells as sent (docs/api.md “Exports”).
func TestRender(t *testing.T) {
	var logs bytes.Buffer
	h := xlsxfn.New(slog.New(slog.NewJSONHandler(&logs, nil)))
	sheets := []*sheet.Sheet{{Title: "干部教育培训学时统计表（2026年度）", Headers: []string{"姓名", "学时", "天数"},
		Rows: [][]any{{"张三", training.Hours(123456), 61}, {"李四", training.Hours(5), 0}}}}
	enc, err := sheet.EncodeSheets(sheets)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h(context.Background(), sheet.RenderRequest{Sheets: enc})
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(resp.XLSX))
	if err != nil {
		t.Fatalf("not a workbook: %v", err)
	}
	defer f.Close()
	name := f.GetSheetName(0)
	for _, tc := range []struct{ cell, want string }{
		{"A1", "干部教育培训学时统计表（2026年度）"},
		{"A2", "姓名"}, {"B2", "学时"},
		{"A3", "张三"}, {"B3", "1234.56"}, {"C3", "61"},
		{"B4", "0.05"},
	} {
		if got, err := f.GetCellValue(name, tc.cell); err != nil || got != tc.want {
			t.Errorf("%s = %q (%v), want %q", tc.cell, got, err, tc.want)
		}
	}
	if typ, _ := f.GetCellType(name, "B3"); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
		t.Errorf("学时 cell B3 is text (%v), want a number", typ)
	}
	if !bytes.Contains(logs.Bytes(), []byte(`"msg":"rendered"`)) || !bytes.Contains(logs.Bytes(), []byte(`"rows":2`)) {
		t.Errorf("log: %s", logs.String())
	}

	for name, req := range map[string]sheet.RenderRequest{
		"not gzip":  {Sheets: []byte("{}")},
		"no sheets": {Sheets: mustEncode(t, nil)},
	} {
		if _, err := h(context.Background(), req); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}

func mustEncode(t *testing.T, s []*sheet.Sheet) []byte {
	t.Helper()
	b, err := sheet.EncodeSheets(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRemoteWorkbookIsTheLocalOne: a workbook rendered by render-xlsx from what hr-api sends is,
// cell by cell (value, type, style), the one the one-machine server writes in process, for every
// kind of cell the exports hold (docs/api.md “Exports”).
func TestRemoteWorkbookIsTheLocalOne(t *testing.T) {
	sheets := []*sheet.Sheet{
		{Title: "干部教育培训档案（张三）", Headers: []string{"文本", "整数", "小数", "学时", "天数", "日期", "空日期", "是否", "空"},
			Rows: [][]any{
				{"中青年干部培训班", 61, 2.75, training.Hours(32050), training.DaysFromHalves(5), training.MustDate("2024-03-01"), training.Date{}, true, nil},
				{"", int64(-3), 0.0, training.Hours(0), training.WholeDays(12), training.MustDate("2026-11-27"), training.Date{}, false, nil},
			}},
		{Name: "第二页", Headers: []string{"a"}, Rows: [][]any{{training.Hours(1)}}},
	}
	local, err := xlsx.Write(context.Background(), sheets...)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := xlsxfn.New(slog.New(slog.DiscardHandler))(context.Background(), sheet.RenderRequest{Sheets: mustEncode(t, sheets)})
	if err != nil {
		t.Fatal(err)
	}
	open := func(b []byte) *excelize.File {
		f, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	want, got := open(local), open(resp.XLSX)
	if w, g := want.GetSheetList(), got.GetSheetList(); strings.Join(w, "|") != strings.Join(g, "|") {
		t.Fatalf("sheets %q, want %q", g, w)
	}
	for _, name := range want.GetSheetList() {
		rows, _ := want.GetRows(name)
		for r := range rows {
			for c := range 9 {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				wv, _ := want.GetCellValue(name, cell)
				gv, _ := got.GetCellValue(name, cell)
				wt, _ := want.GetCellType(name, cell)
				gt, _ := got.GetCellType(name, cell)
				ws, _ := want.GetCellStyle(name, cell)
				gs, _ := got.GetCellStyle(name, cell)
				if wv != gv || wt != gt || ws != gs {
					t.Errorf("%s!%s: %q (type %v, style %d), want %q (type %v, style %d)", name, cell, gv, gt, gs, wv, wt, ws)
				}
			}
		}
	}
}

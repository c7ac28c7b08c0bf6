package xlsxfn_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/cadre-training/cadretrain/shared/sheet"
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

package sheet_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cadre-training/cadretrain/shared/sheet"
	"github.com/cadre-training/cadretrain/shared/training"
)

// TestSheetsRoundTrip: what hr-api sends render-xlsx keeps every cell as the xlsx writer tells
// it apart: 学时 exact to the hundredth (docs/rules.md: 学时 are exact decimals), days exact to
// the half day (docs/rules.md “Half days”), integers exact (beyond 2^53 too), floats, strings,
// and every other value as its CellText.
func TestSheetsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want any
	}{
		{"string", "张三", "张三"},
		{"empty string", "", ""},
		{"int", 42, int64(42)},
		{"int64 beyond float precision", int64(9007199254740993), int64(9007199254740993)},
		{"negative int", -7, int64(-7)},
		{"float", 12.25, 12.25},
		{"integral float", 3.0, int64(3)}, // written the same way by the xlsx writer
		{"hours", training.Hours(123456), hundredths(123456)},
		{"hours zero", training.Hours(0), hundredths(0)},
		{"hours at the sum limit", training.Hours(999999999999999), hundredths(999999999999999)},
		{"half days", training.DaysFromHalves(5), halves(5)},
		{"whole days", training.DaysFromHalves(122), halves(122)},
		{"nil", nil, nil},
		{"bool", true, "是"},
		{"date", training.MustDate("2026-03-01"), "2026-03-01"},
		{"zero date", training.Date{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []*sheet.Sheet{{Name: "名单", Title: "干部教育培训情况名单（2026年度）", Headers: []string{"列"}, Rows: [][]any{{tc.in}}}}
			b, err := sheet.EncodeSheets(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := sheet.DecodeSheets(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 1 || out[0].Name != "名单" || out[0].Title != in[0].Title || !reflect.DeepEqual(out[0].Headers, []string{"列"}) {
				t.Fatalf("sheet %+v", out[0])
			}
			got := out[0].Rows[0][0]
			switch v := got.(type) {
			case sheet.Hundredths:
				got = hundredths(v.Hundredths())
			case sheet.Halves:
				got = halves(v.Halves())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("cell %#v (%T), want %#v (%T)", got, got, tc.want, tc.want)
			}
		})
	}
}

// TestDecodeSheetsRefuses: a request that is not what EncodeSheets writes is an error, not a
// workbook with cells silently dropped.
func TestDecodeSheetsRefuses(t *testing.T) {
	enc := func(rows string) []byte { return gz(t, `[{"title":"x","rows":`+rows+`}]`) }
	for _, tc := range []struct{ name, rows string }{
		{"object that is not hours", `[[{"minutes": 3}]]`},
		{"hours and more", `[[{"hours": 3, "x": 1}]]`},
		{"hours not an integer", `[[{"hours": 1.5}]]`},
		{"hours and days", `[[{"hours": 3, "half_days": 1}]]`},
		{"empty object", `[[{}]]`},
		{"array cell", `[[[1]]]`},
		{"boolean cell", `[[true]]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sheet.DecodeSheets(enc(tc.rows)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := sheet.DecodeSheets([]byte("not gzip")); err == nil {
		t.Fatal("accepted a request that is not gzip")
	}
}

// TestRemote: the remote renderer sends a RenderRequest and returns the workbook of the
// RenderResponse; an invocation failure or an answer without a workbook is an error.
func TestRemote(t *testing.T) {
	s := &sheet.Sheet{Title: "t", Headers: []string{"a"}, Rows: [][]any{{training.Hours(150)}}}
	var sent sheet.RenderRequest
	ok := sheet.Remote(func(_ context.Context, payload []byte) ([]byte, error) {
		if err := json.Unmarshal(payload, &sent); err != nil {
			return nil, err
		}
		return json.Marshal(sheet.RenderResponse{XLSX: []byte("PK…")})
	})
	b, err := ok(context.Background(), s)
	if err != nil || string(b) != "PK…" {
		t.Fatalf("%q, %v", b, err)
	}
	got, err := sheet.DecodeSheets(sent.Sheets)
	if h, ok := got[0].Rows[0][0].(sheet.Hundredths); err != nil || len(got) != 1 || !ok || h.Hundredths() != 150 {
		t.Fatalf("sent %+v, %v", got, err)
	}
	for name, invoke := range map[string]func(context.Context, []byte) ([]byte, error){
		"invoke fails": func(context.Context, []byte) ([]byte, error) { return nil, errors.New("throttled") },
		"no workbook":  func(context.Context, []byte) ([]byte, error) { return []byte(`{"errorMessage":"boom"}`), nil },
	} {
		if _, err := sheet.Remote(invoke)(context.Background(), s); err == nil || !strings.Contains(err.Error(), "xlsx export") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hundredths and halves are what a decoded 学时 or days cell is compared as.
type (
	hundredths int64
	halves     int64
)

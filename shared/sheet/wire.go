package sheet

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// The render-xlsx Lambda function renders the xlsx exports of hr-api, so that hr-api does not
// link excelize (docs/benchmarks.md “Lambda deployment packages”). hr-api sends it the sheets
// (RenderRequest) and gets the workbook back (RenderResponse), by a synchronous invocation.
//
// The sheets travel as gzip-compressed JSON: a list export may hold 20,000 rows (MaxExportRows in
// shared/httpapi), and an invocation's request is at most 6 MB. A cell is kept as what the xlsx
// writer tells apart: a string, an integer, a float, 学时 ({"hours": hundredths}), days
// ({"half_days": halves}), or null; any other value goes as its CellText. (A kind of cell the
// writer learns must be carried here too; TestRemoteWorkbookIsTheLocalOne compares the two.)
// Package sheet imports nothing of the rules, so render-xlsx does not link them.

// RenderRequest is render-xlsx's event.
type RenderRequest struct {
	Sheets []byte `json:"sheets_gzip"` // EncodeSheets
}

// RenderResponse is render-xlsx's answer.
type RenderResponse struct {
	XLSX []byte `json:"xlsx"`
}

type wireSheet struct {
	Name    string              `json:"name,omitempty"`
	Title   string              `json:"title,omitempty"`
	Headers []string            `json:"headers,omitempty"`
	Rows    [][]json.RawMessage `json:"rows"`
}

type wireNumber struct {
	Hours    *int64 `json:"hours,omitempty"`
	HalfDays *int64 `json:"half_days,omitempty"`
}

// hours and halfDays are 学时 and days as render-xlsx decodes them.
type hours int64

func (h hours) Hundredths() int64 { return int64(h) }

type halfDays int64

func (d halfDays) Halves() int64 { return int64(d) }

// EncodeSheets writes the sheets as RenderRequest.Sheets.
func EncodeSheets(sheets []*Sheet) ([]byte, error) {
	ws := make([]wireSheet, len(sheets))
	for i, s := range sheets {
		w := wireSheet{Name: s.Name, Title: s.Title, Headers: s.Headers, Rows: make([][]json.RawMessage, len(s.Rows))}
		for r, row := range s.Rows {
			cells := make([]json.RawMessage, len(row))
			for c, v := range row {
				var x any
				switch v := v.(type) {
				case nil, string, int, int64, float64:
					x = v
				case Hundredths:
					h := v.Hundredths()
					x = wireNumber{Hours: &h}
				case Halves:
					h := v.Halves()
					x = wireNumber{HalfDays: &h}
				default:
					x = CellText(v)
				}
				b, err := json.Marshal(x)
				if err != nil {
					return nil, fmt.Errorf("sheet %q row %d column %d: %w", s.Title, r+1, c+1, err)
				}
				cells[c] = b
			}
			w.Rows[r] = cells
		}
		ws[i] = w
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(ws); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeSheets reads RenderRequest.Sheets.
func DecodeSheets(b []byte) ([]*Sheet, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("sheets: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("sheets: %w", err)
	}
	var ws []wireSheet
	if err := json.Unmarshal(raw, &ws); err != nil {
		return nil, fmt.Errorf("sheets: %w", err)
	}
	sheets := make([]*Sheet, len(ws))
	for i, w := range ws {
		s := &Sheet{Name: w.Name, Title: w.Title, Headers: w.Headers, Rows: make([][]any, len(w.Rows))}
		for r, row := range w.Rows {
			cells := make([]any, len(row))
			for c, cell := range row {
				v, err := decodeCell(cell)
				if err != nil {
					return nil, fmt.Errorf("sheet %q row %d column %d: %w", w.Title, r+1, c+1, err)
				}
				cells[c] = v
			}
			s.Rows[r] = cells
		}
		sheets[i] = s
	}
	return sheets, nil
}

func decodeCell(b json.RawMessage) (any, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil, nil
	case b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	case b[0] == '{':
		var n wireNumber
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&n); err == nil && n.Hours != nil && n.HalfDays == nil {
			return hours(*n.Hours), nil
		} else if err == nil && n.HalfDays != nil && n.Hours == nil {
			return halfDays(*n.HalfDays), nil
		}
		return nil, fmt.Errorf("a cell object must be {\"hours\": <hundredths>} or {\"half_days\": <halves>}: %s", b)
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("not a cell: %s", b)
	}
	if !strings.ContainsAny(n.String(), ".eE") {
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
	}
	return n.Float64()
}

// Remote is an XLSX that has the render-xlsx function render the workbook: invoke calls it
// synchronously with a RenderRequest and returns its answer.
func Remote(invoke func(ctx context.Context, payload []byte) ([]byte, error)) XLSX {
	return func(ctx context.Context, sheets ...*Sheet) ([]byte, error) {
		enc, err := EncodeSheets(sheets)
		if err != nil {
			return nil, fmt.Errorf("xlsx export: %w", err)
		}
		req, err := json.Marshal(RenderRequest{Sheets: enc})
		if err != nil {
			return nil, err
		}
		out, err := invoke(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("xlsx export: %w", err)
		}
		var resp RenderResponse
		if err := json.Unmarshal(out, &resp); err != nil || len(resp.XLSX) == 0 {
			return nil, fmt.Errorf("xlsx export: render-xlsx answered no workbook: %.200s", out)
		}
		return resp.XLSX, nil
	}
}

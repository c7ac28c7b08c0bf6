package httpapi

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cadre-training/cadretrain/shared/sheet"
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

// writeSheet answers s in format (csv or xlsx) as an attachment. xlsx is rendered by the
// program's xlsx writer (Deps.XLSX: the server's is excelize, hr-api's the render-xlsx function;
// no other function serves an export).
func (a *API) writeSheet(ctx context.Context, w http.ResponseWriter, format string, s *sheet.Sheet) error {
	var (
		body []byte
		ct   string
	)
	switch format {
	case formatCSV:
		b, err := sheet.CSV(s)
		if err != nil {
			return err
		}
		body, ct = b, mimeCSV
	case formatXLSX:
		if a.d.XLSX == nil {
			return training.Errorf(training.EUNSUPPORTED, "this function does not render xlsx; ask for format=csv")
		}
		b, err := a.d.XLSX(ctx, s)
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

// Exports are in Chinese: codes are shown by their Chinese labels (labels, i18n.go).
func zh(code string) string {
	if code == "" {
		return "—"
	}
	return label(langZH, code)
}

func stateLabel(s training.State) string { return zh(string(s)) }

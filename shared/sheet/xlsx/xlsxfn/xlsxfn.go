// Package xlsxfn is the render-xlsx Lambda function: it renders hr-api's xlsx exports
// (sheet.RenderRequest → sheet.RenderResponse) with shared/sheet/xlsx. It is a function of its
// own because excelize is most of a bootstrap: every save path of excelize reaches
// go-deepcopy's reflective method lookup, which keeps the linker from dropping any exported
// method of the program, and its NewFile links every golang.org/x/text character set; linked
// into hr-api, that took hr-api from 9.5 to 15.5 MB (docs/benchmarks.md “Lambda deployment
// packages”). Alone, with only aws-lambda-go beside it (no AWS SDK, no store), it is under 10 MB.
//
// It reads no configuration and no environment, and touches no AWS service.
package xlsxfn

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/cadre-training/cadretrain/shared/sheet"
	"github.com/cadre-training/cadretrain/shared/sheet/xlsx"
)

// Name is the function's folder under functions/.
const Name = "render-xlsx"

// Start hands the handler to the Lambda runtime.
func Start() {
	lambda.Start(New(slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", Name)))
}

// New returns the handler; it logs one line per invocation.
func New(log *slog.Logger) func(context.Context, sheet.RenderRequest) (sheet.RenderResponse, error) {
	var used atomic.Bool
	return func(ctx context.Context, req sheet.RenderRequest) (resp sheet.RenderResponse, err error) {
		start, cold := time.Now(), !used.Swap(true)
		rows := 0
		defer func() {
			attrs := []any{"rows", rows, "bytes", len(resp.XLSX), "latency_ms", float64(time.Since(start).Microseconds()) / 1000, "cold_start", cold}
			if lc, ok := lambdacontext.FromContext(ctx); ok {
				attrs = append(attrs, "request_id", lc.AwsRequestID)
			}
			if err != nil {
				log.Error("render failed", append(attrs, "err", err.Error())...)
				return
			}
			log.Info("rendered", attrs...)
		}()
		sheets, err := sheet.DecodeSheets(req.Sheets)
		if err != nil {
			return resp, fmt.Errorf("render-xlsx: %w", err)
		}
		if len(sheets) == 0 {
			return resp, fmt.Errorf("render-xlsx: no sheets")
		}
		for _, s := range sheets {
			rows += len(s.Rows)
		}
		b, err := xlsx.Write(ctx, sheets...)
		if err != nil {
			return resp, err
		}
		return sheet.RenderResponse{XLSX: b}, nil
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/importer"
	berrors "go.etcd.io/bbolt/errors"
)

// importCmd loads profiles and records from CSV/xlsx files (cadred import [flags] FILE...;
// docs/import.md), or writes test input with -generate DIR.
func importCmd(log *slog.Logger) error {
	f := storeFlags()
	var (
		source     = flag.String("source", "hr", "the import's name: records are keyed by (import/<source>, event_id)")
		report     = flag.String("report", "", "rejected rows CSV (default <first input>.rejected.csv)")
		batch      = flag.Int("batch", 5000, "rows per transaction")
		overlayDir = flag.String("overlays", os.Getenv("CADRE_OVERLAYS"), "the server's overlay directory, so statuses are computed as it does (env CADRE_OVERLAYS)")
		generate   = flag.String("generate", "", "write test input (cadres.csv, records.csv) to this directory and exit")
		genCadres  = flag.Int("cadres", 1000, "with -generate: cadres")
		genRecords = flag.Int("records", 10, "with -generate: records per cadre")
	)
	flag.Parse()
	if *generate != "" {
		if err := os.MkdirAll(*generate, 0o755); err != nil {
			return err
		}
		files, err := importer.Generate(*generate, *genCadres, *genRecords)
		if err != nil {
			return err
		}
		fmt.Println(files[0], files[1])
		return nil
	}
	if flag.NArg() == 0 {
		return errors.New("usage: cadred import [-data-dir DIR | -store dynamodb] [-source NAME] FILE.csv|FILE.xlsx")
	}
	rules, err := loadRules(*overlayDir)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := f.open(ctx, log)
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("the store file in %s is locked by another process: stop the cadred server using this data dir, then import (%w)", *f.dataDir, err)
	}
	if err != nil {
		return err
	}
	defer store.Close()
	svc := app.New(store)
	svc.Rules = rules
	st, _ := os.Stderr.Stat()
	res, err := importer.Run(ctx, importer.Options{
		Service: svc, Source: *source, Report: *report, StateDir: *f.dataDir, Batch: *batch,
		Progress: os.Stderr, Terminal: st != nil && st.Mode()&os.ModeCharDevice != 0,
	}, flag.Args())
	fmt.Printf("%d rows: %d imported, %d already imported, %d rejected (report %s), %d done by an earlier run\n",
		res.Rows, res.Imported, res.Already, res.Rejected, res.Report, res.Skipped)
	return err
}

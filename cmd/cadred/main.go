// Command cadred serves the whole backend on one machine (shared/server): the HTTP API, the
// store's change feed tailed in process, background recompute jobs and the daily recompute, on the
// embedded store (a bbolt file in the data dir) or on DynamoDB (e.g. DynamoDB Local). It only
// wires: flags and environment → store, configuration → server.
//
//	go run ./cmd/cadred -addr 127.0.0.1:3000 -store embedded
//	go run ./cmd/cadred -store dynamodb -dynamodb-endpoint http://127.0.0.1:8000
//	go run ./cmd/cadred redrive        # replay the dead letters of the data dir
//	go run ./cmd/cadred import cadres.csv records.xlsx   # bulk import (cadred stopped; docs/import.md)
//	go run ./cmd/cadred -check         # consistency check of the embedded store file (cadred stopped)
//	go run ./cmd/cadred compact        # compact the embedded store file (cadred stopped)
//
// SIGINT or SIGTERM shut it down gracefully (in-flight requests, the current feed batch and
// background jobs finish; the store is closed).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/dynamo/streamfeed"
	"github.com/cadre-training/cadretrain/shared/server"
	"github.com/cadre-training/cadretrain/shared/sheet/xlsx"
	"github.com/cadre-training/cadretrain/shared/training"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	run := serve
	if len(os.Args) > 1 && os.Args[1] == "redrive" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
		run = redrive
	} else if len(os.Args) > 1 && os.Args[1] == "import" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
		run = importCmd
	} else if len(os.Args) > 1 && os.Args[1] == "migrate-dynamodb" {
		args := os.Args[2:]
		run = func(log *slog.Logger) error { return migrateDynamo(log, args) }
	} else if len(os.Args) > 1 && storeOps[os.Args[1]] != nil {
		op, args := storeOps[os.Args[1]], os.Args[2:]
		run = func(log *slog.Logger) error { return op(log, args) }
	}
	if err := run(log); err != nil {
		log.Error("cadred failed", "err", err.Error())
		os.Exit(1)
	}
}

// setGC applies the server's garbage collector setting (server.SetGCPercent).
func setGC(log *slog.Logger) {
	if pct, ok := server.SetGCPercent(); ok {
		log.Info("gc", "gogc", pct)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// serverFlags are the flags of every mode that opens the store.
type serverFlags struct {
	storeKind, dataDir, configPath, endpoint, table *string
}

func storeFlags() serverFlags {
	return serverFlags{
		storeKind:  flag.String("store", "embedded", "store: embedded or dynamodb"),
		dataDir:    flag.String("data-dir", env("CADRE_DATA_DIR", ".data"), "data dir: the embedded store's file, feed cursor, dead letters (env CADRE_DATA_DIR)"),
		configPath: flag.String("config", env("CADRE_CONFIG", "config/demo.json"), "configuration file: platforms and API keys, re-read every few minutes (env CADRE_CONFIG)"),
		endpoint:   flag.String("dynamodb-endpoint", os.Getenv("DYNAMODB_ENDPOINT"), "DynamoDB endpoint, e.g. http://127.0.0.1:8000 (env DYNAMODB_ENDPOINT)"),
		table:      flag.String("table", "cadre-training-local", "DynamoDB table (created if missing)"),
	}
}

// open opens the store the flags name.
func (f serverFlags) open(ctx context.Context, log *slog.Logger) (training.Store, error) {
	if err := os.MkdirAll(*f.dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	switch *f.storeKind {
	case "embedded":
		path := filepath.Join(*f.dataDir, "cadretrain.db")
		s, err := bolt.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open embedded store %s: %w", path, err)
		}
		log.Info("embedded store opened", "path", path)
		return s, nil
	case "dynamodb":
		if *f.endpoint == "" {
			return nil, fmt.Errorf("-store dynamodb needs -dynamodb-endpoint (or DYNAMODB_ENDPOINT)")
		}
		db, streams := streamfeed.LocalClients(*f.endpoint)
		if err := dynamo.EnsureTable(ctx, db, *f.table); err != nil {
			return nil, err
		}
		log.Info("dynamodb store", "endpoint", *f.endpoint, "table", *f.table)
		return streamfeed.NewStore(db, streams, *f.table), nil
	}
	return nil, fmt.Errorf("-store must be embedded or dynamodb, not %q", *f.storeKind)
}

// redrive replays the dead letters of the data dir (cadred redrive [-data-dir …]).
func redrive(log *slog.Logger) error {
	f := storeFlags()
	overlayDir := flag.String("overlays", os.Getenv("CADRE_OVERLAYS"), "the server's overlay directory, so replayed recomputes credit as it does (env CADRE_OVERLAYS)")
	flag.Parse()
	rules, err := loadRules(*overlayDir)
	if err != nil {
		return err
	}
	ctx := context.Background()
	store, err := f.open(ctx, log)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := app.New(store)
	svc.Rules = rules
	res, err := server.Redrive(ctx, svc, *f.dataDir, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Printf("%d replayed, %d failed again (kept in %s)\n", res.Replayed, res.Failed, filepath.Join(*f.dataDir, server.DeadLetterFile))
	if res.Failed > 0 {
		return fmt.Errorf("%d dead letters failed again", res.Failed)
	}
	return nil
}

func serve(log *slog.Logger) error {
	defAddr := "127.0.0.1:3000"
	if p := os.Getenv("PORT"); p != "" {
		defAddr = "127.0.0.1:" + p
	}
	var (
		addr          = flag.String("addr", defAddr, "listen address (env PORT sets the port of the default)")
		f             = storeFlags()
		scheduleEvery = flag.Duration("schedule-every", 0, "also run the daily recompute at this interval (0: only at 02:00 Asia/Shanghai)")
		poll          = flag.Duration("poll", server.DefaultPoll, "change feed poll interval")
		pprofAddr     = flag.String("pprof", "", "serve Go's net/http/pprof profiles on this loopback address, e.g. 127.0.0.1:6060 (off by default)")
		overlayDir    = flag.String("overlays", os.Getenv("CADRE_OVERLAYS"), "directory of local crediting overlays (*.json) replacing the embedded ones; a bad file stops the server (env CADRE_OVERLAYS)")
	)
	var noticeSchedule []time.Duration
	flag.Func("notice-retry-schedule", "comma-separated delays before each delivery attempt of a notice, e.g. 0s,5s,5m (default Svix's: 0s,5s,5m,30m,2h,5h,10h,10h)", func(v string) error {
		for _, part := range strings.Split(v, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(part))
			if err != nil || d < 0 {
				return fmt.Errorf("%q is not a duration ≥ 0", part)
			}
			noticeSchedule = append(noticeSchedule, d)
		}
		return nil
	})
	flag.Parse()
	if *pprofAddr != "" {
		if err := servePprof(*pprofAddr, log); err != nil {
			return err
		}
	}
	setGC(log)

	cfgSrc := config.FileSource(*f.configPath, config.DefaultTTL, log)
	if _, err := cfgSrc.Get(context.Background()); err != nil {
		return err
	}
	rules, err := loadRules(*overlayDir)
	if err != nil {
		return err
	}
	log.Info("rules", "policies", len(rules.Policies), "overlays", len(rules.Overlays.All()))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := f.open(ctx, log)
	if err != nil {
		return err
	}
	srv, err := server.Start(ctx, server.Options{
		Addr:           *addr,
		Store:          store,
		StoreKind:      *f.storeKind,
		Config:         cfgSrc,
		DataDir:        *f.dataDir,
		CursorName:     cursorName(*f.storeKind, *f.table),
		Poll:           *poll,
		ScheduleEvery:  *scheduleEvery,
		Log:            log,
		Rules:          rules,
		XLSX:           xlsx.Write,
		Metrics:        os.Stderr,
		NoticeSchedule: noticeSchedule,
	})
	if err != nil {
		_ = store.Close()
		return err
	}
	log.Info("listening", "url", srv.URL())
	select {
	case <-ctx.Done():
		log.Info("shutting down", "reason", "signal")
	case err := <-srv.ServeErr():
		log.Error("http server stopped", "err", err.Error())
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// cursorName names the feed cursor per store, so one data dir can serve both stores.
func cursorName(kind, table string) string {
	if kind == "dynamodb" {
		return "changes-dynamodb-" + table
	}
	return "changes-" + kind
}

// servePprof serves the profiling endpoints on their own loopback listener, never on the API's.
func servePprof(addr string, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-pprof must be a loopback address like 127.0.0.1:6060, not %q", addr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("-pprof: %w", err)
	}
	log.Info("pprof", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	go func() { _ = http.Serve(ln, mux) }()
	return nil
}

// Command cadred serves the whole backend on one machine: the Lambda functions of template.yaml
// behind a local stand-in for API Gateway, the DynamoDB stream and the daily schedule
// (shared/localrun), on the embedded store (a bbolt file in the data dir) or on DynamoDB (e.g.
// DynamoDB Local). It only wires: flags and environment → store, configuration → localrun.
//
//	go run ./cmd/cadred -addr 127.0.0.1:3000 -store embedded
//	go run ./cmd/cadred -store dynamodb -dynamodb-endpoint http://127.0.0.1:8000
//
// SIGINT or SIGTERM shut it down gracefully (in-flight requests, the current stream batch and
// asynchronous jobs finish; the store is closed).
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
	"syscall"
	"time"

	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/localrun"
	"github.com/cadre-training/cadretrain/shared/training"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("cadred failed", "err", err.Error())
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(log *slog.Logger) error {
	defAddr := "127.0.0.1:3000"
	if p := os.Getenv("PORT"); p != "" {
		defAddr = "127.0.0.1:" + p
	}
	var (
		addr          = flag.String("addr", defAddr, "listen address (env PORT sets the port of the default)")
		storeKind     = flag.String("store", "embedded", "store: embedded or dynamodb")
		dataDir       = flag.String("data-dir", env("CADRE_DATA_DIR", ".data"), "data dir: the embedded store's file, stream cursors, dead letters (env CADRE_DATA_DIR)")
		configPath    = flag.String("config", env("CADRE_CONFIG", "config/demo.json"), "configuration file: platforms and API keys (env CADRE_CONFIG)")
		templatePath  = flag.String("template", "template.yaml", "SAM template whose routes, stream consumers and schedule are served")
		endpoint      = flag.String("dynamodb-endpoint", os.Getenv("DYNAMODB_ENDPOINT"), "DynamoDB endpoint, e.g. http://127.0.0.1:8000 (env DYNAMODB_ENDPOINT)")
		table         = flag.String("table", "cadre-training-local", "DynamoDB table (created if missing)")
		scheduleEvery = flag.Duration("schedule-every", 0, "also fire the schedule at this interval (0: only at its time, 02:00 Asia/Shanghai)")
		poll          = flag.Duration("poll", 200*time.Millisecond, "stream poll interval")
		pprofAddr     = flag.String("pprof", "", "serve Go's net/http/pprof profiles on this loopback address, e.g. 127.0.0.1:6060 (off by default)")
		overlayDir    = flag.String("overlays", os.Getenv("CADRE_OVERLAYS"), "directory of local crediting overlays (*.json) replacing the embedded ones; a bad file stops the server (env CADRE_OVERLAYS)")
	)
	flag.Parse()
	if *pprofAddr != "" {
		if err := servePprof(*pprofAddr, log); err != nil {
			return err
		}
	}

	cfg, err := config.LoadFile(*configPath)
	if err != nil {
		return err
	}
	rules := training.DefaultRules()
	if *overlayDir != "" {
		if rules, err = rules.WithOverlays(os.DirFS(*overlayDir), "."); err != nil {
			return fmt.Errorf("-overlays %s: %w", *overlayDir, err)
		}
	}
	log.Info("rules", "policies", len(rules.Policies), "overlays", len(rules.Overlays.All()))
	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var store training.Store
	tableName := ""
	switch *storeKind {
	case "embedded":
		path := filepath.Join(*dataDir, "cadretrain.db")
		s, err := bolt.Open(path)
		if err != nil {
			return fmt.Errorf("open embedded store %s: %w", path, err)
		}
		store, tableName = s, *table
		log.Info("embedded store opened", "path", path)
	case "dynamodb":
		if *endpoint == "" {
			return fmt.Errorf("-store dynamodb needs -dynamodb-endpoint (or DYNAMODB_ENDPOINT)")
		}
		db, streams := dynamo.LocalClients(*endpoint)
		if err := dynamo.EnsureTable(ctx, db, *table); err != nil {
			return err
		}
		store, tableName = dynamo.New(db, streams, *table), *table
		log.Info("dynamodb store", "endpoint", *endpoint, "table", *table)
	default:
		return fmt.Errorf("-store must be embedded or dynamodb, not %q", *storeKind)
	}

	srv, err := localrun.Start(ctx, localrun.Options{
		Addr:          *addr,
		Store:         store,
		StoreKind:     *storeKind,
		Table:         tableName,
		Config:        cfg,
		TemplatePath:  *templatePath,
		DataDir:       *dataDir,
		Poll:          *poll,
		ScheduleEvery: *scheduleEvery,
		Log:           log,
		Rules:         rules,
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

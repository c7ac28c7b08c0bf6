// Package apitest starts the local server in process for the tests of the commands that call
// the server's public API.
package apitest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/server"
	"github.com/cadre-training/cadretrain/shared/sheet/xlsx"
)

// StartLocalServer starts the one-machine server (shared/server) on a free loopback port, with
// the embedded store in a temporary directory and config/demo.json, and closes it when the test
// ends. poll is the change feed's poll interval (0: the server's default). It returns the
// server's base URL and the path of the configuration file (for -config).
func StartLocalServer(t testing.TB, poll time.Duration) (url, configPath string) {
	t.Helper()
	root := repoRoot(t)
	configPath = filepath.Join(root, "config", "demo.json")
	cfg, err := config.LoadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := bolt.Open(filepath.Join(dir, "cadretrain.db"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(context.Background(), server.Options{
		Addr: "127.0.0.1:0", Store: store, StoreKind: "embedded", Config: config.Static(cfg), XLSX: xlsx.Write,
		DataDir: dir, Poll: poll, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.URL(), configPath
}

// repoRoot is the nearest directory above the working directory (a test's package) that holds
// go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("apitest: no go.mod above the working directory")
		}
		dir = parent
	}
}

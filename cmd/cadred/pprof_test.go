package main

import (
	"io"
	"log/slog"
	"testing"
)

func TestPprofOnlyOnLoopback(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "10.0.0.1:6060", "localhost:6060", "nonsense"} {
		if err := servePprof(addr, log); err == nil {
			t.Errorf("servePprof(%q) accepted a non-loopback address", addr)
		}
	}
	if err := servePprof("127.0.0.1:0", log); err != nil {
		t.Fatalf("servePprof(127.0.0.1:0): %v", err)
	}
}

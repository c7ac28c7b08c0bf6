package main

import (
	"fmt"
	"os"

	"github.com/cadre-training/cadretrain/shared/training"
)

// loadRules is the embedded policies with the overlays of dir (every *.json in it) instead of
// the embedded overlays, or the embedded rules when dir is "". A bad overlay file is an error
// naming the file and the field, and the server does not start.
func loadRules(dir string) (*training.Rules, error) {
	rules := training.DefaultRules()
	if dir == "" {
		return rules, nil
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("-overlays %s: not a directory", dir)
	}
	r, err := rules.WithOverlays(os.DirFS(dir), ".")
	if err != nil {
		return nil, fmt.Errorf("-overlays %s: %w", dir, err)
	}
	return r, nil
}

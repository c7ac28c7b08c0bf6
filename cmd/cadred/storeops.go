package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cadre-training/cadretrain/shared/bolt"
)

// storeOps are the operations on the embedded store file, run with cadred stopped:
//
//	cadred -check  [-data-dir DIR]   bbolt's consistency check and a decode of every value
//	cadred compact [-data-dir DIR]   copy into a compacted file and swap it in, keeping the old one
var storeOps = map[string]func(log *slog.Logger, args []string) error{
	"-check":  checkStore,
	"check":   checkStore,
	"compact": compactStore,
}

// storePath parses the operation's flags and returns the store file's path.
func storePath(name string, args []string) (string, error) {
	fs := flag.NewFlagSet("cadred "+name, flag.ContinueOnError)
	dir := fs.String("data-dir", env("CADRE_DATA_DIR", ".data"), "data dir holding cadretrain.db (env CADRE_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	return filepath.Join(*dir, "cadretrain.db"), nil
}

// checkStore runs bolt.Check on the data dir's store file; a damaged file is an error (exit 1).
func checkStore(log *slog.Logger, args []string) error {
	path, err := storePath("-check", args)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if err := bolt.Check(path); err != nil {
		return err
	}
	log.Info("store is consistent", "path", path)
	return nil
}

// compactStore compacts the data dir's store file into cadretrain.db.compacting, checks the
// copy, keeps the original as cadretrain.db.before-compact and puts the copy in its place.
func compactStore(log *slog.Logger, args []string) error {
	path, err := storePath("compact", args)
	if err != nil {
		return err
	}
	tmp, old := path+".compacting", path+".before-compact"
	if _, err := os.Stat(old); err == nil {
		return fmt.Errorf("compact: %s exists (from an earlier compaction): move it away first", old)
	}
	_ = os.Remove(tmp) // a leftover of an interrupted compaction
	before, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if err := bolt.Compact(path, tmp); err != nil {
		return err
	}
	if err := bolt.Check(tmp); err != nil {
		return fmt.Errorf("compact: the compacted copy fails its check, the original is untouched: %w", err)
	}
	if err := os.Rename(path, old); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("compact: %w (the original is %s)", err, old)
	}
	after, err := os.Stat(path)
	if err != nil {
		return err
	}
	log.Info("store compacted", "path", path, "bytes_before", before.Size(), "bytes_after", after.Size(), "original_kept_as", old)
	return nil
}

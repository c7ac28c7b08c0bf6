package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

// bbolt's on-disk meta page (go.etcd.io/bbolt/internal/common): a 16-byte page header, then
// magic, version, page size, flags (uint32 each), the root bucket (pgid, sequence), the freelist
// pgid, the high-water page id, the txid and an FNV-64a checksum of the bytes before it.
const (
	pageHeaderSize = 16
	metaSize       = 64
	bboltMagic     = 0xED0CDAED
)

type metaPage struct {
	pageSize uint32
	pgid     uint64 // pages in use: the file must hold at least pgid × pageSize bytes
	txid     uint64
}

func readMeta(f *os.File, off int64) (metaPage, error) {
	buf := make([]byte, pageHeaderSize+metaSize)
	if _, err := f.ReadAt(buf, off); err != nil {
		return metaPage{}, err
	}
	m := buf[pageHeaderSize:]
	le := binary.LittleEndian // bbolt writes its structs in the machine's byte order; amd64 and arm64 are little-endian
	if le.Uint32(m[0:]) != bboltMagic {
		return metaPage{}, errors.New("bad magic")
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		return metaPage{}, errors.New("bad checksum")
	}
	return metaPage{pageSize: le.Uint32(m[8:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, nil
}

// openDB is bbolt.Open with a panic on a garbage page (bbolt reads the freelist while opening)
// returned as an error.
func openDB(path string, o *bbolt.Options) (db *bbolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("the file is damaged (bbolt panicked reading it: %v); run cadred -check, restore it from a backup", p)
		}
	}()
	return bbolt.Open(path, 0o600, o)
}

// checkFile refuses a store file that exists but is empty, is not a bbolt file, or is shorter
// than its meta page says (bbolt would map it and fault with SIGBUS on the missing pages).
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a new store
	}
	if err != nil {
		return fmt.Errorf("opening bolt store %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("opening bolt store %s: %w", path, err)
	}
	size := fi.Size()
	if size == 0 {
		return fmt.Errorf("refusing to open the bolt store %s: the file exists but is empty (0 bytes); restore it from a backup, or delete it to start an empty store", path)
	}
	m0, err0 := readMeta(f, 0)
	var m1 metaPage
	err1 := errors.New("no second meta page")
	if err0 == nil {
		m1, err1 = readMeta(f, int64(m0.pageSize))
	} else {
		for _, ps := range []int64{4096, 16384, 65536} {
			if m1, err1 = readMeta(f, ps); err1 == nil && int64(m1.pageSize) == ps {
				break
			}
		}
	}
	var m metaPage
	switch {
	case err0 != nil && err1 != nil:
		if errors.Is(err0, io.EOF) || size < 4096 {
			return fmt.Errorf("refusing to open the bolt store %s: the file is %d bytes, too short to be a bbolt file (truncated?); restore it from a backup", path, size)
		}
		return fmt.Errorf("refusing to open the bolt store %s: neither meta page is valid (%v; %v): not a bbolt file or damaged; restore it from a backup", path, err0, err1)
	case err0 != nil:
		m = m1
	case err1 != nil:
		m = m0
	case m1.txid > m0.txid:
		m = m1
	default:
		m = m0
	}
	if need := int64(m.pgid) * int64(m.pageSize); size < need {
		return fmt.Errorf("refusing to open the bolt store %s: the file is %d bytes but its meta page says %d pages of %d bytes (%d bytes): it is truncated; restore it from a backup", path, size, m.pgid, m.pageSize, need)
	}
	return nil
}

// Check opens the store file read-only and runs bbolt's consistency check (tx.Check: page
// references, freelist, key order), then decodes every cadre, record, snapshot, report facts, form entry and
// change. It returns nil when all is well, else an error listing the problems (at most 50).
func Check(path string) error {
	if err := checkFile(path); err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	db, err := openDB(path, &bbolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("checking %s: %w (is cadred running on it?)", path, err)
	}
	defer db.Close()
	var problems []error
	add := func(err error) bool {
		problems = append(problems, err)
		return len(problems) < 50
	}
	err = func() (err error) {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("reading panicked: %v", p)
			}
		}()
		return db.View(func(tx *bbolt.Tx) error {
			for err := range tx.Check() {
				if !add(err) {
					return nil
				}
			}
			if len(problems) > 0 {
				return nil // do not walk a damaged tree
			}
			decoders := []struct {
				bucket   []byte
				decode   func(k, v []byte) error
				optional bool // made by the first write of its kind
			}{
				{bktCadres, func(k, v []byte) error { var c training.Cadre; return decodeCadre(v, &c) }, false},
				{bktRecs, func(k, v []byte) error { var r training.Record; return decodeRecord(v, &r) }, false},
				{bktSnapshots, func(k, v []byte) error { var s training.Status; return decodeStatus(v, &s) }, false},
				{bktFactsUnits, func(k, v []byte) error { var f training.Facts; return decodeFacts(v, &f) }, true},
				{bktFormEntries, func(k, v []byte) error { var e training.FormEntry; return jsonDecode(v, &e) }, false},
				{bktChanges, func(k, v []byte) error { var c training.Change; return decodeChange(v, &c) }, false},
			}
			for _, d := range decoders {
				b := tx.Bucket(d.bucket)
				if b == nil && d.optional {
					continue
				}
				if b == nil {
					if !add(fmt.Errorf("bucket %s is missing", d.bucket)) {
						return nil
					}
					continue
				}
				err := b.ForEach(func(k, v []byte) error {
					if err := d.decode(k, v); err != nil && !add(fmt.Errorf("%s %q: %w", d.bucket, k, err)) {
						return errors.New("too many problems")
					}
					return nil
				})
				if err != nil {
					return nil
				}
			}
			return nil
		})
	}()
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("store %s is damaged: %w", path, errors.Join(problems...))
	}
	return nil
}

// Compact copies the store file src into the new file dst with bbolt's compaction (every page
// filled, free pages left behind), keeping the store id and the feed's sequence, so cursors stay
// valid. dst must not exist; src must not be open in another process (stop cadred first). The
// operator then replaces src with dst.
func Compact(src, dst string) error {
	if err := checkFile(src); err != nil {
		return err
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("compacting: %w", err)
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("compacting: %s already exists", dst)
	}
	from, err := openDB(src, &bbolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("compacting: opening %s: %w (is cadred running on it?)", src, err)
	}
	defer from.Close()
	to, err := bbolt.Open(dst, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("compacting: creating %s: %w", dst, err)
	}
	if err := bbolt.Compact(to, from, 64<<20); err != nil {
		to.Close()
		os.Remove(dst)
		return fmt.Errorf("compacting %s into %s: %w", src, dst, err)
	}
	if err := to.Close(); err != nil {
		return fmt.Errorf("compacting: closing %s: %w", dst, err)
	}
	return nil
}

// Command cadrescale measures the embedded store at national scale: it seeds N cadres × R
// records straight into a bbolt store (the store's bulk Load when it has one, else concurrent
// PutCadre/CreateRecord), then times a full recompute (every cadre evaluated and its snapshot
// stored), the same again with nothing changed, and a recompute of one unit of -unit-size cadres,
// sampling the process's memory while each runs. It reports the file size, the bytes per record
// and the peak RSS beyond the memory-mapped file (RssAnon: the heap, not the file's pages).
//
//	go run ./cmd/cadrescale -cadres 100000
//	make scale SCALE_CADRES=1000000
//
// docs/benchmarks.md has the figures and how to read them.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/server"
	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

// loader is the bulk path of stores that have one (shared/bolt's Load).
type loader interface {
	Load(ctx context.Context, cadres []training.Cadre, records []training.Record) error
}

func main() {
	var (
		cadres   = flag.Int("cadres", 100000, "cadres to seed")
		perCadre = flag.Int("records", 10, "records per cadre")
		unitSize = flag.Int("unit-size", 100000, "cadres per top-level unit (cn/pNN); the unit recompute is timed on cn/p00")
		dir      = flag.String("dir", "", "directory for the store file (default: a new temp dir, removed afterwards)")
		keep     = flag.Bool("keep", false, "keep the store file")
		asOfStr  = flag.String("as-of", "2026-11-27", "evaluation date")
		cpuProf  = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
		seedOnly = flag.Bool("seed-only", false, "with -dir: seed the store file and stop (time the recomputes later with -reuse)")
		reuse    = flag.Bool("reuse", false, "with -dir: when the store file is there already (from a -keep run with the same -cadres, -records and -unit-size), skip the seeding and time only the recomputes")
	)
	flag.Parse()
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	// The server's garbage collector setting: a full recompute runs in cadred.
	gogc := "GOGC=" + os.Getenv("GOGC") + " (from the environment)"
	if pct, ok := server.SetGCPercent(); ok {
		gogc = fmt.Sprintf("GOGC=%d (the server's)", pct)
	}
	asOf := training.MustDate(*asOfStr)
	if *dir == "" {
		d, err := os.MkdirTemp("", "cadrescale-")
		if err != nil {
			log.Fatal(err)
		}
		*dir = d
		if !*keep {
			defer os.RemoveAll(d)
		}
	}
	if err := os.MkdirAll(*dir, 0o750); err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(*dir, "cadretrain.db")
	_, statErr := os.Stat(path)
	reused := *reuse && statErr == nil
	ctx := context.Background()
	fmt.Printf("cadrescale: %d cadres × %d records, %d cadres per unit, as of %s, GOMAXPROCS=%d, %s, file %s\n",
		*cadres, *perCadre, *unitSize, asOf, runtime.GOMAXPROCS(0), gogc, path)

	nrec := *cadres * *perCadre
	if reused {
		fmt.Println("seed: skipped (-reuse: the store file is there already)")
	} else {
		s, err := bolt.Open(path)
		if err != nil {
			log.Fatal(err)
		}
		start, cpu0 := time.Now(), cpuTime()
		mode, err := seed(ctx, s, *cadres, *perCadre, *unitSize, asOf)
		if err != nil {
			log.Fatal(err)
		}
		seedTime, seedCPU := time.Since(start), cpuTime()-cpu0
		if err := s.Close(); err != nil {
			log.Fatal(err)
		}
		used, fileSize := usedBytes(path)
		fmt.Printf("seed (%s): %.1fs wall, %.1fs CPU, %.0f records/s; file %s (pages in use %s), %.0f bytes per record\n",
			mode, seedTime.Seconds(), seedCPU.Seconds(), float64(nrec)/seedTime.Seconds(), mb(fileSize), mb(used), float64(used)/float64(nrec))
		bucketSizes(path, nrec)
	}
	if *seedOnly {
		return
	}

	s, err := bolt.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	svc := app.New(s)
	svc.Now = func() time.Time { return time.Date(asOf.Year, asOf.Month, asOf.Day, 12, 0, 0, 0, time.UTC) }
	phase := func(name, unit string, want int) {
		runtime.GC()
		m := startMem()
		t0, c0 := time.Now(), cpuTime()
		res, err := svc.RecomputeUnit(ctx, unit, asOf, 0, nil)
		el, cpu := time.Since(t0), cpuTime()-c0
		peak := m.stop()
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		if res.Recomputed != want || res.Failed != 0 {
			log.Fatalf("%s: recomputed %d, failed %d, want %d", name, res.Recomputed, res.Failed, want)
		}
		fmt.Printf("%s: %d cadres in %.2fs wall (%.0f cadres/s), %.2fs CPU (%.0f cadres per CPU-second); peak RSS %s, of which beyond the mapped file (RssAnon) %s\n",
			name, res.Recomputed, el.Seconds(), float64(res.Recomputed)/el.Seconds(), cpu.Seconds(), float64(res.Recomputed)/cpu.Seconds(), mb(peak.rss), mb(peak.anon))
	}
	phase("full recompute", "", *cadres)
	phase("full recompute, nothing changed", "", *cadres)
	phase("unit recompute cn/p00", "cn/p00", min(*unitSize, *cadres))
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	used, fileSize := usedBytes(path)
	fmt.Printf("after recompute: file %s (pages in use %s), %.0f bytes per record (snapshots included)\n", mb(fileSize), mb(used), float64(used)/float64(nrec))
	bucketSizes(path, nrec)
}

// seed stores the cadres and records: 1000 cadres per sub-unit cn/pNN/cMMM, unitSize per
// top-level unit; records alternate online study and centralized training over 2023–2026.
func seed(ctx context.Context, s *bolt.Store, n, perCadre, unitSize int, asOf training.Date) (string, error) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cadreOf := func(i int) training.Cadre {
		unit := fmt.Sprintf("cn/p%02d/c%03d", i/unitSize, i%unitSize/1000)
		rank := "principal_staff_1"
		if i%5 == 0 {
			rank = "county_deputy"
		}
		return training.Cadre{
			ID: fmt.Sprintf("k%07d", i), Name: "干部" + strconv.Itoa(i), Unit: unit, Rank: rank,
			RankHistory:      []training.RankChange{{Rank: rank, EffectiveOn: training.MustDate("2020-01-01")}},
			LeadershipMember: i%17 == 0, CreatedAt: created, UpdatedAt: created,
		}
	}
	recordOf := func(i, j int) training.Record {
		day := training.MustDate("2023-01-01").AddDays((i*37 + j*131) % 1420)
		r := training.Record{
			CadreID: fmt.Sprintf("k%07d", i), Source: "platform/scale", ExternalID: fmt.Sprintf("e%07d-%02d", i, j),
			CourseTitle: "《信访工作条例》专题培训", CreatedAt: created, Status: training.StatusActive,
		}
		if j%2 == 0 {
			r.Kind, r.StudiedOn, r.Hours = training.KindOnline, day, training.Hours(150+100*(j%4))
		} else {
			days := 1 + (i+j)%12
			r.Kind, r.FullTime, r.StartDate, r.EndDate, r.Days, r.Hours = training.KindCentralized, true, day.AddDays(-(days - 1)), day, training.WholeDays(int64(days)), training.HoursOf(int64(8*days))
			r.Institution, r.InstitutionType = "中共重庆市委党校", "party_school"
		}
		r.Seal()
		return r
	}
	const batch = 1000
	if l, ok := any(s).(loader); ok {
		// Batches are built on all CPUs and loaded one transaction each.
		type chunk struct {
			cs []training.Cadre
			rs []training.Record
		}
		chunks := make(chan chunk, 2)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					lo := int(next.Add(batch)) - batch
					if lo >= n {
						return
					}
					var c chunk
					for i := lo; i < min(lo+batch, n); i++ {
						c.cs = append(c.cs, cadreOf(i))
						for j := range perCadre {
							c.rs = append(c.rs, recordOf(i, j))
						}
					}
					chunks <- c
				}
			}()
		}
		go func() { wg.Wait(); close(chunks) }()
		start, done, step := time.Now(), 0, max(batch, n/20)
		for c := range chunks {
			if err := l.Load(ctx, c.cs, c.rs); err != nil {
				return "", err
			}
			if done += len(c.cs); done%step < len(c.cs) || done == n {
				fmt.Fprintf(os.Stderr, "\rseeding: %d of %d cadres (%d%%), %s", done, n, done*100/n, time.Since(start).Round(time.Second))
			}
		}
		fmt.Fprintln(os.Stderr)
		return "bulk Load", nil
	}
	// Without a bulk path: the store's ordinary writes, 64 at a time (group commit).
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if _, err := s.PutCadre(ctx, cadreOf(i), 0); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				for j := range perCadre {
					if _, _, err := s.CreateRecord(ctx, recordOf(i, j)); err != nil {
						once.Do(func() { firstErr = err })
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	return "PutCadre+CreateRecord, 64 writers", firstErr
}

// usedBytes returns the bytes of the pages in use (bbolt's high-water mark) and the file size.
func usedBytes(path string) (used, size int64) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bbolt.Tx) error { used = tx.Size(); return nil })
	fi, err := os.Stat(path)
	if err != nil {
		log.Fatal(err)
	}
	return used, fi.Size()
}

// cpuTime is the user + system CPU time of the process so far: on a shared machine, the measure
// that does not depend on what else runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bucketSizes prints the bytes in use per bucket, per record.
func bucketSizes(path string, nrec int) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var parts []string
	_ = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			st := b.Stats()
			if n := st.LeafAlloc + st.BranchAlloc; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %.0f (%.0f%% full)", name, float64(n)/float64(nrec), 100*float64(st.LeafInuse+st.BranchInuse)/float64(n)))
			}
			return nil
		})
	})
	fmt.Printf("  bytes per record by bucket (pages allocated): %s\n", strings.Join(parts, ", "))
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

type memPeak struct{ rss, anon int64 }

type memSampler struct {
	stopc chan struct{}
	done  chan memPeak
}

// startMem samples VmRSS and RssAnon of /proc/self/status every 20 ms until stop.
func startMem() *memSampler {
	m := &memSampler{stopc: make(chan struct{}), done: make(chan memPeak, 1)}
	go func() {
		var peak memPeak
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			rss, anon := readMem()
			peak.rss, peak.anon = max(peak.rss, rss), max(peak.anon, anon)
			select {
			case <-m.stopc:
				m.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memSampler) stop() memPeak { close(m.stopc); return <-m.done }

func readMem() (rss, anon int64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n * 1024
		case "RssAnon":
			anon = n * 1024
		}
	}
	return rss, anon
}

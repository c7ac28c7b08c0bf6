package bolt

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/storetest"
	"github.com/cadre-training/cadretrain/shared/training"
)

// BenchmarkCreateRecord measures durable write throughput: b.N CreateRecord calls of distinct
// keys (each Created, each appending a change), spread over a number of concurrent writers, on a
// file in the test temp dir. ns/op is wall time per write; writes/s is b.N over the wall time;
// writes/commit is how many writes shared one transaction and fsync.
//
//	go test -run '^$' -bench CreateRecord -benchtime 2s ./shared/bolt/
func BenchmarkCreateRecord(b *testing.B) {
	modes := []struct {
		name string
		opts []Option
	}{
		{"solo", []Option{WithoutGroupCommit()}},
		{"group", nil}, // the defaults
		{"group-delay=200us", []Option{WithMaxBatchDelay(200 * time.Microsecond)}},
		{"group-delay=1ms", []Option{WithMaxBatchDelay(time.Millisecond)}},
		{"group-max=8", []Option{WithMaxBatchSize(8)}},
		{"bbolt-Batch-delay=10ms", []Option{func(o *options) { o.dbBatch = 10 * time.Millisecond }}}, // bbolt's default
		{"bbolt-Batch-delay=1ms", []Option{func(o *options) { o.dbBatch = time.Millisecond }}},
	}
	for _, m := range modes {
		for _, writers := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", m.name, writers), func(b *testing.B) {
				benchCreate(b, writers, m.opts...)
			})
		}
	}
}

func benchCreate(b *testing.B, writers int, opts ...Option) {
	s, _ := MustOpen(b, opts...)
	ctx := context.Background()
	end := training.MustDate("2025-02-28")
	var next atomic.Int64
	commits0 := s.commits.Load()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				r := storetest.NewRecord(fmt.Sprintf("c%d", w), "platform/bench", fmt.Sprint(i), end)
				if _, outcome, err := s.CreateRecord(ctx, r); err != nil || outcome != training.Created {
					b.Errorf("CreateRecord: outcome=%s, err=%v", outcome, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
	if c := s.commits.Load() - commits0; c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "writes/commit")
	}
}

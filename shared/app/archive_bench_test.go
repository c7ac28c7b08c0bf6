package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/storetest"
	"github.com/cadre-training/cadretrain/shared/training"
)

// BenchmarkEvaluateLongArchive: one cadre with 9,300 online records (the archive of issue 11
// item 5), ten years of them, evaluated as of 2026-11-27 on the embedded store. ns/op is one
// evaluation (store read + rules), as GET quota-status?as_of does.
//
//	go test -run '^$' -bench EvaluateLongArchive -benchtime 20x ./shared/app/
func BenchmarkEvaluateLongArchive(b *testing.B) {
	ctx := context.Background()
	s, err := bolt.Open(filepath.Join(b.TempDir(), "store.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := storetest.MustPutCadre(b, s, storetest.NewCadre("c1", "cn/cq"), 0)
	const n = 9300
	first := training.MustDate("2016-12-01")
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := storetest.NewRecord("c1", "hr/k", fmt.Sprintf("s%05d", i), training.Date{}, storetest.Online(first.AddDays(i*3650/n), time.Time{}))
			if _, _, err := s.CreateRecord(ctx, r); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	svc := app.New(s)
	asOf := training.MustDate("2026-11-27")
	b.ResetTimer()
	for range b.N {
		if _, err := svc.Evaluate(ctx, c, asOf); err != nil {
			b.Fatal(err)
		}
	}
}

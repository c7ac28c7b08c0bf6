package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/dynamo/dynamotest"
	"github.com/cadre-training/cadretrain/shared/storetest"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Prices: AWS list prices for us-east-1 as known on 2026-11-27 (on-demand DynamoDB after the
// 2024-11-01 reduction; Lambda on arm64, as template.yaml builds; API Gateway HTTP API, first
// 300 million requests a month). docs/benchmarks.md repeats them with the figures.
const (
	priceWriteUnit   = 0.625 / 1e6      // $ per DynamoDB on-demand write request unit
	priceReadUnit    = 0.125 / 1e6      // $ per DynamoDB on-demand read request unit
	priceLambdaReq   = 0.20 / 1e6       // $ per Lambda invocation
	priceLambdaGBs   = 0.0000133334     // $ per Lambda GB-second, arm64
	priceHTTPAPIReq  = 1.00 / 1e6       // $ per API Gateway HTTP API request (≤ 512 KB)
	costTargetPerMil = 1.50             // issue 12 item 4: $ per million completions
	memIngestGB      = 512.0 / 1024     // template.yaml IngestCompletionsFunction MemorySize
	memRecomputeGB   = 512.0 / 1024     // template.yaml RecomputeQuotaFunction MemorySize
	memFormsGB       = 256.0 / 1024     // template.yaml Globals MemorySize (WriteFormEntriesFunction)
	costBatchSize    = 100              // completions per webhook batch (the API's maximum)
	costHistory      = 9                // records each cadre already has (10 with the new one)
	costSource       = "platform/cost"  // the webhook platform of the run
	costUnit         = "cn/cost/bureau" // every cadre's unit
	costFullTimeDays = 5                // a full-time class: 5 days, 40 学时
)

// TestCostPerMillionCompletions drives the application flows behind one webhook completion
// through a metered DynamoDB client against DynamoDB Local, and prices what DynamoDB reports:
// ingest-completions (app.Service.SubmitRecord for each of a batch of 100, half full-time
// centralized training, half online courses, each for another cadre), then the two stream
// consumers on the batch's changes as the stream delivers them (recompute-quota: the changed
// cadres; write-form-entries: the full-time records). Each cadre has 9 records before the run.
// Streams are read unmetered (Lambda event source mappings are not charged per GetRecords).
//
// COST_BATCHES (default 2) sets the number of batches. COST_PER_CADRE (default 1; a divisor of
// 100) gives each cadre that many completions per batch, a week apart (100/k cadres): how a
// platform that sends a cadre's courses of a day or week together changes the cost. make cost
// runs it and prints the table that docs/benchmarks.md records.
func TestCostPerMillionCompletions(t *testing.T) {
	dynamotest.Clients(t)
	envInt := func(name string, def int) int {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", name, v)
		}
		return n
	}
	batches, perCadre := envInt("COST_BATCHES", 2), envInt("COST_PER_CADRE", 1)
	if costBatchSize%perCadre != 0 {
		t.Fatalf("COST_PER_CADRE=%d does not divide the batch of %d", perCadre, costBatchSize)
	}
	ctx := context.Background()
	m := newMeter()
	store := meteredStore(t, m)
	svc := app.New(store)
	today := svc.Today()

	// Setup (unmetered, 8 cadres at a time): the cadres and their history.
	cadres := make([]string, costBatchSize/perCadre)
	for i := range cadres {
		cadres[i] = fmt.Sprintf("cost-%03d", i)
	}
	setup := make(chan int)
	errs := make(chan error, len(cadres))
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range setup {
				if _, err := store.PutCadre(ctx, storetest.NewCadre(cadres[i], costUnit), 0); err != nil {
					errs <- err
					continue
				}
				for h := 0; h < costHistory; h++ {
					r := completion(cadres[i], fmt.Sprintf("hist-%d-%d", i, h), today.AddDays(-30*(h+1)), h%2 == 0)
					if _, outcome, err := store.CreateRecord(ctx, r); err != nil || outcome != training.Created {
						errs <- fmt.Errorf("history of %s: %s, %v", cadres[i], outcome, err)
					}
				}
			}
		}()
	}
	for i := range cadres {
		setup <- i
	}
	close(setup)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	cursor := drainFeed(t, store, "")
	// One recompute per cadre so that every cadre has a snapshot, as in a running system.
	for _, id := range cadres {
		if _, err := svc.Recompute(ctx, id, training.Date{}); err != nil {
			t.Fatal(err)
		}
	}
	m.reset()

	var ingestDur, recomputeDur, formsDur time.Duration
	fullTime := 0
	for b := 0; b < batches; b++ {
		start := time.Now()
		for i := range costBatchSize {
			id, nth := cadres[i%len(cadres)], i/len(cadres)
			r := completion(id, fmt.Sprintf("b%d-%d", b, i), today.AddDays(-1-b-7*nth), i%2 == 0)
			if r.FullTime {
				fullTime++
			}
			res, err := svc.SubmitRecord(ctx, nil, r, r.Kind == training.KindCentralized)
			if err != nil || res.Outcome != training.Created {
				t.Fatalf("batch %d item %d: outcome %q, err %v", b, i, res.Outcome, err)
			}
		}
		ingestDur += time.Since(start)

		var changes []training.Change
		changes, cursor = readBatch(t, store, cursor, costBatchSize)
		start = time.Now()
		if err := svc.HandleChanges(ctx, changes, app.WorkRecompute); err != nil {
			t.Fatalf("batch %d: recompute: %v", b, err)
		}
		recomputeDur += time.Since(start)
		start = time.Now()
		if err := svc.HandleChanges(ctx, changes, app.WorkForms); err != nil {
			t.Fatalf("batch %d: form entries: %v", b, err)
		}
		formsDur += time.Since(start)
	}
	if m.err != nil {
		t.Fatal(m.err)
	}
	n := float64(batches * costBatchSize)
	requests, readUnits, writeUnits, condFailed := m.total()
	// A write whose condition fails is charged as a write of the item; none is expected here.
	writeUnits += float64(condFailed)
	dynamoCost := writeUnits*priceWriteUnit + readUnits*priceReadUnit
	invocations := float64(3 * batches) // one ingest request, one batch to each stream consumer
	gbs := ingestDur.Seconds()*memIngestGB + recomputeDur.Seconds()*memRecomputeGB + formsDur.Seconds()*memFormsGB
	lambdaCost := invocations*priceLambdaReq + gbs*priceLambdaGBs
	apiCost := float64(batches) * priceHTTPAPIReq
	perMillion := func(c float64) float64 { return c / n * 1e6 }
	total := perMillion(dynamoCost + lambdaCost + apiCost)

	t.Logf("%d completions in %d batches of %d (%d full-time), %d per cadre and batch, each cadre with %d records before\n%s",
		int(n), batches, costBatchSize, fullTime, perCadre, costHistory, m)
	t.Logf("per completion: %.2f requests, %.2f write units, %.2f read units, %d failed conditions",
		float64(requests)/n, writeUnits/n, readUnits/n, condFailed)
	t.Logf("measured durations per batch (DynamoDB Local on this machine): ingest %s, recompute %s, form entries %s",
		(ingestDur / time.Duration(batches)).Round(time.Millisecond), (recomputeDur / time.Duration(batches)).Round(time.Millisecond),
		(formsDur / time.Duration(batches)).Round(time.Millisecond))
	t.Logf("$ per million completions: DynamoDB %.3f (writes %.3f, reads %.3f), Lambda %.3f, API Gateway %.3f, total %.3f (target %.2f)",
		perMillion(dynamoCost), perMillion(writeUnits*priceWriteUnit), perMillion(readUnits*priceReadUnit),
		perMillion(lambdaCost), perMillion(apiCost), total, costTargetPerMil)

	// Item sizes decide the units (1 per KB, 2 in a transaction): every item type's, after the run.
	db, _ := dynamotest.Clients(t)
	sizes := itemSizes(t, db, store.TableName())
	t.Logf("item sizes (bytes, as DynamoDB counts them) after the run:\n%s", sizes)
	if max := sizes["rollup"].Max; max > 1024 {
		t.Errorf("a counter item of %d bytes: awsTxUnits prices counter updates as 1 KB", max)
	}
	// What the levers of issue 12 item 4 guarantee, each able to fail on the old flows.
	ops := m.snapshot()
	// Report facts are written per stream batch, a chunk of cadres per TransactWriteItems with one
	// counter update per unit and chunk (docs/dynamodb.md “Unit reports”), not one transaction per
	// cadre; creates add none (a transaction charges each item twice).
	if got, max := ops["TransactWriteItems"].Requests, int(n)/10; got > max {
		t.Errorf("%d TransactWriteItems for %d completions: want at most %d (facts of a batch in chunks, creates as conditional PutItems)", got, int(n), max)
	}
	// The lists' index projects keys only: rewriting a cadre's facts at the same unit and 补训
	// state (every completion here) costs it nothing (docs/dynamodb.md “Unit reports”).
	indexUnits := 0.0
	for _, c := range ops {
		indexUnits += c.IndexUnits
	}
	if indexUnits > 0.1*n {
		t.Errorf("%.0f index write units for %v completions: the facts index should not be rewritten per completion", indexUnits, n)
	}
	if got, want := float64(ops["GetItem"].Requests), n; got > want {
		t.Errorf("%v GetItem calls for %v completions: the form entry flow re-reads records the stream image holds", got, want)
	}
	// The reads below come after the figures. The unit report the measured flows kept equals the
	// recount from the records (docs/api.md “Lists, the unit report”).
	rep, err := svc.Report(ctx, nil, costUnit, today.Year)
	if err != nil {
		t.Fatal(err)
	}
	recount, err := svc.Recount(ctx, costUnit, today.Year)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, rep), mustJSON(t, recount); a != b {
		t.Errorf("unit report after the batches\n%s\nrecount from the records\n%s", a, b)
	}
	// What the flows skipped was not needed either: every stored
	// snapshot says what a fresh evaluation says.
	for _, id := range cadres {
		snap, err := store.GetSnapshot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		c, err := store.GetCadre(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := svc.Evaluate(ctx, c, today)
		if err != nil {
			t.Fatal(err)
		}
		fresh = fresh.WithoutExplain() // what is stored
		snap.ComputedAt, fresh.ComputedAt = time.Time{}, time.Time{}
		if a, b := mustJSON(t, snap), mustJSON(t, fresh); a != b {
			t.Fatalf("cadre %s: stored snapshot\n%s\nfresh evaluation\n%s", id, a, b)
		}
	}
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// completion returns an online course (2.5 学时) or, when fullTime, a 5-day full-time class
// (40 学时) of the cadre ending on end, as a platform sends it.
func completion(cadreID, eventID string, end training.Date, fullTime bool) training.Record {
	if fullTime {
		r := storetest.NewRecord(cadreID, costSource, eventID, end)
		r.Days = training.WholeDays(costFullTimeDays)
		r.Seal()
		return r
	}
	r := storetest.NewRecord(cadreID, costSource, eventID, end, storetest.Online(end, time.Time{}))
	r.Hours = training.HoursOf(2) + 50
	r.Seal()
	return r
}

// drainFeed reads the feed from cursor to its end and returns the cursor after it.
func drainFeed(tb testing.TB, s training.ChangeFeed, cursor string) string {
	tb.Helper()
	for {
		cs, next, err := s.ReadChanges(context.Background(), cursor, 1000)
		if err != nil {
			tb.Fatal(err)
		}
		cursor = next
		if len(cs) == 0 {
			return cursor
		}
	}
}

// readBatch reads n changes after cursor, as one stream batch.
func readBatch(tb testing.TB, s training.ChangeFeed, cursor string, n int) ([]training.Change, string) {
	tb.Helper()
	var out []training.Change
	deadline := time.Now().Add(time.Minute)
	for len(out) < n {
		cs, next, err := s.ReadChanges(context.Background(), cursor, n-len(out))
		if err != nil {
			tb.Fatal(err)
		}
		out, cursor = append(out, cs...), next
		if len(cs) == 0 {
			if time.Now().After(deadline) {
				tb.Fatalf("the stream delivered %d of %d changes", len(out), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return out, cursor
}

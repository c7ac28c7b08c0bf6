package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/training"
)

// BenchmarkDeliver: one notice delivered on the embedded store to a loopback receiver that
// answers 204 — read the outbox entry, the delivery and the subscription, sign, POST, record the
// attempt, take the entry out of the outbox (two fsynced commits). docs/benchmarks.md “Notices”.
func BenchmarkDeliver(b *testing.B) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(b.TempDir(), "cadre.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := New(st)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer recv.Close()
	sub, _, err := svc.PutSubscription(ctx, nil, "bench", SubscriptionInput{URL: recv.URL, Events: []string{training.EventCallNotice}})
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, b.N)
	for i := range b.N {
		ev := training.Event{ID: fmt.Sprintf("evt-%d", i), Type: training.EventCallNotice, Unit: "cn/cq", Data: []byte(`{"cadre_id":"c"}`), Timestamp: svc.now()}
		if err := svc.enqueue(ctx, sub, ev); err != nil {
			b.Fatal(err)
		}
		keys[i] = training.DeliveryKey(sub.ID, training.DeliveryID(sub.ID, ev.ID))
	}
	snd := NewSender(nil)
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Deliver(ctx, snd, keys[i], false); err != nil {
			b.Fatal(err)
		}
	}
}

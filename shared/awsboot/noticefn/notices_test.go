package noticefn

import (
	"context"
	"fmt"
	"github.com/cadre-training/cadretrain/shared/awsboot/awstest"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/training"
)

func streamMessage(id, pk, sk string) events.SQSMessage {
	return events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id,
		Body: fmt.Sprintf(`{"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"S":%q},"sk":{"S":%q}}}}`, pk, sk)}
}

// TestNoticeHandler: deliver-notices makes the attempt of a due outbox entry and acknowledges its
// message (the moved entry comes back as a message of its own); a message that arrives before its
// entry is due is hidden until then and kept; a message that is no outbox entry is dropped; a
// delivered entry's message does nothing (docs/api.md “Notices”).
func TestNoticeHandler(t *testing.T) {
	ctx := context.Background()
	st := awstest.NewStore(t)
	svc := app.New(st)
	var posts atomic.Int32
	answer := atomic.Int32{}
	answer.Store(http.StatusServiceUnavailable)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(int(answer.Load()))
	}))
	defer recv.Close()
	if _, _, err := svc.PutSubscription(ctx, nil, "sub", app.SubscriptionInput{URL: recv.URL, Events: []string{training.EventCallNotice}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PutCadre(ctx, nil, "c1", app.ProfileInput{Name: "张三", Unit: "cn/cq", Rank: "principal_staff_1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PutClass(ctx, nil, "cls", app.ClassInput{Title: "班", Unit: "cn/cq", StartDate: training.MustDate("2026-03-02"),
		EndDate: training.MustDate("2026-03-06"), PlannedHours: 4000, CadreIDs: []string{"c1"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.FileClass(ctx, nil, "cls", "test"); err != nil {
		t.Fatal(err)
	}
	due, err := svc.DueDeliveries(ctx)
	if err != nil || len(due) != 1 {
		t.Fatalf("outbox %v %v, want one entry", due, err)
	}
	var key string
	for k := range due {
		key = k
	}
	var hidden []int32
	vis := func(_ context.Context, receipt string, secs int32) error {
		hidden = append(hidden, secs)
		return nil
	}
	h := noticeHandler(svc, app.NewSender(nil), vis, slog.New(slog.DiscardHandler))

	// Due now; the receiver fails: one attempt, the message is done, the entry moves 5 s on.
	resp, err := h(ctx, events.SQSEvent{Records: []events.SQSMessage{streamMessage("m1", "DOC#due", key), streamMessage("poison", "CADRE#x", "REC#y")}})
	if err != nil || len(resp.BatchItemFailures) != 0 || posts.Load() != 1 {
		t.Fatalf("first: %+v %v, %d posts", resp, err, posts.Load())
	}
	// The entry's change arrives at once: not due for 5 s, so hidden and kept.
	resp, _ = h(ctx, events.SQSEvent{Records: []events.SQSMessage{streamMessage("m2", "DOC#due", key)}})
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m2" || len(hidden) != 1 || hidden[0] < 1 || hidden[0] > 6 || posts.Load() != 1 {
		t.Fatalf("early message: %+v hidden %v, %d posts", resp, hidden, posts.Load())
	}
	// When it is due (the clock moved on), the receiver answers 200: delivered, out of the outbox.
	svc.Now = func() time.Time { return time.Now().Add(6 * time.Second) }
	answer.Store(http.StatusOK)
	resp, _ = h(ctx, events.SQSEvent{Records: []events.SQSMessage{streamMessage("m2", "DOC#due", key)}})
	if len(resp.BatchItemFailures) != 0 || posts.Load() != 2 {
		t.Fatalf("due message: %+v, %d posts", resp, posts.Load())
	}
	ds, err := svc.ListDeliveries(ctx, nil, "sub")
	if err != nil || len(ds) != 1 || ds[0].Status != training.DeliveryDelivered || len(ds[0].Attempts) != 2 {
		t.Fatalf("log %+v %v", ds, err)
	}
	// A late duplicate of a message changes nothing and sends nothing.
	resp, _ = h(ctx, events.SQSEvent{Records: []events.SQSMessage{streamMessage("m1", "DOC#due", key)}})
	if len(resp.BatchItemFailures) != 0 || posts.Load() != 2 {
		t.Fatalf("duplicate: %+v, %d posts", resp, posts.Load())
	}
}

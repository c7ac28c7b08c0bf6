package awsboot_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/awsboot"
	"github.com/cadre-training/cadretrain/shared/awsboot/awstest"
	"github.com/cadre-training/cadretrain/shared/training"
)

var quiet = slog.New(slog.DiscardHandler)

// TestStreamHandlerWritesFormEntries: write-form-entries takes the records from the stream images:
// the INSERT of a 61-day full-time training enters it in both forms, the MODIFY to voided
// withdraws both (docs/rules.md §4).
func TestStreamHandlerWritesFormEntries(t *testing.T) {
	st := awstest.NewStore(t)
	h := awsboot.NewStreamHandler(app.New(st), app.WorkForms, quiet)
	ev := awstest.Fixture[events.DynamoDBEvent](t, "record-stream-event.json")

	resp, err := h(context.Background(), events.DynamoDBEvent{Records: ev.Records[:1]})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("INSERT: %+v, %v", resp, err)
	}
	for _, form := range []training.FormKind{training.FormAppraisal, training.FormAppointment} {
		es, err := st.ListFormEntries(context.Background(), "c-001", form)
		if err != nil || len(es) != 1 || es[0].Status != training.EntryActive {
			t.Fatalf("%s after INSERT: %+v, %v", form, es, err)
		}
	}
	if resp, err := h(context.Background(), events.DynamoDBEvent{Records: ev.Records[1:]}); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("MODIFY: %+v, %v", resp, err)
	}
	es, _ := st.ListFormEntries(context.Background(), "c-001", training.FormAppointment)
	if len(es) != 1 || es[0].Status != training.EntryWithdrawn {
		t.Fatalf("appointment form after the void: %+v", es)
	}
}

// poison is a record item whose image cannot be decoded (hours is not a number).
func poison(t *testing.T, seq string) events.DynamoDBEventRecord {
	ev := awstest.Fixture[events.DynamoDBEvent](t, "record-stream-event.json")
	rec := ev.Records[0]
	rec.Change.SequenceNumber = seq
	img := map[string]events.DynamoDBAttributeValue{}
	for k, v := range rec.Change.NewImage {
		img[k] = v
	}
	img["hours"] = events.NewBooleanAttribute(true)
	rec.Change.NewImage = img
	return rec
}

// TestStreamHandlerReportsPoisonAlone: of a batch holding one undecodable record, exactly that
// record's SequenceNumber is reported; the changes before it are done.
func TestStreamHandlerReportsPoisonAlone(t *testing.T) {
	for _, work := range []app.ChangeWork{app.WorkForms, app.WorkRecompute} {
		st := awstest.NewStore(t)
		ev := awstest.Fixture[events.DynamoDBEvent](t, "record-stream-event.json")
		batch := []events.DynamoDBEventRecord{ev.Records[0], poison(t, "000000000000000000099"), ev.Records[1]}
		resp, err := awsboot.NewStreamHandler(app.New(st), work, quiet)(context.Background(), events.DynamoDBEvent{Records: batch})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.BatchItemFailures; len(got) != 1 || got[0].ItemIdentifier != "000000000000000000099" {
			t.Fatalf("work %d: BatchItemFailures=%+v, want exactly the poison record", work, got)
		}
	}
}

// TestStreamHandlerStoreFailure: a store failure on a record reports that record, so Lambda
// retries from it.
func TestStreamHandlerStoreFailure(t *testing.T) {
	st := awstest.NewStore(t)
	st.PutFormEntriesFunc = func(context.Context, []training.FormEntry) error { return errors.New("throttled") }
	ev := awstest.Fixture[events.DynamoDBEvent](t, "record-stream-event.json")
	resp, err := awsboot.NewStreamHandler(app.New(st), app.WorkForms, quiet)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.BatchItemFailures; len(got) != 1 || got[0].ItemIdentifier != ev.Records[0].Change.SequenceNumber {
		t.Fatalf("BatchItemFailures=%+v, want the first record", got)
	}
}

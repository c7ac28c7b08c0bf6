// Package noticefn runs deliver-notices, apart from shared/awsboot so that no other function links
// the SQS client.
package noticefn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/awsboot"
)

// DeliverNotices is the deliver-notices function: the notice outbox (the table's DOC#due items)
// reaches it from the table's stream through an EventBridge Pipe and the NoticeQueue (SQS, with
// a dead-letter queue); each message is one change of one outbox entry. A message that arrives
// before its entry is due is kept: its visibility is set to the time left (at most SQS's 12 h)
// and it is reported as a batch item failure, so it comes back when due. A due one gets its
// attempt (app.Service.Deliver records it and moves or removes the entry; a moved entry comes
// back through the stream as a new message). What keeps failing to be handled goes to the
// dead-letter queue. NOTICE_QUEUE_URL names the queue.
func DeliverNotices() { awsboot.Start("deliver-notices", buildNotices) }

// visibility changes when a received message becomes visible again.
type visibility func(ctx context.Context, receiptHandle string, seconds int32) error

func buildNotices(_ context.Context, e *awsboot.Env) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	queue := os.Getenv("NOTICE_QUEUE_URL")
	if queue == "" {
		return nil, fmt.Errorf("NOTICE_QUEUE_URL is not set")
	}
	client := sqs.NewFromConfig(e.AWS)
	vis := func(ctx context.Context, receipt string, seconds int32) error {
		_, err := client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(queue), ReceiptHandle: aws.String(receipt), VisibilityTimeout: seconds})
		return err
	}
	return noticeHandler(e.Svc, app.NewSender(nil), vis, e.Log), nil
}

// maxVisibility is SQS's longest visibility timeout.
const maxVisibility = 12 * time.Hour

// outboxKey reads the outbox key from a message: the stream record as the Pipe forwards it.
func outboxKey(body string) (string, error) {
	var rec struct {
		EventName string `json:"eventName"`
		DynamoDB  struct {
			Keys map[string]map[string]string `json:"Keys"`
		} `json:"dynamodb"`
	}
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		return "", fmt.Errorf("the message is not a stream record: %w", err)
	}
	if rec.DynamoDB.Keys["pk"]["S"] != "DOC#due" || rec.DynamoDB.Keys["sk"]["S"] == "" {
		return "", fmt.Errorf("the message is not an outbox entry (keys %v)", rec.DynamoDB.Keys)
	}
	return rec.DynamoDB.Keys["sk"]["S"], nil
}

func noticeHandler(svc *app.Service, snd app.Sender, vis visibility, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		keep := func(m events.SQSMessage) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
		for _, m := range ev.Records {
			k, err := outboxKey(m.Body)
			if err != nil {
				log.Error("notice message dropped", "message_id", m.MessageId, "err", err.Error())
				continue // a poison message: retrying it cannot help
			}
			at, queued, err := svc.DueAt(ctx, k)
			if err != nil {
				log.Error("notice outbox read failed", "delivery", k, "err", err.Error())
				keep(m)
				continue
			}
			now := time.Now
			if svc.Now != nil {
				now = svc.Now
			}
			if wait := at.Sub(now()); queued && wait > 0 {
				// Early (SQS delivers at once; the schedule's next attempt is later): hide the
				// message until the entry is due, and keep it.
				secs := int32(min(wait, maxVisibility).Seconds()) + 1
				if err := vis(ctx, m.ReceiptHandle, secs); err != nil {
					log.Error("notice visibility", "delivery", k, "err", err.Error())
				}
				keep(m)
				continue
			}
			// Due (or already gone: Deliver then does nothing). The attempt moves the entry to
			// its next due time, and that change comes back as a message of its own, so this
			// one is done unless the attempt could not be recorded.
			if _, err := svc.Deliver(ctx, snd, k, false); err != nil {
				log.Error("notice delivery failed", "delivery", k, "err", err.Error())
				keep(m)
			}
		}
		return resp, nil
	}
}

package dynamo

// Test-only: building Lambda stream records from changes (what DynamoDB does in AWS) lets the
// tests round-trip ChangeFromEventRecord without a deployed stream.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Region and account in the stream ARN of records built by EventRecordFromChange: DynamoDB
// Local's own.
const (
	localRegion  = "ddblocal"
	localAccount = "000000000000"
	streamLabel  = "1970-01-01T00:00:00.000"
)

// EventRecordFromChange builds the stream record that DynamoDB would deliver to a Lambda for c
// on table: eventName INSERT/MODIFY, eventSource aws:dynamodb, Keys, NewImage (and OldImage for
// MODIFY) in the item format the Store writes, c.Seq as SequenceNumber, NEW_AND_OLD_IMAGES and
// c.At as ApproximateCreationDateTime. ChangeFromEventRecord turns it back into c.
func EventRecordFromChange(c training.Change, table string) (events.DynamoDBEventRecord, error) {
	if c.New == nil || (c.Kind == training.ChangeModify && c.Old == nil) ||
		(c.Kind != training.ChangeInsert && c.Kind != training.ChangeModify) {
		return events.DynamoDBEventRecord{}, fmt.Errorf("dynamo: change %s: %q needs New (and Old for MODIFY)", c.Seq, c.Kind)
	}
	newItem, err := marshalRecord(*c.New)
	if err != nil {
		return events.DynamoDBEventRecord{}, err
	}
	sr := events.DynamoDBStreamRecord{
		ApproximateCreationDateTime: events.SecondsEpochTime{Time: c.At},
		SequenceNumber:              c.Seq,
		StreamViewType:              string(events.DynamoDBStreamViewTypeNewAndOldImages),
	}
	if sr.Keys, err = ToEventAttributes(key(cadrePK(c.New.CadreID), recordSK(c.New.ID))); err != nil {
		return events.DynamoDBEventRecord{}, err
	}
	if sr.NewImage, err = ToEventAttributes(newItem); err != nil {
		return events.DynamoDBEventRecord{}, err
	}
	sr.SizeBytes = itemSize(key(cadrePK(c.New.CadreID), recordSK(c.New.ID))) + itemSize(newItem)
	if c.Kind == training.ChangeModify {
		oldItem, err := marshalRecord(*c.Old)
		if err != nil {
			return events.DynamoDBEventRecord{}, err
		}
		if sr.OldImage, err = ToEventAttributes(oldItem); err != nil {
			return events.DynamoDBEventRecord{}, err
		}
		sr.SizeBytes += itemSize(oldItem)
	}
	id := sha256.Sum256([]byte(table + "\x00" + c.Seq))
	return events.DynamoDBEventRecord{
		AWSRegion:      localRegion,
		Change:         sr,
		EventID:        hex.EncodeToString(id[:16]),
		EventName:      string(c.Kind),
		EventSource:    "aws:dynamodb",
		EventVersion:   "1.1",
		EventSourceArn: fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s/stream/%s", localRegion, localAccount, table, streamLabel),
	}, nil
}

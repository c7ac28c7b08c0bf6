package dynamo

// Test-only: building Lambda stream records from changes (what DynamoDB does in AWS) lets the
// tests round-trip ChangeFromEventRecord without a deployed stream.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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

// SDK attribute values as a Lambda event image, and the approximate item size DynamoDB reports
// (SizeBytes): what the stream does in AWS, for the records built above.

// ToEventAttributes converts SDK attribute values to a Lambda event image.
func ToEventAttributes(m map[string]types.AttributeValue) (map[string]events.DynamoDBAttributeValue, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		ev, err := ToEventAttribute(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		out[k] = ev
	}
	return out, nil
}

// ToEventAttribute converts one SDK attribute value to an events.DynamoDBAttributeValue.
func ToEventAttribute(v types.AttributeValue) (events.DynamoDBAttributeValue, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value), nil
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value), nil
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value), nil
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value), nil
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute(), nil
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value), nil
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value), nil
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value), nil
	case *types.AttributeValueMemberL:
		out := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			ev, err := ToEventAttribute(e)
			if err != nil {
				return events.DynamoDBAttributeValue{}, fmt.Errorf("list element %d: %w", i, err)
			}
			out[i] = ev
		}
		return events.NewListAttribute(out), nil
	case *types.AttributeValueMemberM:
		m, err := ToEventAttributes(v.Value)
		if err != nil {
			return events.DynamoDBAttributeValue{}, err
		}
		if m == nil {
			m = map[string]events.DynamoDBAttributeValue{}
		}
		return events.NewMapAttribute(m), nil
	}
	return events.DynamoDBAttributeValue{}, fmt.Errorf("unsupported attribute value %T", v)
}

// itemSize approximates DynamoDB's item size: attribute names plus value sizes.
func itemSize(m map[string]types.AttributeValue) int64 {
	var n int64
	for k, v := range m {
		n += int64(len(k)) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int64 {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return int64(len(v.Value))
	case *types.AttributeValueMemberN:
		return int64(len(v.Value)+1)/2 + 1
	case *types.AttributeValueMemberB:
		return int64(len(v.Value))
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		var n int64
		for _, s := range v.Value {
			n += int64(len(s))
		}
		return n
	case *types.AttributeValueMemberNS:
		var n int64
		for _, s := range v.Value {
			n += int64(len(s)+1)/2 + 1
		}
		return n
	case *types.AttributeValueMemberBS:
		var n int64
		for _, b := range v.Value {
			n += int64(len(b))
		}
		return n
	case *types.AttributeValueMemberL:
		n := int64(3 + len(v.Value))
		for _, e := range v.Value {
			n += valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + int64(len(v.Value)) + itemSize(v.Value)
	}
	return 0
}

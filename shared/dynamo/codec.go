package dynamo

import (
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cadre-training/cadretrain/shared/training"
)

// FromEventAttributes converts a Lambda event image (events.DynamoDBAttributeValue) to SDK
// attribute values.
func FromEventAttributes(m map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		av, err := FromEventAttribute(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

// FromEventAttribute converts one events.DynamoDBAttributeValue to an SDK attribute value.
func FromEventAttribute(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		l := v.List()
		out := make([]types.AttributeValue, len(l))
		for i, e := range l {
			av, err := FromEventAttribute(e)
			if err != nil {
				return nil, fmt.Errorf("list element %d: %w", i, err)
			}
			out[i] = av
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeMap:
		m, err := FromEventAttributes(v.Map())
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = map[string]types.AttributeValue{}
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unsupported event attribute type %d", v.DataType())
}

// ChangeFromImages makes the Change of a stream record, or reports false when the item is not
// a training record (cadre, snapshot, form entry, record key) or the event is not INSERT/MODIFY.
func ChangeFromImages(eventName, seq string, at time.Time, oldImg, newImg map[string]types.AttributeValue) (training.Change, bool, error) {
	var kind training.ChangeKind
	switch eventName {
	case string(training.ChangeInsert):
		kind = training.ChangeInsert
	case string(training.ChangeModify):
		kind = training.ChangeModify
	default:
		return training.Change{}, false, nil
	}
	img := newImg
	if img == nil {
		img = oldImg
	}
	if itemType(img) != typeRecord {
		return training.Change{}, false, nil
	}
	c := training.Change{Seq: seq, Kind: kind, At: at}
	if newImg != nil {
		r, err := unmarshalRecord(newImg)
		if err != nil {
			return training.Change{}, false, fmt.Errorf("dynamo: stream record %s new image: %w", seq, err)
		}
		c.New = &r
		c.CadreID, c.RecordID = r.CadreID, r.ID
	}
	if oldImg != nil && kind == training.ChangeModify {
		r, err := unmarshalRecord(oldImg)
		if err != nil {
			return training.Change{}, false, fmt.Errorf("dynamo: stream record %s old image: %w", seq, err)
		}
		c.Old = &r
		if c.New == nil {
			c.CadreID, c.RecordID = r.CadreID, r.ID
		}
	}
	if kind == training.ChangeInsert && c.New == nil || kind == training.ChangeModify && (c.New == nil || c.Old == nil) {
		return training.Change{}, false, fmt.Errorf("dynamo: stream record %s: %s without the images of NEW_AND_OLD_IMAGES", seq, kind)
	}
	return c, true, nil
}

// ChangeFromEventRecord converts a record of a Lambda DynamoDB stream event to a Change; false
// when the item is not a training record (or the event is a REMOVE, which the store never makes).
func ChangeFromEventRecord(r events.DynamoDBEventRecord) (training.Change, bool, error) {
	oldImg, err := FromEventAttributes(r.Change.OldImage)
	if err != nil {
		return training.Change{}, false, fmt.Errorf("dynamo: event %s old image: %w", r.EventID, err)
	}
	newImg, err := FromEventAttributes(r.Change.NewImage)
	if err != nil {
		return training.Change{}, false, fmt.Errorf("dynamo: event %s new image: %w", r.EventID, err)
	}
	return ChangeFromImages(r.EventName, r.Change.SequenceNumber, r.Change.ApproximateCreationDateTime.Time, oldImg, newImg)
}

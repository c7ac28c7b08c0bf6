package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cadre-training/cadretrain/shared/training"
)

// SupersedeRecord writes r's key item and record item (each on attribute_not_exists(pk)) and,
// when the old record is still active, its voiding (on status = active) in one
// TransactWriteItems; see training.RecordStore. Unlike CreateRecord's two puts, replacing must be
// all or nothing: a new record counted beside the old one is the double count it is there to
// prevent. A canceled transaction is decided by reading: r's key exists → CreateRecord decides
// (Duplicate, Conflict, or it completes a create that stopped between its two puts, and the old
// record is then voided on its own); the old record was voided meanwhile → try again without
// voiding it.
func (s *Store) SupersedeRecord(ctx context.Context, r training.Record, oldID string, v training.Voiding) (training.Record, training.CreateOutcome, error) {
	if r.ID == "" || r.ContentHash == "" {
		r.Seal()
	}
	if oldID == r.ID {
		return training.Record{}, "", training.Errorf(training.EINVALID, "a record cannot supersede itself")
	}
	if r.Status == "" {
		r.Status = training.StatusActive
	}
	recItem, err := marshalRecord(r)
	if err != nil {
		return training.Record{}, "", err
	}
	keyItem, err := attributevalue.MarshalMap(recordKeyItem{
		PK: recordKeyPK(r.ID), SK: skRecordKey, Type: typeRecordKey, ID: r.ID, CadreID: r.CadreID,
		Source: r.Source, ExternalID: r.ExternalID, ContentHash: r.ContentHash,
	})
	if err != nil {
		return training.Record{}, "", fmt.Errorf("dynamo: marshal record key %q: %w", r.ID, err)
	}
	vi, err := attributevalue.Marshal(toVoidItem(&v))
	if err != nil {
		return training.Record{}, "", fmt.Errorf("dynamo: marshal voiding: %w", err)
	}
	voidExpr, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("status"), expression.Value(string(training.StatusVoided))).
			Set(expression.Name("void"), expression.Value(vi))).
		WithCondition(expression.Name("status").Equal(expression.Value(string(training.StatusActive)))).
		Build()
	if err != nil {
		return training.Record{}, "", fmt.Errorf("dynamo: build void update: %w", err)
	}
	notExists := aws.String("attribute_not_exists(pk)")
	for attempt := 0; ; attempt++ {
		if existing, gerr := s.GetRecord(ctx, r.ID); gerr == nil {
			if existing.ContentHash == r.ContentHash {
				return existing, training.Duplicate, nil
			}
			return existing, training.Conflict, nil
		} else if training.ErrorCode(gerr) != training.ENOTFOUND {
			return training.Record{}, "", gerr
		}
		old, err := s.GetRecord(ctx, oldID)
		if training.ErrorCode(err) == training.ENOTFOUND || err == nil && old.CadreID != r.CadreID {
			return training.Record{}, "", training.Errorf(training.ENOTFOUND, "record %s of cadre %s not found", oldID, r.CadreID)
		}
		if err != nil {
			return training.Record{}, "", err
		}
		items := []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(s.table), Item: keyItem, ConditionExpression: notExists}},
			{Put: &types.Put{TableName: aws.String(s.table), Item: recItem, ConditionExpression: notExists}},
		}
		if old.Status != training.StatusVoided {
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName:                 aws.String(s.table),
				Key:                       key(cadrePK(old.CadreID), recordSK(oldID)),
				UpdateExpression:          voidExpr.Update(),
				ConditionExpression:       voidExpr.Condition(),
				ExpressionAttributeNames:  voidExpr.Names(),
				ExpressionAttributeValues: voidExpr.Values(),
			}})
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return r, training.Created, nil
		}
		codes, canceled := txCanceled(err)
		if !canceled {
			return training.Record{}, "", fmt.Errorf("dynamo: create record %q superseding %q: %w", r.ID, oldID, err)
		}
		if k, kerr := s.getItem(ctx, fmt.Sprintf("record %q key", r.ID), recordKeyPK(r.ID), skRecordKey); kerr != nil {
			return training.Record{}, "", kerr
		} else if k != nil {
			rec, outcome, err := s.CreateRecord(ctx, r)
			if err == nil && outcome == training.Created {
				_, _, err = s.VoidRecord(ctx, oldID, v)
			}
			return rec, outcome, err
		}
		if attempt >= 8 {
			return training.Record{}, "", fmt.Errorf("dynamo: create record %q superseding %q: still canceled (%v) after %d attempts: %w", r.ID, oldID, codes, attempt+1, err)
		}
		if err := sleepBackoff(ctx, attempt); err != nil {
			return training.Record{}, "", fmt.Errorf("dynamo: create record %q: %w", r.ID, err)
		}
	}
}

// txCanceled reports whether err is a TransactionCanceledException, and its reason codes.
func txCanceled(err error) ([]string, bool) {
	var e *types.TransactionCanceledException
	if !errors.As(err, &e) {
		return nil, false
	}
	codes := make([]string, len(e.CancellationReasons))
	for i, r := range e.CancellationReasons {
		codes[i] = aws.ToString(r.Code)
	}
	return codes, true
}

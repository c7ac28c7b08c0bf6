package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Documents (training.DocStore) live in one partition per kind: pk DOC#<kind>, sk the id, so a
// kind is listed by one Query in id order and the stream consumers' filters (pk CADRE#, sk REC#)
// never see them. The body is kept as the JSON string it is.
const (
	typeDoc   = "doc"
	docPrefix = "DOC#"
)

type docItem struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Type    string `dynamodbav:"type"`
	Body    string `dynamodbav:"body"`
	Version int64  `dynamodbav:"version"`
}

func docPK(kind string) string { return docPrefix + kind }

func (it docItem) doc() training.Doc {
	return training.Doc{Kind: it.PK[len(docPrefix):], ID: it.SK, Body: []byte(it.Body), Version: it.Version}
}

// GetDoc returns the document, or ENOTFOUND.
func (s *Store) GetDoc(ctx context.Context, kind, id string) (training.Doc, error) {
	if err := training.CheckDocKey(kind, id); err != nil {
		return training.Doc{}, err
	}
	item, err := s.getItem(ctx, kind+" "+id, docPK(kind), id)
	if err != nil {
		return training.Doc{}, err
	}
	if item == nil {
		return training.Doc{}, training.Errorf(training.ENOTFOUND, "%s %s not found", kind, id)
	}
	var it docItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return training.Doc{}, fmt.Errorf("dynamo: unmarshal %s %s: %w", kind, id, err)
	}
	return it.doc(), nil
}

// PutDoc puts the document on condition that it is absent (expectVersion 0) or at expectVersion.
func (s *Store) PutDoc(ctx context.Context, d training.Doc, expectVersion int64) (training.Doc, error) {
	if err := training.CheckDocKey(d.Kind, d.ID); err != nil {
		return training.Doc{}, err
	}
	d.Version = expectVersion + 1
	item, err := attributevalue.MarshalMap(docItem{PK: docPK(d.Kind), SK: d.ID, Type: typeDoc, Body: string(d.Body), Version: d.Version})
	if err != nil {
		return training.Doc{}, fmt.Errorf("dynamo: marshal %s %s: %w", d.Kind, d.ID, err)
	}
	cond := expression.AttributeNotExists(expression.Name(attrPK))
	if expectVersion != 0 {
		cond = expression.Name("version").Equal(expression.Value(expectVersion))
	}
	stored, err := s.putIf(ctx, d.Kind+" "+d.ID, item, cond)
	if err != nil {
		return training.Doc{}, err
	}
	if !stored {
		return training.Doc{}, training.Errorf(training.ECONFLICT, "%s %s is not at version %d", d.Kind, d.ID, expectVersion)
	}
	return d, nil
}

// DeleteDoc deletes the document on condition that it is absent or at expectVersion.
func (s *Store) DeleteDoc(ctx context.Context, kind, id string, expectVersion int64) error {
	if err := training.CheckDocKey(kind, id); err != nil {
		return err
	}
	cond := expression.AttributeNotExists(expression.Name(attrPK)).
		Or(expression.Name("version").Equal(expression.Value(expectVersion)))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("dynamo: build the condition for deleting %s %s: %w", kind, id, err)
	}
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(docPK(kind), id),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if isCondFailed(err) {
		return training.Errorf(training.ECONFLICT, "%s %s is not at version %d", kind, id, expectVersion)
	}
	if err != nil {
		return fmt.Errorf("dynamo: delete %s %s: %w", kind, id, err)
	}
	return nil
}

type docCursor struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
}

// ListDocs queries the kind's partition for ids beginning with idPrefix (strongly consistent),
// reading one item past the page so the last page returns cursor "".
func (s *Store) ListDocs(ctx context.Context, kind, idPrefix, cursor string, limit int) ([]training.Doc, string, error) {
	if err := training.CheckDocKey(kind, "x"); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = 100
	}
	kc := expression.Key(attrPK).Equal(expression.Value(docPK(kind)))
	if idPrefix != "" {
		kc = kc.And(expression.Key(attrSK).BeginsWith(idPrefix))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, "", fmt.Errorf("dynamo: build the query of %s documents: %w", kind, err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(int32(limit + 1)),
	}
	if cursor != "" {
		var c docCursor
		if err := DecodeCursor(cursor, &c); err != nil {
			return nil, "", err
		}
		if c.PK != docPK(kind) {
			return nil, "", training.Errorf(training.EINVALID, "the cursor is not one this service returned")
		}
		in.ExclusiveStartKey = key(c.PK, c.SK)
	}
	var out []training.Doc
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("dynamo: query %s documents: %w", kind, err)
		}
		for _, item := range page.Items {
			var it docItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, "", fmt.Errorf("dynamo: unmarshal a %s document: %w", kind, err)
			}
			if len(out) == limit {
				last := out[len(out)-1]
				return out, EncodeCursor(docCursor{PK: docPK(kind), SK: last.ID}), nil
			}
			out = append(out, it.doc())
		}
		if page.LastEvaluatedKey == nil {
			return out, "", nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
		in.Limit = aws.Int32(int32(limit + 1 - len(out)))
	}
}

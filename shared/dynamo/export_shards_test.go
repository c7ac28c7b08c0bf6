package dynamo

import (
	"context"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Test-only: the index partition of a cadre item, and cadre items as a table written before the
// unit index was sharded holds them.

// IndexPartition returns the gsi1pk of the cadre's item.
func (s *Store) IndexPartition(ctx context.Context, id string) (string, error) {
	item, err := s.getItem(ctx, "cadre", cadrePK(id), skProfile)
	if err != nil || item == nil {
		return "", fmt.Errorf("cadre %s: item %v, err %v", id, item, err)
	}
	var it cadreItem
	err = attributevalue.UnmarshalMap(item, &it)
	return it.GSI1PK, err
}

// PutLegacyCadre writes the cadre (version 1) with gsi1pk "CADRES", the one index partition
// every cadre had before sharding.
func (s *Store) PutLegacyCadre(ctx context.Context, c training.Cadre) error {
	c.Version = 1
	it := toCadreItem(c)
	it.GSI1PK = gsi1PKCadres
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	return err
}

// PutLegacyFacts writes f as builds before gsi2 did: the facts item without gsi2 keys, and its
// listing copy under FACTS#<year>#<n> (the counters are not moved).
func (s *Store) PutLegacyFacts(ctx context.Context, f training.Facts) error {
	item, err := factsItemOf(f)
	if err != nil {
		return err
	}
	gpk, gsk := item[attrGSI2PK], item[attrGSI2SK]
	delete(item, attrGSI2PK)
	delete(item, attrGSI2SK)
	listing := maps.Clone(item)
	listing[attrPK], listing[attrSK], listing[attrType] = gpk, gsk, &types.AttributeValueMemberS{Value: typeFactsListing}
	for _, it := range []map[string]types.AttributeValue{item, listing} {
		if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
			return err
		}
	}
	return nil
}

// SetFactsIndexKeys overwrites the gsi2 keys of a cadre's facts item of the year, as a lagging
// index would still show them: the facts say one place, the index another.
func (s *Store) SetFactsIndexKeys(ctx context.Context, cadreID string, year int, unit string, makeup bool) error {
	prefix := factsPKPrefix
	if makeup {
		prefix = makeupPKPrefix
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(cadrePK(cadreID), factsSK(year)),
		UpdateExpression: aws.String("SET gsi2pk = :pk, gsi2sk = :sk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: listingPK(prefix, year, cadreShard(cadreID))},
			":sk": &types.AttributeValueMemberS{Value: cadreGSI1SK(unit, cadreID)},
		}})
	return err
}

package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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

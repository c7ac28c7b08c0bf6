package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableInput is the one definition of the table: string keys pk/sk, the unit index gsi1
// (gsi1pk/gsi1sk, all attributes projected), the facts index gsi2 (gsi2pk/gsi2sk, keys only),
// on-demand billing and a NEW_AND_OLD_IMAGES stream.
// docs/dynamodb.md carries the same table as CloudFormation; keep the two in step.
func TableInput(name string) *dynamodb.CreateTableInput {
	s := types.ScalarAttributeTypeS
	return &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: s},
			{AttributeName: aws.String(attrSK), AttributeType: s},
			{AttributeName: aws.String(attrGSI1PK), AttributeType: s},
			{AttributeName: aws.String(attrGSI1SK), AttributeType: s},
			{AttributeName: aws.String(attrGSI2PK), AttributeType: s},
			{AttributeName: aws.String(attrGSI2SK), AttributeType: s},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(indexGSI1),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrGSI1PK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrGSI1SK), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}, factsIndexInput()},
		BillingMode: types.BillingModePayPerRequest,
		StreamSpecification: &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewTypeNewAndOldImages,
		},
	}
}

// factsIndexInput is gsi2, the year's report facts by unit: keys only, so that a facts item
// rewritten in place (same unit, same 补训 state) costs the index no write (docs/dynamodb.md
// “Unit reports”).
func factsIndexInput() types.GlobalSecondaryIndex {
	return types.GlobalSecondaryIndex{
		IndexName: aws.String(indexGSI2),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrGSI2PK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrGSI2SK), KeyType: types.KeyTypeRange},
		},
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
	}
}

// CreateTable creates the table and waits until it is active. It fails if the table exists.
func CreateTable(ctx context.Context, client *dynamodb.Client, name string) error {
	if _, err := client.CreateTable(ctx, TableInput(name)); err != nil {
		return fmt.Errorf("dynamo: create table %q: %w", name, err)
	}
	return waitActive(ctx, client, name)
}

// EnsureTable creates the table unless it already exists, adds the facts index gsi2 to a table
// created before it (then BackfillFactsIndex fills it, docs/dynamodb.md “Migration”), and waits
// until table and indexes are active. For the local server against DynamoDB Local; in AWS the
// template creates the table.
func EnsureTable(ctx context.Context, client *dynamodb.Client, name string) error {
	_, err := client.CreateTable(ctx, TableInput(name))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("dynamo: create table %q: %w", name, err)
	}
	if err := waitActive(ctx, client, name); err != nil {
		return err
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("dynamo: describe table %q: %w", name, err)
	}
	for _, ix := range out.Table.GlobalSecondaryIndexes {
		if aws.ToString(ix.IndexName) == indexGSI2 {
			return waitIndex(ctx, client, name)
		}
	}
	s, gsi := types.ScalarAttributeTypeS, factsIndexInput()
	_, err = client.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrGSI2PK), AttributeType: s},
			{AttributeName: aws.String(attrGSI2SK), AttributeType: s},
		},
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
			IndexName: gsi.IndexName, KeySchema: gsi.KeySchema, Projection: gsi.Projection,
		}}},
	})
	if err != nil {
		return fmt.Errorf("dynamo: add index %s to table %q: %w", indexGSI2, name, err)
	}
	return waitIndex(ctx, client, name)
}

// waitIndex waits until gsi2 is active (it is built after an UpdateTable adds it).
func waitIndex(ctx context.Context, client *dynamodb.Client, name string) error {
	deadline := time.Now().Add(5 * time.Minute)
	for delay := 200 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("dynamo: describe table %q: %w", name, err)
		}
		for _, ix := range out.Table.GlobalSecondaryIndexes {
			if aws.ToString(ix.IndexName) == indexGSI2 && ix.IndexStatus == types.IndexStatusActive {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dynamo: index %s of %q not active after 5 minutes", indexGSI2, name)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamo: wait for index %s of %q: %w", indexGSI2, name, ctx.Err())
		case <-time.After(delay):
		}
	}
}

func waitActive(ctx context.Context, client *dynamodb.Client, name string) error {
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, 5*time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 5*time.Minute); err != nil {
		return fmt.Errorf("dynamo: wait for table %q: %w", name, err)
	}
	return nil
}

// DeleteTable deletes the table; a table that does not exist is not an error.
func DeleteTable(ctx context.Context, client *dynamodb.Client, name string) error {
	_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	var nf *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("dynamo: delete table %q: %w", name, err)
	}
	return nil
}

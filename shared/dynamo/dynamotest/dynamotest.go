// Package dynamotest gives tests DynamoDB Local and tables of their own on it. The endpoint is
// DYNAMODB_ENDPOINT, which `scripts/dynamodb-local.sh run -- CMD` sets; without it a test is
// skipped, or fails when CADRE_REQUIRE_DYNAMODB=1 (make test sets it, so nothing is skipped there).
package dynamotest

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/dynamo/streamfeed"
)

// Endpoint returns DynamoDB Local's endpoint, or skips (fails) the test without one.
func Endpoint(tb testing.TB) string {
	tb.Helper()
	endpoint := os.Getenv("DYNAMODB_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("CADRE_REQUIRE_DYNAMODB") == "1" {
			tb.Fatal("CADRE_REQUIRE_DYNAMODB=1 but DYNAMODB_ENDPOINT is not set: run under scripts/dynamodb-local.sh run -- ...")
		}
		tb.Skip("DYNAMODB_ENDPOINT not set: run under scripts/dynamodb-local.sh run -- go test ...")
	}
	return endpoint
}

// Clients returns clients for DynamoDB Local (streamfeed.LocalClients), as Endpoint decides.
func Clients(tb testing.TB) (*dynamodb.Client, *dynamodbstreams.Client) {
	tb.Helper()
	return streamfeed.LocalClients(Endpoint(tb))
}

var tableSeq atomic.Int64

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// Table creates a table named after the test, unique, from def (nil: dynamo.TableInput), and
// deletes it when the test ends.
func Table(tb testing.TB, db *dynamodb.Client, def func(name string) *dynamodb.CreateTableInput) string {
	tb.Helper()
	if def == nil {
		def = dynamo.TableInput
	}
	name := unsafeName.ReplaceAllString(tb.Name(), "-")
	if len(name) > 150 {
		name = name[len(name)-150:]
	}
	name = fmt.Sprintf("cadretrain-test-%d-%d-%s", time.Now().UnixNano(), tableSeq.Add(1), name)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := db.CreateTable(ctx, def(name)); err != nil {
		tb.Fatalf("create table %s: %v", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &name}, time.Minute); err != nil {
		tb.Fatalf("table %s not active: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dynamo.DeleteTable(ctx, db, name); err != nil {
			tb.Errorf("cleanup: %v", err)
		}
	})
	return name
}

// Store is the DynamoDB store, with its stream as the change feed, on a new table of the test's.
func Store(tb testing.TB) *dynamo.Store {
	tb.Helper()
	db, streams := Clients(tb)
	return streamfeed.NewStore(db, streams, Table(tb, db, nil))
}

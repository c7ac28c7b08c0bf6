package dynamo_test

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
	"github.com/cadre-training/cadretrain/shared/storetest"
	"github.com/cadre-training/cadretrain/shared/training"
)

// MustLocal returns clients for DynamoDB Local at $DYNAMODB_ENDPOINT (scripts/dynamodb-local.sh
// run sets it). Without it the test is skipped, or fails when CADRE_REQUIRE_DYNAMODB=1.
func MustLocal(tb testing.TB) (*dynamodb.Client, *dynamodbstreams.Client) {
	tb.Helper()
	endpoint := os.Getenv("DYNAMODB_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("CADRE_REQUIRE_DYNAMODB") == "1" {
			tb.Fatal("CADRE_REQUIRE_DYNAMODB=1 but DYNAMODB_ENDPOINT is not set: run under scripts/dynamodb-local.sh run -- ...")
		}
		tb.Skip("DYNAMODB_ENDPOINT not set: run under scripts/dynamodb-local.sh run -- go test ...")
	}
	return streamfeed.LocalClients(endpoint)
}

var tableSeq atomic.Int64

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// MustStore creates a uniquely named table for the test and deletes it when the test ends.
func MustStore(tb testing.TB) *dynamo.Store {
	tb.Helper()
	db, streams := MustLocal(tb)
	name := unsafeName.ReplaceAllString(tb.Name(), "-")
	if len(name) > 150 {
		name = name[len(name)-150:]
	}
	name = fmt.Sprintf("cadretrain-test-%d-%d-%s", time.Now().UnixNano(), tableSeq.Add(1), name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, db, name); err != nil {
		tb.Fatal(err)
	}
	s := streamfeed.NewStore(db, streams, name)
	tb.Cleanup(func() {
		s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dynamo.DeleteTable(ctx, db, name); err != nil {
			tb.Errorf("cleanup: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	MustLocal(t) // skip (or fail) once rather than in every subtest
	storetest.Run(t, func(t *testing.T) training.Store { return MustStore(t) })
}

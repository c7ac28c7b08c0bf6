package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/cadre-training/cadretrain/shared/dynamo"
)

// meter counts the DynamoDB requests a client makes, per operation, and the capacity units
// DynamoDB reports for them: an SDK middleware sets ReturnConsumedCapacity TOTAL on every call
// and reads ConsumedCapacity from every answer. A call whose condition fails answers with an
// error and no capacity; DynamoDB still charges the write, so those are counted apart.
type meter struct {
	mu  sync.Mutex
	ops map[string]*opCount
	err error // an operation the meter does not know how to read: the test fails
}

type opCount struct {
	Requests      int
	CondFailed    int
	ReadUnits     float64
	WriteUnits    float64
	TxItems       int // items in TransactWriteItems / TransactGetItems calls
	UnmeteredCall int // answers that carried no ConsumedCapacity (other than condition failures)
}

func newMeter() *meter { return &meter{ops: map[string]*opCount{}} }

func (m *meter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ops = map[string]*opCount{}
}

// snapshot returns a copy of the counts.
func (m *meter) snapshot() map[string]opCount {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]opCount, len(m.ops))
	for k, v := range m.ops {
		out[k] = *v
	}
	return out
}

func (m *meter) total() (requests int, readUnits, writeUnits float64, condFailed int) {
	for _, c := range m.snapshot() {
		requests += c.Requests
		readUnits += c.ReadUnits
		writeUnits += c.WriteUnits
		condFailed += c.CondFailed
	}
	return
}

// add installs the meter on a client's middleware stack (dynamodb.Options.APIOptions).
func (m *meter) add(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CostMeter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			tx := askCapacity(in.Parameters)
			out, md, err := next.HandleInitialize(ctx, in)
			m.record(awsmiddleware.GetOperationName(ctx), tx, out.Result, err)
			return out, md, err
		}), middleware.After)
}

// askCapacity sets ReturnConsumedCapacity TOTAL on the input and returns the number of items of a
// transaction (0 otherwise).
func askCapacity(params any) int {
	total := types.ReturnConsumedCapacityTotal
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.PutItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.UpdateItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.DeleteItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.QueryInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.ScanInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.BatchGetItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.BatchWriteItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.TransactWriteItemsInput:
		in.ReturnConsumedCapacity = total
		return len(in.TransactItems)
	case *dynamodb.TransactGetItemsInput:
		in.ReturnConsumedCapacity = total
		return len(in.TransactItems)
	}
	return 0
}

func (m *meter) record(op string, txItems int, result any, callErr error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.ops[op]
	if c == nil {
		c = &opCount{}
		m.ops[op] = c
	}
	c.Requests++
	c.TxItems += txItems
	if callErr != nil {
		var cf *types.ConditionalCheckFailedException
		var tc *types.TransactionCanceledException
		if errors.As(callErr, &cf) || errors.As(callErr, &tc) {
			c.CondFailed++
		}
		return
	}
	var caps []types.ConsumedCapacity
	switch out := result.(type) {
	case *dynamodb.GetItemOutput:
		caps = one(out.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		caps = one(out.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		caps = one(out.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		caps = one(out.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		caps = one(out.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		caps = one(out.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		caps = out.ConsumedCapacity
	case *dynamodb.BatchWriteItemOutput:
		caps = out.ConsumedCapacity
	case *dynamodb.TransactWriteItemsOutput:
		caps = out.ConsumedCapacity
	case *dynamodb.TransactGetItemsOutput:
		caps = out.ConsumedCapacity
	case *dynamodb.DescribeTableOutput, *dynamodb.CreateTableOutput, *dynamodb.DeleteTableOutput:
		return // control plane: not request units
	default:
		if m.err == nil {
			m.err = fmt.Errorf("meter: operation %s (%T) not metered", op, result)
		}
		return
	}
	if len(caps) == 0 {
		c.UnmeteredCall++
		return
	}
	for _, cc := range caps {
		units := aws.ToFloat64(cc.CapacityUnits)
		switch {
		case cc.ReadCapacityUnits != nil || cc.WriteCapacityUnits != nil:
			c.ReadUnits += aws.ToFloat64(cc.ReadCapacityUnits)
			c.WriteUnits += aws.ToFloat64(cc.WriteCapacityUnits)
		case isWrite(op):
			c.WriteUnits += units
		default:
			c.ReadUnits += units
		}
	}
}

func one(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

func isWrite(op string) bool {
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems":
		return true
	}
	return false
}

// meteredStore is a Store on a fresh table whose DynamoDB client carries m. The table is created
// (and deleted afterwards) with an unmetered client. Streams are not metered: a Lambda event
// source mapping reads the stream at no request charge.
func meteredStore(tb testing.TB, m *meter) *dynamo.Store {
	tb.Helper()
	base := MustStore(tb) // creates the table, deletes it at cleanup
	endpoint := os.Getenv("DYNAMODB_ENDPOINT")
	db, streams := dynamo.LocalClients(endpoint)
	metered := dynamodb.New(db.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, m.add)
	})
	return dynamo.New(metered, streams, base.TableName())
}

func (m *meter) String() string {
	snap := m.snapshot()
	ops := make([]string, 0, len(snap))
	for op := range snap {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	for _, op := range ops {
		c := snap[op]
		fmt.Fprintf(&b, "%-20s requests %6d  read units %9.1f  write units %9.1f  failed conditions %4d\n",
			op, c.Requests, c.ReadUnits, c.WriteUnits, c.CondFailed)
	}
	return b.String()
}

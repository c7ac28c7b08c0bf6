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
	"github.com/cadre-training/cadretrain/shared/dynamo/streamfeed"
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
	Requests   int
	CondFailed int
	ReadUnits  float64
	WriteUnits float64
	TxItems    int // items in TransactWriteItems / TransactGetItems calls
	// TxAWSUnits is what AWS charges for the TransactWriteItems calls: 2 write units per item and
	// 1 KB of it (awsTxUnits). DynamoDB Local reports other figures for transactions (4 units for
	// one small item, 4 for two), so the cost is priced on this one.
	TxAWSUnits    float64
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

// total adds up the counts; the write units of transactions are AWS's (TxAWSUnits), not what
// DynamoDB Local reports for them.
func (m *meter) total() (requests int, readUnits, writeUnits float64, condFailed int) {
	for op, c := range m.snapshot() {
		requests += c.Requests
		readUnits += c.ReadUnits
		writeUnits += c.WriteUnits
		if op == "TransactWriteItems" {
			writeUnits += c.TxAWSUnits - c.WriteUnits
		}
		condFailed += c.CondFailed
	}
	return
}

// add installs the meter on a client's middleware stack (dynamodb.Options.APIOptions).
func (m *meter) add(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CostMeter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			tx := askCapacity(in.Parameters)
			var awsUnits float64
			if tw, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok {
				awsUnits = awsTxUnits(tw)
			}
			out, md, err := next.HandleInitialize(ctx, in)
			m.record(awsmiddleware.GetOperationName(ctx), tx, out.Result, err)
			if err == nil && awsUnits > 0 {
				m.mu.Lock()
				m.ops[awsmiddleware.GetOperationName(ctx)].TxAWSUnits += awsUnits
				m.mu.Unlock()
			}
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

// awsTxUnits prices a TransactWriteItems as AWS does: 2 write units per 1 KB (rounded up) of each
// item. A Put's size is its item's (itemSize); a Delete, Update or ConditionCheck is counted as
// 1 KB, which is exact for the items this code deletes and updates while they stay under 1 KB
// (the cost test logs the largest counter item so that this can be checked).
func awsTxUnits(in *dynamodb.TransactWriteItemsInput) float64 {
	units := 0.0
	for _, it := range in.TransactItems {
		kb := 1
		if it.Put != nil {
			kb = (itemSize(it.Put.Item) + 1023) / 1024
		}
		units += 2 * float64(max(kb, 1))
	}
	return units
}

// itemSize is an item's size as DynamoDB counts it: per attribute its name's bytes and its
// value's (strings: UTF-8 bytes; numbers: about one byte per two digits plus one; lists and
// maps: 3 bytes plus 1 per element and their elements).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return (len(v.Value)+1)/2 + 1
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 0
		for _, e := range v.Value {
			n += len(e)
		}
		return n
	}
	return 0
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
	db, streams := streamfeed.LocalClients(endpoint)
	metered := dynamodb.New(db.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, m.add)
	})
	return streamfeed.NewStore(metered, streams, base.TableName())
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
		fmt.Fprintf(&b, "%-20s requests %6d  read units %9.1f  write units %9.1f  failed conditions %4d",
			op, c.Requests, c.ReadUnits, c.WriteUnits, c.CondFailed)
		if c.TxItems > 0 {
			fmt.Fprintf(&b, "  items %d (AWS: %.1f write units)", c.TxItems, c.TxAWSUnits)
		}
		b.WriteString("\n")
	}
	return b.String()
}

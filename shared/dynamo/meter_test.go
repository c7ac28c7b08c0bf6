package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
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
	"github.com/cadre-training/cadretrain/shared/dynamo/dynamotest"
	"github.com/cadre-training/cadretrain/shared/dynamo/streamfeed"
)

// meter counts the DynamoDB requests a client makes, per operation, and the capacity units
// DynamoDB reports for them: an SDK middleware sets ReturnConsumedCapacity TOTAL on every call
// and reads ConsumedCapacity from every answer. A call whose condition fails answers with an
// error and no capacity; DynamoDB still charges the write, so those are counted apart.
type meter struct {
	mu    sync.Mutex
	ops   map[string]*opCount
	err   error       // an operation the meter does not know how to read: the test fails
	index *indexMeter // prices the index writes (DynamoDB Local reports none); nil: not counted
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
	// IndexUnits is what AWS charges the table's GSIs for this operation's writes (indexMeter).
	IndexUnits float64
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
		writeUnits += c.WriteUnits + c.IndexUnits
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
			var keys, before []map[string]types.AttributeValue
			if m.index != nil {
				keys = writtenKeys(in.Parameters)
				before = m.index.read(ctx, keys)
			}
			out, md, err := next.HandleInitialize(ctx, in)
			op := awsmiddleware.GetOperationName(ctx)
			m.record(op, tx, out.Result, err)
			if err == nil && (awsUnits > 0 || len(keys) > 0) {
				var indexUnits float64
				if len(keys) > 0 {
					indexUnits = m.index.units(before, m.index.read(ctx, keys))
				}
				m.mu.Lock()
				m.ops[op].TxAWSUnits += awsUnits
				m.ops[op].IndexUnits += indexUnits
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
// (the cost test checks the largest counter item).
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
	db, streams := dynamotest.Clients(tb)
	table := dynamotest.Table(tb, db, nil)
	m.index = &indexMeter{db: db, table: table, gsis: dynamo.TableInput(table).GlobalSecondaryIndexes}
	metered := dynamodb.New(db.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, m.add)
	})
	return streamfeed.NewStore(metered, streams, table)
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
		if c.IndexUnits > 0 {
			fmt.Fprintf(&b, "  index write units %.1f", c.IndexUnits)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// indexMeter prices what a write costs the table's GSIs, by AWS's rules (Amazon DynamoDB Developer
// Guide, “Global secondary indexes”, provisioned throughput considerations for writes), from the
// item before and after the write (read with an unmetered client around each metered write): an
// item entering or leaving an index is one index write of its entry's size (rounded up to 1 KB);
// a change of its index key is two (delete and put); an item that stays at the same index key
// costs a write only when an attribute the index projects changed (ALL: any attribute; KEYS_ONLY:
// never). DynamoDB Local reports no index capacity, so without this the run would understate a
// design that moves its listings into an index.
type indexMeter struct {
	db    *dynamodb.Client
	table string
	gsis  []types.GlobalSecondaryIndex
}

// writtenKeys are the table keys of the items a write request writes (nil for other requests).
func writtenKeys(params any) []map[string]types.AttributeValue {
	pkOf := func(item map[string]types.AttributeValue) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": item["pk"], "sk": item["sk"]}
	}
	var keys []map[string]types.AttributeValue
	switch in := params.(type) {
	case *dynamodb.PutItemInput:
		keys = append(keys, pkOf(in.Item))
	case *dynamodb.UpdateItemInput:
		keys = append(keys, in.Key)
	case *dynamodb.DeleteItemInput:
		keys = append(keys, in.Key)
	case *dynamodb.BatchWriteItemInput:
		for _, reqs := range in.RequestItems {
			for _, r := range reqs {
				if r.PutRequest != nil {
					keys = append(keys, pkOf(r.PutRequest.Item))
				}
				if r.DeleteRequest != nil {
					keys = append(keys, r.DeleteRequest.Key)
				}
			}
		}
	case *dynamodb.TransactWriteItemsInput:
		for _, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				keys = append(keys, pkOf(it.Put.Item))
			case it.Update != nil:
				keys = append(keys, it.Update.Key)
			case it.Delete != nil:
				keys = append(keys, it.Delete.Key)
			}
		}
	}
	return keys
}

// read returns the items at keys (nil where absent), read strongly consistently.
func (im *indexMeter) read(ctx context.Context, keys []map[string]types.AttributeValue) []map[string]types.AttributeValue {
	out := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		res, err := im.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(im.table), Key: k, ConsistentRead: aws.Bool(true)})
		if err == nil {
			out[i] = res.Item
		}
	}
	return out
}

// units is what the writes that turned before into after (item by item) cost the indexes.
func (im *indexMeter) units(before, after []map[string]types.AttributeValue) float64 {
	total := 0.0
	for i := range before {
		for _, g := range im.gsis {
			total += indexWriteUnits(g, before[i], after[i])
		}
	}
	return total
}

func indexWriteUnits(g types.GlobalSecondaryIndex, before, after map[string]types.AttributeValue) float64 {
	var keyAttrs []string
	for _, k := range g.KeySchema {
		keyAttrs = append(keyAttrs, aws.ToString(k.AttributeName))
	}
	indexed := func(item map[string]types.AttributeValue) bool {
		for _, a := range keyAttrs {
			if item == nil || item[a] == nil {
				return false
			}
		}
		return true
	}
	// entry is what the index holds of an item: the table and index keys, and what it projects.
	entry := func(item map[string]types.AttributeValue) map[string]types.AttributeValue {
		if g.Projection.ProjectionType == types.ProjectionTypeAll {
			return item
		}
		e := map[string]types.AttributeValue{"pk": item["pk"], "sk": item["sk"]}
		for _, a := range append(keyAttrs, g.Projection.NonKeyAttributes...) {
			if v, ok := item[a]; ok {
				e[a] = v
			}
		}
		return e
	}
	kb := func(item map[string]types.AttributeValue) float64 {
		return float64(max(1, (itemSize(entry(item))+1023)/1024))
	}
	inBefore, inAfter := indexed(before), indexed(after)
	switch {
	case inBefore && inAfter:
		for _, a := range keyAttrs {
			if !reflect.DeepEqual(before[a], after[a]) {
				return kb(before) + kb(after) // delete the old entry, put the new
			}
		}
		if reflect.DeepEqual(entry(before), entry(after)) {
			return 0
		}
		return kb(after)
	case inBefore:
		return kb(before)
	case inAfter:
		return kb(after)
	}
	return 0
}

// The index meter's rules, one case each (the cost figures rest on them).
func TestIndexWriteUnits(t *testing.T) {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	item := func(gpk, doc string) map[string]types.AttributeValue {
		it := map[string]types.AttributeValue{"pk": s("CADRE#a"), "sk": s("REPORT#2026"), "doc": s(doc)}
		if gpk != "" {
			it["gsi2pk"], it["gsi2sk"] = s(gpk), s("cn\x1fa")
		}
		return it
	}
	keys := []types.KeySchemaElement{{AttributeName: aws.String("gsi2pk")}, {AttributeName: aws.String("gsi2sk")}}
	keysOnly := types.GlobalSecondaryIndex{KeySchema: keys, Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}}
	all := types.GlobalSecondaryIndex{KeySchema: keys, Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}
	big := strings.Repeat("x", 1500)
	for _, c := range []struct {
		name          string
		g             types.GlobalSecondaryIndex
		before, after map[string]types.AttributeValue
		want          float64
	}{
		{"not indexed", keysOnly, item("", "1"), item("", "2"), 0},
		{"enters", keysOnly, nil, item("F", "1"), 1},
		{"leaves", keysOnly, item("F", "1"), item("", "1"), 1},
		{"key changes", keysOnly, item("F", "1"), item("M", "1"), 2},
		{"keys only, other attribute changes", keysOnly, item("F", "1"), item("F", "2"), 0},
		{"all, other attribute changes", all, item("F", "1"), item("F", "2"), 1},
		{"all, nothing changes", all, item("F", "1"), item("F", "1"), 0},
		{"all, 1.5 KB entry", all, item("F", "1"), item("F", big), 2},
	} {
		if got := indexWriteUnits(c.g, c.before, c.after); got != c.want {
			t.Errorf("%s: %v index write units, want %v", c.name, got, c.want)
		}
	}
}

// sizeStat is the count, mean and largest size of one type of item.
type sizeStat struct{ N, Mean, Max int }

type sizeStats map[string]sizeStat

func (ss sizeStats) String() string {
	var b strings.Builder
	types := make([]string, 0, len(ss))
	for ty := range ss {
		types = append(types, ty)
	}
	sort.Strings(types)
	for _, ty := range types {
		fmt.Fprintf(&b, "%-12s items %6d  mean %5d  largest %5d\n", ty, ss[ty].N, ss[ty].Mean, ss[ty].Max)
	}
	return b.String()
}

// itemSizes scans the table (unmetered) and sizes its items per type (itemSize).
func itemSizes(tb testing.TB, db *dynamodb.Client, table string) sizeStats {
	tb.Helper()
	sum, out := map[string]int{}, sizeStats{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		for _, it := range page.Items {
			ty := "?"
			if v, ok := it["type"].(*types.AttributeValueMemberS); ok {
				ty = v.Value
			}
			st, size := out[ty], itemSize(it)
			st.N++
			st.Max = max(st.Max, size)
			sum[ty] += size
			st.Mean = sum[ty] / st.N
			out[ty] = st
		}
	}
	return out
}

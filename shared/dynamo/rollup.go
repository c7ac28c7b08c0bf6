package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Facts and unit rollups (training.RollupStore), docs/dynamodb.md “Unit reports”:
//
//	pk CADRE#<id>       sk FACTS#<year>            the cadre's facts of the year (GetFacts)
//	pk FACTS#<year>     sk <unit>\x1f<id>          the same facts, listed by unit (ListFacts)
//	pk MAKEUP#<year>    sk <unit>\x1f<id>          the same facts, for cadres on the 补训 list
//	pk ROLLUP#<year>    sk <unit>                  the unit's counters, one number attribute each (t_<name>)
//
// PutFacts writes them in one TransactWriteItems, conditioned on the cadre's facts item being
// what it read, and moves the counters with ADD; a lost race is read again and retried. The
// listing partitions take every facts write of a year; DynamoDB splits a hot partition by sort-key
// range, and the sort keys spread over the units.
const (
	typeFacts        = "facts"
	typeFactsListing = "facts_listing"
	typeRollup       = "rollup"
	factsSKPrefix    = "FACTS#"
	factsPKPrefix    = "FACTS#"
	makeupPKPrefix   = "MAKEUP#"
	rollupPKPrefix   = "ROLLUP#"
	tallyAttrPrefix  = "t_"
	maxFactsRetries  = 8
)

func yearStr(y int) string { return fmt.Sprintf("%04d", y) }

type factsItem struct {
	PK           string `dynamodbav:"pk"`
	SK           string `dynamodbav:"sk"`
	Type         string `dynamodbav:"type"`
	CadreID      string `dynamodbav:"cadre_id"`
	Unit         string `dynamodbav:"unit"`
	Year         int    `dynamodbav:"year"`
	ComputedAtNS int64  `dynamodbav:"computed_at_ns"`
	Doc          string `dynamodbav:"doc"`
}

func factsItems(f training.Facts) (own, listing map[string]types.AttributeValue, err error) {
	doc, err := json.Marshal(f)
	if err != nil {
		return nil, nil, fmt.Errorf("dynamo: encode facts of %q: %w", f.CadreID, err)
	}
	it := factsItem{PK: cadrePK(f.CadreID), SK: factsSKPrefix + yearStr(f.Year), Type: typeFacts, CadreID: f.CadreID,
		Unit: f.Unit, Year: f.Year, ComputedAtNS: f.ComputedAt.UnixNano(), Doc: string(doc)}
	if own, err = attributevalue.MarshalMap(it); err != nil {
		return nil, nil, err
	}
	it.PK, it.SK, it.Type = factsPKPrefix+yearStr(f.Year), cadreGSI1SK(f.Unit, f.CadreID), typeFactsListing
	listing, err = attributevalue.MarshalMap(it)
	return own, listing, err
}

func unmarshalFacts(item map[string]types.AttributeValue) (training.Facts, error) {
	var it factsItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return training.Facts{}, fmt.Errorf("dynamo: unmarshal facts: %w", err)
	}
	var f training.Facts
	if err := json.Unmarshal([]byte(it.Doc), &f); err != nil {
		return training.Facts{}, fmt.Errorf("dynamo: stored facts of %q: %w", it.CadreID, err)
	}
	return f, nil
}

// GetFacts reads the cadre's facts items in one Query of its partition.
func (s *Store) GetFacts(ctx context.Context, cadreID string, years []int) (map[int]training.Facts, error) {
	expr, err := partitionQuery(cadrePK(cadreID), factsSKPrefix, nil)
	if err != nil {
		return nil, fmt.Errorf("dynamo: build facts query: %w", err)
	}
	items, err := s.queryAll(ctx, fmt.Sprintf("facts of %q", cadreID), expr)
	if err != nil {
		return nil, err
	}
	want := map[int]bool{}
	for _, y := range years {
		want[y] = true
	}
	out := map[int]training.Facts{}
	for _, item := range items {
		f, err := unmarshalFacts(item)
		if err != nil {
			return nil, err
		}
		if want[f.Year] {
			out[f.Year] = f
		}
	}
	return out, nil
}

// PutFacts replaces each cadre's facts of the year and moves its counters, one transaction per
// facts that changed.
func (s *Store) PutFacts(ctx context.Context, fs ...training.Facts) error {
	for _, f := range fs {
		if err := s.putFacts(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) putFacts(ctx context.Context, f training.Facts) error {
	if f.CadreID == "" || f.Year < 1 || f.Year > 9999 {
		return training.Errorf(training.EINVALID, "facts need a cadre id and a year")
	}
	for attempt := 0; ; attempt++ {
		cur, err := s.GetFacts(ctx, f.CadreID, []int{f.Year})
		if err != nil {
			return err
		}
		old, found := cur[f.Year]
		if found && (old.ComputedAt.After(f.ComputedAt) || old.Same(f)) {
			return nil
		}
		var oldPtr *training.Facts
		if found {
			oldPtr = &old
		}
		items, err := s.factsTransaction(oldPtr, f)
		if err != nil {
			return err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		var tce *types.TransactionCanceledException
		if errors.As(err, &tce) && attempt < maxFactsRetries {
			continue // the facts changed since they were read: read them again
		}
		if err != nil {
			return fmt.Errorf("dynamo: put facts of %q for %d: %w", f.CadreID, f.Year, err)
		}
		return nil
	}
}

func (s *Store) factsTransaction(old *training.Facts, f training.Facts) ([]types.TransactWriteItem, error) {
	own, listing, err := factsItems(f)
	if err != nil {
		return nil, err
	}
	y := yearStr(f.Year)
	cond := expression.AttributeNotExists(expression.Name(attrPK))
	if old != nil {
		cond = expression.Name("computed_at_ns").Equal(expression.Value(old.ComputedAt.UnixNano())).
			And(expression.Name("doc").Equal(expression.Value(mustJSON(*old))))
	}
	ce, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("dynamo: build facts condition: %w", err)
	}
	table := aws.String(s.table)
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: table, Item: own,
		ConditionExpression: ce.Condition(), ExpressionAttributeNames: ce.Names(), ExpressionAttributeValues: ce.Values()}}}
	del := func(pk, sk string) {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: table, Key: key(pk, sk)}})
	}
	put := func(item map[string]types.AttributeValue) {
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: table, Item: item}})
	}
	newSK := cadreGSI1SK(f.Unit, f.CadreID)
	moved := old != nil && old.Unit != f.Unit
	if moved {
		del(factsPKPrefix+y, cadreGSI1SK(old.Unit, f.CadreID))
	}
	put(listing)
	switch {
	case len(f.Makeup) > 0:
		if moved && len(old.Makeup) > 0 {
			del(makeupPKPrefix+y, cadreGSI1SK(old.Unit, f.CadreID))
		}
		mk := copyItem(listing)
		mk[attrPK] = &types.AttributeValueMemberS{Value: makeupPKPrefix + y}
		mk[attrSK] = &types.AttributeValueMemberS{Value: newSK}
		put(mk)
	case old != nil && len(old.Makeup) > 0:
		del(makeupPKPrefix+y, cadreGSI1SK(old.Unit, f.CadreID))
	}
	var oldTally training.Tally
	if old != nil {
		oldTally = old.Tally()
	}
	if old == nil || moved {
		if old != nil {
			if it, err := s.rollupUpdate(y, old.Unit, training.Tally{}.Minus(oldTally)); err != nil || it != nil {
				if err != nil {
					return nil, err
				}
				items = append(items, *it)
			}
		}
		it, err := s.rollupUpdate(y, f.Unit, f.Tally())
		if err != nil {
			return nil, err
		}
		if it != nil {
			items = append(items, *it)
		}
	} else {
		it, err := s.rollupUpdate(y, f.Unit, f.Tally().Minus(oldTally))
		if err != nil {
			return nil, err
		}
		if it != nil {
			items = append(items, *it)
		}
	}
	return items, nil
}

func mustJSON(f training.Facts) string {
	b, _ := json.Marshal(f) // plain fields: cannot fail
	return string(b)
}

func copyItem(m map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// rollupUpdate adds d to the unit's counters (nil when d is empty).
func (s *Store) rollupUpdate(year, unit string, d training.Tally) (*types.TransactWriteItem, error) {
	if len(d) == 0 {
		return nil, nil
	}
	var upd expression.UpdateBuilder
	for i, k := range d.Keys() {
		name, val := expression.Name(tallyAttrPrefix+k), expression.Value(d[k])
		if i == 0 {
			upd = expression.Add(name, val)
		} else {
			upd = upd.Add(name, val)
		}
	}
	upd = upd.Set(expression.Name(attrType), expression.Value(typeRollup)).Set(expression.Name("unit"), expression.Value(unit))
	e, err := expression.NewBuilder().WithUpdate(upd).Build()
	if err != nil {
		return nil, fmt.Errorf("dynamo: build rollup update: %w", err)
	}
	return &types.TransactWriteItem{Update: &types.Update{TableName: aws.String(s.table), Key: key(rollupPKPrefix+year, unit),
		UpdateExpression: e.Update(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}}, nil
}

// subtreeQuery runs Query on partition pk over the unit subtree's sort-key ranges (the unit itself,
// then its descendants; see cadreGSI1SK), starting after exclusive sort key `after` when set,
// calling fn per item until it returns false. exactUnit ranges sort keys equal to the unit (rollups)
// instead of those starting with unit\x1f.
func (s *Store) subtreeQuery(ctx context.Context, pk, unitPrefix, after string, exactUnit bool, pageSize int32, fn func(map[string]types.AttributeValue) bool) error {
	unit := strings.TrimSuffix(unitPrefix, "/")
	type rng struct {
		eq, prefix string
	}
	ranges := []rng{{}}
	if unit != "" {
		first := rng{prefix: unit + unitSeparator}
		if exactUnit {
			first = rng{eq: unit}
		}
		ranges = []rng{first, {prefix: unit + "/"}}
	}
	if after != "" {
		for len(ranges) > 0 && !(ranges[0].eq == "" && strings.HasPrefix(after, ranges[0].prefix) || ranges[0].eq != "" && after == ranges[0].eq) {
			ranges = ranges[1:]
		}
		if len(ranges) == 0 {
			return training.Errorf(training.EINVALID, "the cursor does not belong to this listing")
		}
	}
	for _, r := range ranges {
		kc := expression.Key(attrPK).Equal(expression.Value(pk))
		switch {
		case r.eq != "":
			kc = kc.And(expression.Key(attrSK).Equal(expression.Value(r.eq)))
		case r.prefix != "":
			kc = kc.And(expression.Key(attrSK).BeginsWith(r.prefix))
		}
		expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
		if err != nil {
			return fmt.Errorf("dynamo: build subtree query: %w", err)
		}
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ConsistentRead:            aws.Bool(true),
			Limit:                     aws.Int32(pageSize),
		}
		if after != "" {
			in.ExclusiveStartKey = key(pk, after)
			after = ""
		}
		p := dynamodb.NewQueryPaginator(s.db, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("dynamo: query %s in %q: %w", pk, unitPrefix, err)
			}
			for _, item := range page.Items {
				if !fn(item) {
					return nil
				}
			}
		}
	}
	return nil
}

// ListFacts queries the year's listing (or 补训) partition over the subtree's ranges.
func (s *Store) ListFacts(ctx context.Context, year int, unitPrefix string, after *training.FactsCursor, limit int, makeupOnly bool) ([]training.Facts, bool, error) {
	if limit <= 0 {
		limit = 100
	}
	pk := factsPKPrefix + yearStr(year)
	if makeupOnly {
		pk = makeupPKPrefix + yearStr(year)
	}
	start := ""
	if after != nil {
		if !training.InUnit(after.Unit, unitPrefix) {
			return nil, false, training.Errorf(training.EINVALID, "the cursor does not belong to this listing")
		}
		start = cadreGSI1SK(after.Unit, after.CadreID)
	}
	var (
		out  []training.Facts
		more bool
		ferr error
	)
	err := s.subtreeQuery(ctx, pk, unitPrefix, start, false, int32(min(limit+1, 1000)), func(item map[string]types.AttributeValue) bool {
		if len(out) == limit {
			more = true
			return false
		}
		f, err := unmarshalFacts(item)
		if err != nil {
			ferr = err
			return false
		}
		out = append(out, f)
		return true
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// ListRollups queries the year's rollup partition over the subtree's ranges.
func (s *Store) ListRollups(ctx context.Context, year int, unitPrefix string) ([]training.UnitRollup, error) {
	var (
		out  []training.UnitRollup
		ferr error
	)
	err := s.subtreeQuery(ctx, rollupPKPrefix+yearStr(year), unitPrefix, "", true, 1000, func(item map[string]types.AttributeValue) bool {
		r := training.UnitRollup{Year: year, Tally: training.Tally{}}
		for name, v := range item {
			switch {
			case name == attrSK:
				if sv, ok := v.(*types.AttributeValueMemberS); ok {
					r.Unit = sv.Value
				}
			case strings.HasPrefix(name, tallyAttrPrefix):
				nv, ok := v.(*types.AttributeValueMemberN)
				if !ok {
					ferr = fmt.Errorf("dynamo: rollup counter %s is not a number", name)
					return false
				}
				n, err := strconv.ParseInt(nv.Value, 10, 64)
				if err != nil {
					ferr = fmt.Errorf("dynamo: rollup counter %s: %w", name, err)
					return false
				}
				if n != 0 {
					r.Tally[strings.TrimPrefix(name, tallyAttrPrefix)] = n
				}
			}
		}
		out = append(out, r)
		return true
	})
	if err == nil {
		err = ferr
	}
	return out, err
}

package dynamo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Facts and unit rollups (training.RollupStore), docs/dynamodb.md “Unit reports”:
//
//	pk CADRE#<id>       sk REPORT#<year>           the cadre's facts of the year (GetFacts, LoadCadreFacts)
//	pk FACTS#<year>#<n> sk <unit>\x1f<id>          the same facts, listed by unit (ListFacts), n = cadreShard
//	pk MAKEUP#<year>#<n> sk <unit>\x1f<id>         the same facts, for cadres on the 补训 list
//	pk ROLLUP#<year>#<n> sk <unit>                 one of the unit's RollupShards counter items, one number
//	                                               attribute per counter (t_<name>); the unit's counters are their sum
//
// PutFacts writes the facts that changed in as few TransactWriteItems as fit, each conditioned on
// the facts items being what it read, and moves the counters with one ADD per unit and chunk on
// one counter shard; a lost race is read again and retried. The listings and counters of a year
// are each spread over 16 partition keys, so no partition key or item takes every write of a unit
// or a year.
const (
	typeFacts        = "facts"
	typeFactsListing = "facts_listing"
	typeRollup       = "rollup"
	factsSKPrefix    = "REPORT#" // between the records (REC#) and STATUS: LoadCadreFacts reads them
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
	it.PK, it.SK, it.Type = listingPK(factsPKPrefix, f.Year, cadreShard(f.CadreID)), cadreGSI1SK(f.Unit, f.CadreID), typeFactsListing
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

// GetFacts reads the cadre's facts items in one Query of its partition; nil years means every
// year stored.
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
		if years == nil || want[f.Year] {
			out[f.Year] = f
		}
	}
	return out, nil
}

// PutFacts replaces each cadre's facts of the year and moves the counters. The facts that
// changed are written in as few TransactWriteItems as fit (factsChunkItems actions each): per
// facts, the facts item (on the condition that it is what was read); per unit and year of the
// chunk, one counter update carrying the chunk's summed delta, on one of RollupShards counter
// items chosen per chunk (docs/dynamodb.md “Unit reports”). The listing and 补训 items go just
// before, outside the transaction (putListings). A cancelled
// transaction (a concurrent recompute changed some facts, or another chunk held the same counter
// item) is read again and retried on another counter shard: a retried or replayed batch finds its
// facts stored and moves no counter twice.
func (s *Store) PutFacts(ctx context.Context, fs ...training.Facts) error {
	us := make([]training.FactsUpdate, len(fs))
	for i, f := range fs {
		us[i] = training.FactsUpdate{Facts: f}
	}
	return s.PutFactsKnown(ctx, us...)
}

// PutFactsKnown is PutFacts with the stored facts as LoadCadreFacts handed them over, where known
// (app.FactsLoader): those cadres' facts are not read again unless a condition fails.
func (s *Store) PutFactsKnown(ctx context.Context, us ...training.FactsUpdate) error {
	latest := map[factsKey]training.FactsUpdate{} // one write per cadre and year: the latest computation
	var order []factsKey
	for _, f := range us {
		if f.CadreID == "" || f.Year < 1 || f.Year > 9999 {
			return training.Errorf(training.EINVALID, "facts need a cadre id and a year")
		}
		k := factsKey{f.CadreID, f.Year}
		prev, seen := latest[k]
		if !seen {
			order = append(order, k)
		}
		if !seen || !prev.ComputedAt.After(f.ComputedAt) {
			latest[k] = f
		}
	}
	want := make([]training.FactsUpdate, 0, len(order))
	for _, k := range order {
		want = append(want, latest[k])
	}
	return s.putFactsChunks(ctx, want, 0)
}

type factsKey struct {
	cadre string
	year  int
}

type unitYear struct {
	unit string
	year int
}

// factsChunkItems bounds the actions of one facts transaction (DynamoDB allows 100).
const factsChunkItems = 100

// putFactsChunks reads the stored facts of us's cadres (those not handed over) and writes the
// facts that changed: first each one's listing and 补训 items (putListings), then the facts items
// and counters, a chunk per transaction. attempt > 0: us are a cancelled chunk's, read again,
// whose listing items were written (a stale one takes its own out again: unlist).
func (s *Store) putFactsChunks(ctx context.Context, us []training.FactsUpdate, attempt int) error {
	stored := map[string]map[int]training.Facts{}
	for _, u := range us {
		if u.StoredKnown {
			if stored[u.CadreID] == nil {
				stored[u.CadreID] = map[int]training.Facts{}
			}
			if u.Stored != nil {
				stored[u.CadreID][u.Year] = *u.Stored
			}
		}
	}
	fs := make([]training.Facts, len(us))
	for i, u := range us {
		fs[i] = u.Facts
	}
	for _, f := range fs {
		if _, ok := stored[f.CadreID]; ok {
			continue
		}
		cur, err := s.GetFacts(ctx, f.CadreID, nil)
		if err != nil {
			return err
		}
		stored[f.CadreID] = cur
	}
	var (
		chunk  []training.Facts
		items  []types.TransactWriteItem
		deltas = map[unitYear]training.Tally{} // the chunk's summed counter deltas
		dorder []unitYear
	)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		all := items
		shard := rollupShard(chunk[0].CadreID, attempt)
		for _, k := range dorder {
			it, err := s.rollupUpdate(k.year, shard, k.unit, deltas[k])
			if err != nil {
				return err
			}
			if it != nil {
				all = append(all, *it)
			}
		}
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: all})
		var tce *types.TransactionCanceledException
		switch {
		case errors.As(err, &tce) && attempt < maxFactsRetries:
			// Some facts changed since they were read, or another transaction held a counter
			// item: read this chunk's facts again and retry on another counter shard.
			again := make([]training.FactsUpdate, len(chunk))
			for i, f := range chunk {
				again[i] = training.FactsUpdate{Facts: f}
			}
			if err := s.putFactsChunks(ctx, again, attempt+1); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("dynamo: put facts of %d cadres (from %q): %w", len(chunk), chunk[0].CadreID, err)
		}
		chunk, items, deltas, dorder = nil, nil, map[unitYear]training.Tally{}, nil
		return nil
	}
	for _, f := range fs {
		old, found := stored[f.CadreID][f.Year]
		if found && old.ComputedAt.After(f.ComputedAt) {
			if attempt > 0 { // listed by the cancelled try: take what is still ours out again
				if err := s.unlist(ctx, f); err != nil {
					return err
				}
			}
			continue
		}
		if found && old.Same(f) {
			continue
		}
		var oldPtr *training.Facts
		if found {
			oldPtr = &old
		}
		if listed, err := s.putListings(ctx, oldPtr, f); err != nil || !listed {
			if err != nil {
				return err
			}
			continue // a newer computation is listed: it writes the facts too
		}
		own, _, err := factsItems(f)
		if err != nil {
			return err
		}
		cond := expression.AttributeNotExists(expression.Name(attrPK))
		if found {
			cond = expression.Name("computed_at_ns").Equal(expression.Value(old.ComputedAt.UnixNano())).
				And(expression.Name("doc").Equal(expression.Value(mustJSON(old))))
		}
		ce, err := expression.NewBuilder().WithCondition(cond).Build()
		if err != nil {
			return fmt.Errorf("dynamo: build facts condition: %w", err)
		}
		put := types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: own,
			ConditionExpression: ce.Condition(), ExpressionAttributeNames: ce.Names(), ExpressionAttributeValues: ce.Values()}}
		// The counters f moves: its unit's, and on a move the old unit's.
		moves := map[unitYear]training.Tally{{f.Unit, f.Year}: f.Tally()}
		if found {
			k := unitYear{old.Unit, f.Year}
			if moves[k] == nil {
				moves[k] = training.Tally{}
			}
			moves[k] = moves[k].Minus(old.Tally())
		}
		newCounters := 0
		for k := range moves {
			if _, ok := deltas[k]; !ok {
				newCounters++
			}
		}
		if len(items)+1+len(deltas)+newCounters > factsChunkItems {
			if err := flush(); err != nil {
				return err
			}
		}
		chunk, items = append(chunk, f), append(items, put)
		for _, k := range slices.SortedFunc(maps.Keys(moves), func(a, b unitYear) int { return strings.Compare(a.unit, b.unit) }) {
			d, ok := deltas[k]
			if !ok {
				d, dorder = training.Tally{}, append(dorder, k)
			}
			if err := d.Add(moves[k]); err != nil {
				return fmt.Errorf("dynamo: rollup of %q for %d: %w", k.unit, k.year, err)
			}
			deltas[k] = d
		}
	}
	return flush()
}

// Listing and 补训 items are written outside the facts transaction (a transaction charges each
// item twice), before it, each with PutItem on the condition that it holds no later computation
// (computed_at_ns ≤ f's): live items where f is listed, tombstones (`gone`, no facts) where old
// was listed and f is not, so that a slower, older computation cannot list the cadre again where
// it left. A stored facts item is therefore always listed where it says; a computation that loses
// its race takes its own live items out again (unlist).

// listingPK is the partition of a year's listing (prefix FACTS#) or 补训 list (MAKEUP#) that holds
// the cadres of one shard (cadreShard, as the unit index: the shard never changes with the unit).
// Spread over CadreShards partition keys, the listing writes of a year do not all go to one.
func listingPK(prefix string, year, shard int) string {
	return fmt.Sprintf("%s%s#%02d", prefix, yearStr(year), shard)
}

// listingKeys are the listing and 补训 keys where f is listed.
func listingKeys(f training.Facts) [][2]string {
	shard, sk := cadreShard(f.CadreID), cadreGSI1SK(f.Unit, f.CadreID)
	keys := [][2]string{{listingPK(factsPKPrefix, f.Year, shard), sk}}
	if len(f.Makeup) > 0 {
		keys = append(keys, [2]string{listingPK(makeupPKPrefix, f.Year, shard), sk})
	}
	return keys
}

// putListings lists f and unlists old where f is not; false when a later computation holds one of
// those items (then f is stale and was taken out again).
func (s *Store) putListings(ctx context.Context, old *training.Facts, f training.Facts) (bool, error) {
	_, listing, err := factsItems(f)
	if err != nil {
		return false, err
	}
	live := listingKeys(f)
	var gone [][2]string
	if old != nil {
		for _, k := range listingKeys(*old) {
			if !slices.Contains(live, k) {
				gone = append(gone, k)
			}
		}
	}
	for i, k := range append(live, gone...) {
		item := copyItem(listing)
		if i >= len(live) {
			item = tombstone(f)
		}
		item[attrPK], item[attrSK] = &types.AttributeValueMemberS{Value: k[0]}, &types.AttributeValueMemberS{Value: k[1]}
		ok, err := s.putIfNotNewer(ctx, item, f.ComputedAt.UnixNano())
		if err != nil {
			return false, err
		}
		if !ok {
			return false, s.unlist(ctx, f)
		}
	}
	return true, nil
}

// putIfNotNewer puts item unless its key holds a later computation than ns (then false).
func (s *Store) putIfNotNewer(ctx context.Context, item map[string]types.AttributeValue, ns int64) (bool, error) {
	cond := expression.AttributeNotExists(expression.Name(attrPK)).
		Or(expression.Name("computed_at_ns").LessThanEqual(expression.Value(ns)))
	ce, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("dynamo: build listing condition: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ConditionExpression: ce.Condition(), ExpressionAttributeNames: ce.Names(), ExpressionAttributeValues: ce.Values()})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamo: list facts of %q: %w", attrString(item, "cadre_id"), err)
	}
	return true, nil
}

// unlist turns f's live listing items that f itself wrote (computed_at_ns equal to f's) into
// tombstones: f lost to a later computation, which lists the cadre where it belongs.
func (s *Store) unlist(ctx context.Context, f training.Facts) error {
	ns := f.ComputedAt.UnixNano()
	for _, k := range listingKeys(f) {
		item := tombstone(f)
		item[attrPK], item[attrSK] = &types.AttributeValueMemberS{Value: k[0]}, &types.AttributeValueMemberS{Value: k[1]}
		ce, err := expression.NewBuilder().WithCondition(expression.Name("computed_at_ns").Equal(expression.Value(ns)).
			And(expression.AttributeNotExists(expression.Name(attrGone)))).Build()
		if err != nil {
			return fmt.Errorf("dynamo: build unlist condition: %w", err)
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
			ConditionExpression: ce.Condition(), ExpressionAttributeNames: ce.Names(), ExpressionAttributeValues: ce.Values()})
		var ccf *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &ccf) {
			return fmt.Errorf("dynamo: unlist facts of %q: %w", f.CadreID, err)
		}
	}
	return nil
}

// attrGone marks a listing tombstone: the cadre is not listed there (since computed_at_ns).
const attrGone = "gone"

func tombstone(f training.Facts) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrType:         &types.AttributeValueMemberS{Value: typeFactsListing},
		"cadre_id":       &types.AttributeValueMemberS{Value: f.CadreID},
		"year":           &types.AttributeValueMemberN{Value: strconv.Itoa(f.Year)},
		"computed_at_ns": &types.AttributeValueMemberN{Value: strconv.FormatInt(f.ComputedAt.UnixNano(), 10)},
		attrGone:         &types.AttributeValueMemberBOOL{Value: true},
	}
}

func attrString(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
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

// RollupShards is the number of counter items per unit and year: a unit's counters are the sums
// of its items ROLLUP#<year>#00 … ROLLUP#<year>#15 (sort key the unit). A chunk of facts adds its
// delta to one of them, so no single item (or partition key) takes every recompute of a unit or a
// year; a report reads the shards and adds them up.
const RollupShards = 16

// rollupShard is the counter shard of a chunk: from its first cadre and the attempt, so that a
// retry after a conflict moves to another item.
func rollupShard(cadreID string, attempt int) int {
	h := fnv.New32a()
	h.Write([]byte(cadreID))
	return int((h.Sum32() + uint32(attempt)) % RollupShards)
}

func rollupPK(year, shard int) string {
	return fmt.Sprintf("%s%s#%02d", rollupPKPrefix, yearStr(year), shard)
}

// rollupUpdate adds d to the unit's counters in the year's counter shard (nil when d is empty).
func (s *Store) rollupUpdate(year, shard int, unit string, d training.Tally) (*types.TransactWriteItem, error) {
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
	return &types.TransactWriteItem{Update: &types.Update{TableName: aws.String(s.table), Key: key(rollupPK(year, shard), unit),
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

// ListFacts queries the year's listing (or 补训) shards over the subtree's ranges, in parallel,
// each for up to limit+1 cadres after the cursor, and merges them in (unit, id) order: the first
// limit of all are among those.
func (s *Store) ListFacts(ctx context.Context, year int, unitPrefix string, after *training.FactsCursor, limit int, makeupOnly bool) ([]training.Facts, bool, error) {
	if limit <= 0 {
		limit = 100
	}
	prefix := factsPKPrefix
	if makeupOnly {
		prefix = makeupPKPrefix
	}
	start := ""
	if after != nil {
		if !training.InUnit(after.Unit, unitPrefix) {
			return nil, false, training.Errorf(training.EINVALID, "the cursor does not belong to this listing")
		}
		start = cadreGSI1SK(after.Unit, after.CadreID)
	}
	type hit struct {
		sk string
		f  training.Facts
	}
	var (
		mu    sync.Mutex
		hits  []hit
		first error
		wg    sync.WaitGroup
	)
	for shard := range CadreShards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var (
				mine []hit
				ferr error
			)
			err := s.subtreeQuery(ctx, listingPK(prefix, year, shard), unitPrefix, start, false, int32(min(limit+1, 1000)), func(item map[string]types.AttributeValue) bool {
				if _, gone := item[attrGone]; gone {
					return true // not listed here any more (putListings)
				}
				f, err := unmarshalFacts(item)
				if err != nil {
					ferr = err
					return false
				}
				mine = append(mine, hit{cadreGSI1SK(f.Unit, f.CadreID), f})
				return len(mine) <= limit
			})
			mu.Lock()
			defer mu.Unlock()
			if err = cmp.Or(err, ferr); err != nil {
				first = cmp.Or(first, err)
				return
			}
			hits = append(hits, mine...)
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, false, first
	}
	slices.SortFunc(hits, func(a, b hit) int { return strings.Compare(a.sk, b.sk) })
	more := len(hits) > limit
	out := make([]training.Facts, 0, min(len(hits), limit))
	for _, h := range hits[:min(len(hits), limit)] {
		out = append(out, h.f)
	}
	return out, more, nil
}

// ListRollups queries the year's counter shards over the subtree's ranges (RollupShards
// Queries in parallel) and adds up each unit's shards.
func (s *Store) ListRollups(ctx context.Context, year int, unitPrefix string) ([]training.UnitRollup, error) {
	var (
		mu    sync.Mutex
		sums  = map[string]training.Tally{}
		first error
		wg    sync.WaitGroup
	)
	for shard := range RollupShards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ferr error
			err := s.subtreeQuery(ctx, rollupPK(year, shard), unitPrefix, "", true, 1000, func(item map[string]types.AttributeValue) bool {
				unit, t, err := unmarshalRollup(item)
				if err != nil {
					ferr = err
					return false
				}
				mu.Lock()
				defer mu.Unlock()
				if sums[unit] == nil {
					sums[unit] = training.Tally{}
				}
				if err := sums[unit].Add(t); err != nil {
					ferr = fmt.Errorf("dynamo: rollup of %q: %w", unit, err)
					return false
				}
				return true
			})
			if err == nil {
				err = ferr
			}
			if err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	out := make([]training.UnitRollup, 0, len(sums))
	for _, unit := range slices.Sorted(maps.Keys(sums)) {
		out = append(out, training.UnitRollup{Unit: unit, Year: year, Tally: sums[unit]})
	}
	return out, nil
}

// unmarshalRollup reads a counter item: its unit (the sort key) and its non-zero counters.
func unmarshalRollup(item map[string]types.AttributeValue) (string, training.Tally, error) {
	unit, t := "", training.Tally{}
	for name, v := range item {
		switch {
		case name == attrSK:
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				unit = sv.Value
			}
		case strings.HasPrefix(name, tallyAttrPrefix):
			nv, ok := v.(*types.AttributeValueMemberN)
			if !ok {
				return "", nil, fmt.Errorf("dynamo: rollup counter %s is not a number", name)
			}
			n, err := strconv.ParseInt(nv.Value, 10, 64)
			if err != nil {
				return "", nil, fmt.Errorf("dynamo: rollup counter %s: %w", name, err)
			}
			if n != 0 {
				t[strings.TrimPrefix(name, tallyAttrPrefix)] = n
			}
		}
	}
	return unit, t, nil
}

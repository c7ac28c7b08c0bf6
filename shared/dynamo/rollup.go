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
//	pk CADRE#<id>       sk REPORT#<year>           the cadre's facts of the year (GetFacts, LoadCadreFacts),
//	                                               listed by unit in gsi2 (ListFacts): gsi2pk FACTS#<year>#<n>,
//	                                               or MAKEUP#<year>#<n> on the 补训 list (n = cadreShard),
//	                                               gsi2sk <unit>\x1f<id>
//	pk ROLLUP#<year>#<n> sk <unit>                 one of the unit's RollupShards counter items, one number
//	                                               attribute per counter (t_<name>); the unit's counters are their sum
//
// PutFacts writes the facts that changed in as few TransactWriteItems as fit, each conditioned on
// the facts items being what it read, and moves the counters with one ADD per unit and chunk on
// one counter shard; a lost race is read again and retried. The index gsi2 projects keys only, so
// rewriting a cadre's facts costs it nothing unless the cadre moves or joins or leaves the 补训
// list. The index partitions and counters of a year are each spread over 16 keys, so no partition
// key or item takes every write of a unit or a year.
const (
	typeFacts       = "facts"
	typeRollup      = "rollup"
	factsSKPrefix   = "REPORT#" // between the records (REC#) and STATUS: LoadCadreFacts reads them
	factsPKPrefix   = "FACTS#"
	makeupPKPrefix  = "MAKEUP#"
	rollupPKPrefix  = "ROLLUP#"
	tallyAttrPrefix = "t_"
	maxFactsRetries = 8
)

func yearStr(y int) string { return fmt.Sprintf("%04d", y) }

type factsItem struct {
	PK           string `dynamodbav:"pk"`
	SK           string `dynamodbav:"sk"`
	Type         string `dynamodbav:"type"`
	GSI2PK       string `dynamodbav:"gsi2pk"`
	GSI2SK       string `dynamodbav:"gsi2sk"`
	CadreID      string `dynamodbav:"cadre_id"`
	Unit         string `dynamodbav:"unit"`
	Year         int    `dynamodbav:"year"`
	ComputedAtNS int64  `dynamodbav:"computed_at_ns"`
	Doc          string `dynamodbav:"doc"`
}

func factsSK(year int) string { return factsSKPrefix + yearStr(year) }

// factsIndexKeys are f's place in gsi2: the year's listing, or its 补训 list, by unit.
func factsIndexKeys(f training.Facts) (pk, sk string) {
	prefix := factsPKPrefix
	if len(f.Makeup) > 0 {
		prefix = makeupPKPrefix
	}
	return listingPK(prefix, f.Year, cadreShard(f.CadreID)), cadreGSI1SK(f.Unit, f.CadreID)
}

func factsItemOf(f training.Facts) (map[string]types.AttributeValue, error) {
	doc, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("dynamo: encode facts of %q: %w", f.CadreID, err)
	}
	gpk, gsk := factsIndexKeys(f)
	return attributevalue.MarshalMap(factsItem{PK: cadrePK(f.CadreID), SK: factsSK(f.Year), Type: typeFacts,
		GSI2PK: gpk, GSI2SK: gsk, CadreID: f.CadreID, Unit: f.Unit, Year: f.Year,
		ComputedAtNS: f.ComputedAt.UnixNano(), Doc: string(doc)})
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
// items chosen per chunk (docs/dynamodb.md “Unit reports”); the facts item's gsi2 keys list it.
// A cancelled transaction (a concurrent recompute changed some facts, or another chunk held the
// same counter item) is read again and retried on another counter shard: a retried or replayed
// batch finds its facts stored and moves no counter twice.
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
// facts that changed: the facts items and counters, a chunk per transaction. attempt > 0: us are
// a cancelled chunk's, read again.
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
		if found && (old.ComputedAt.After(f.ComputedAt) || old.Same(f)) {
			continue
		}
		own, err := factsItemOf(f)
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

// listingPK is the gsi2 partition of a year's listing (prefix FACTS#) or 补训 list (MAKEUP#) that
// holds the cadres of one shard (cadreShard, as the unit index: the shard never changes with the
// unit). Spread over CadreShards partition keys, the index writes of a year do not all go to one.
func listingPK(prefix string, year, shard int) string {
	return fmt.Sprintf("%s%s#%02d", prefix, yearStr(year), shard)
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

// BackfillFactsIndex brings a table written before gsi2 into the index layout (docs/dynamodb.md
// “Migration”): every facts item without gsi2 keys gets them (an UpdateItem on condition that the
// item is still the one read: a facts item rewritten meanwhile already has them), and every item of
// the listing copies that gsi2 replaces (type facts_listing, under FACTS#/MAKEUP#) is deleted. A
// parallel Scan in segments (1 to 1000); it returns how many items it changed, and run again, none.
// progress is called as BackfillCadreShards calls it.
func (s *Store) BackfillFactsIndex(ctx context.Context, segments int, progress func(scanned, changed int)) (int, error) {
	filter := expression.Name(attrType).Equal(expression.Value(typeFacts)).And(expression.AttributeNotExists(expression.Name(attrGSI2PK))).
		Or(expression.Name(attrType).Equal(expression.Value(typeFactsListing)))
	return s.scanEach(ctx, "backfill facts index", segments, filter, progress, func(item map[string]types.AttributeValue) (bool, error) {
		pk, sk := attrString(item, attrPK), attrString(item, attrSK)
		if attrString(item, attrType) == typeFactsListing {
			_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(pk, sk)})
			if err != nil {
				return false, fmt.Errorf("dynamo: backfill facts index: delete %s %s: %w", pk, sk, err)
			}
			return true, nil
		}
		f, err := unmarshalFacts(item)
		if err != nil {
			return false, err
		}
		gpk, gsk := factsIndexKeys(f)
		upd := expression.Set(expression.Name(attrGSI2PK), expression.Value(gpk)).Set(expression.Name(attrGSI2SK), expression.Value(gsk))
		cond := expression.AttributeNotExists(expression.Name(attrGSI2PK)).
			And(expression.Name("doc").Equal(expression.Value(attrString(item, "doc"))))
		expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
		if err != nil {
			return false, fmt.Errorf("dynamo: build facts index update: %w", err)
		}
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(pk, sk),
			UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
		if isCondFailed(err) { // rewritten meanwhile, with its index keys
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("dynamo: backfill facts index of %s: %w", pk, err)
		}
		return true, nil
	}, attrPK, attrSK, attrType, "cadre_id", "unit", "year", "computed_at_ns", "doc")
}

// typeFactsListing is the type of the listing copies of the facts that gsi2 replaced (written by
// builds before it; BackfillFactsIndex deletes them).
const typeFactsListing = "facts_listing"

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

// unitsQuery runs Query on partition pk (a counter shard, sort key the unit) over a unit subtree:
// the sort key equal to the unit, then those of its descendants (""= all), calling fn per item
// until it returns false.
func (s *Store) unitsQuery(ctx context.Context, pk, unitPrefix string, fn func(map[string]types.AttributeValue) bool) error {
	unit := strings.TrimSuffix(unitPrefix, "/")
	conds := []expression.KeyConditionBuilder{expression.Key(attrPK).Equal(expression.Value(pk))}
	if unit != "" {
		conds = []expression.KeyConditionBuilder{
			conds[0].And(expression.Key(attrSK).Equal(expression.Value(unit))),
			conds[0].And(expression.Key(attrSK).BeginsWith(unit + "/")),
		}
	}
	for _, kc := range conds {
		expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
		if err != nil {
			return fmt.Errorf("dynamo: build subtree query: %w", err)
		}
		p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ConsistentRead:            aws.Bool(true),
		})
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

// ListFacts reads the year's facts in the subtree from gsi2: the 补训 partitions (and, for the
// whole listing, the others) of every shard in parallel, merged in (unit, id) order, then the facts
// items of up to limit+1 entries with strongly consistent BatchGetItems. The index is eventually
// consistent; an entry whose stored facts no longer sit there (the cadre moved, or joined or left
// the 补训 list, a moment ago) is skipped, and the facts are listed where the index places them
// once it has caught up.
func (s *Store) ListFacts(ctx context.Context, year int, unitPrefix string, after *training.FactsCursor, limit int, makeupOnly bool) ([]training.Facts, bool, error) {
	if limit <= 0 {
		limit = 100
	}
	var pks []string
	for shard := range CadreShards {
		pks = append(pks, listingPK(makeupPKPrefix, year, shard))
		if !makeupOnly {
			pks = append(pks, listingPK(factsPKPrefix, year, shard))
		}
	}
	ranges := subtreeRanges(unitPrefix)
	var start *indexPos
	if after != nil {
		sk := cadreGSI1SK(after.Unit, after.CadreID)
		for len(ranges) > 0 && !strings.HasPrefix(sk, ranges[0]) {
			ranges = ranges[1:]
		}
		if len(ranges) == 0 || !training.InUnit(after.Unit, unitPrefix) {
			return nil, false, training.Errorf(training.EINVALID, "the cursor does not belong to this listing")
		}
		start = &indexPos{cadrePK(after.CadreID), factsSK(year), sk}
	}
	var out []training.Facts
	for len(ranges) > 0 && len(out) <= limit {
		want := limit + 1 - len(out)
		entries, err := s.mergeShards(ctx, factsIndex, pks, ranges[0], start, want)
		if err != nil {
			return nil, false, fmt.Errorf("dynamo: list facts of %d in %q: %w", year, unitPrefix, err)
		}
		stored, err := s.batchGetFacts(ctx, entries)
		if err != nil {
			return nil, false, err
		}
		for _, e := range entries {
			f, ok := stored[attrString(e, attrPK)]
			if !ok {
				continue // gone since the index was read
			}
			if pk, sk := factsIndexKeys(f); pk == attrString(e, attrGSI2PK) && sk == attrString(e, attrGSI2SK) {
				out = append(out, f)
			}
		}
		if len(entries) < want { // the range is read to its end
			ranges, start = ranges[1:], nil
			continue
		}
		last := entries[len(entries)-1]
		start = &indexPos{attrString(last, attrPK), attrString(last, attrSK), attrString(last, attrGSI2SK)}
	}
	more := len(out) > limit
	return out[:min(len(out), limit)], more, nil
}

// batchGetFacts reads the facts items of index entries (their table keys) with strongly
// consistent BatchGetItems of up to 100 keys, keyed by partition key.
func (s *Store) batchGetFacts(ctx context.Context, entries []map[string]types.AttributeValue) (map[string]training.Facts, error) {
	out := make(map[string]training.Facts, len(entries))
	for i := 0; i < len(entries); i += 100 {
		keys := make([]map[string]types.AttributeValue, 0, 100)
		for _, e := range entries[i:min(i+100, len(entries))] {
			keys = append(keys, key(attrString(e, attrPK), attrString(e, attrSK)))
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 8 {
				return nil, fmt.Errorf("dynamo: read listed facts: keys still unprocessed after %d attempts", attempt)
			}
			if attempt > 0 {
				if err := sleepBackoff(ctx, attempt); err != nil {
					return nil, fmt.Errorf("dynamo: read listed facts: %w", err)
				}
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("dynamo: read listed facts: %w", err)
			}
			for _, item := range res.Responses[s.table] {
				f, err := unmarshalFacts(item)
				if err != nil {
					return nil, err
				}
				out[attrString(item, attrPK)] = f
			}
			req = res.UnprocessedKeys
		}
	}
	return out, nil
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
			err := s.unitsQuery(ctx, rollupPK(year, shard), unitPrefix, func(item map[string]types.AttributeValue) bool {
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

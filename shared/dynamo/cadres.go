package dynamo

import (
	"context"
	"fmt"
	"hash/fnv"
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

// CadreShards is the number of write shards of the unit index gsi1: a cadre's gsi1pk is
// CADRES#<n>, n = FNV-1a(cadre id) mod CadreShards, two digits. A listing queries every shard in
// parallel and merges them in (unit, id) order; a full recompute runs one segment per shard.
// docs/dynamodb.md gives the throughput per shard and the reasons for 16.
const CadreShards = 16

func cadreShard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % CadreShards)
}

func shardPK(n int) string { return fmt.Sprintf("%s#%02d", gsi1PKCadres, n) }

// parseShardPK returns the shard of a gsi1pk, false when it is not one.
func parseShardPK(pk string) (int, bool) {
	rest, ok := strings.CutPrefix(pk, gsi1PKCadres+"#")
	if !ok || len(rest) != 2 {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0 && n < CadreShards
}

// cadreCursor is the index key of the last cadre a listing returned (all four keys strings).
type cadreCursor struct {
	PK     string `json:"pk"`
	SK     string `json:"sk"`
	GSI1PK string `json:"gsi1pk"`
	GSI1SK string `json:"gsi1sk"`
}

// subtreeRanges returns the gsi1sk prefixes of a unit subtree in index order (see cadreGSI1SK):
// the unit itself, then its descendants; "" is the whole index.
func subtreeRanges(unitPrefix string) []string {
	unit := strings.TrimSuffix(unitPrefix, "/")
	if unit == "" {
		return []string{""}
	}
	return []string{unit + unitSeparator, unit + "/"}
}

// startAfter decodes a listing cursor and returns the ranges still to read (the cursor's first).
func startAfter(ranges []string, cursor string) ([]string, *cadreCursor, error) {
	if cursor == "" {
		return ranges, nil, nil
	}
	var c cadreCursor
	if err := DecodeCursor(cursor, &c); err != nil {
		return nil, nil, err
	}
	for len(ranges) > 0 && !strings.HasPrefix(c.GSI1SK, ranges[0]) {
		ranges = ranges[1:]
	}
	if _, ok := parseShardPK(c.GSI1PK); len(ranges) == 0 || !ok || c.PK == "" || c.SK == "" {
		return nil, nil, training.Errorf(training.EINVALID, "the cursor does not belong to this listing")
	}
	return ranges, &c, nil
}

// ListCadres lists a unit subtree ("" = all) in (unit, id) order from every shard of gsi1 (an
// eventually consistent read, as every GSI read). It reads one item past the page to know whether
// another page follows, so the last page returns cursor "". The cursor is the last returned
// item's index key, which also tells the range.
func (s *Store) ListCadres(ctx context.Context, unitPrefix, cursor string, limit int) ([]training.Cadre, string, error) {
	pks := make([]string, CadreShards)
	for i := range pks {
		pks[i] = shardPK(i)
	}
	return s.listCadres(ctx, pks, unitPrefix, cursor, limit)
}

// CadreSegments is the number of segments ListCadreSegment splits the cadres into: the shards.
func (s *Store) CadreSegments() int { return CadreShards }

// ListCadreSegment lists the cadres of one shard of gsi1 (segment in [0, CadreSegments())) in a
// unit subtree, paginated as ListCadres; the segments together list each cadre once.
func (s *Store) ListCadreSegment(ctx context.Context, segment int, unitPrefix, cursor string, limit int) ([]training.Cadre, string, error) {
	if segment < 0 || segment >= CadreShards {
		return nil, "", training.Errorf(training.EINVALID, "segment %d is not in [0, %d)", segment, CadreShards)
	}
	return s.listCadres(ctx, []string{shardPK(segment)}, unitPrefix, cursor, limit)
}

// CountCadreSegment counts the cadres of one shard in a unit subtree with Select COUNT queries
// (charged for the index items read, not returning them).
func (s *Store) CountCadreSegment(ctx context.Context, segment int, unitPrefix string) (int, error) {
	if segment < 0 || segment >= CadreShards {
		return 0, training.Errorf(training.EINVALID, "segment %d is not in [0, %d)", segment, CadreShards)
	}
	n := 0
	for _, prefix := range subtreeRanges(unitPrefix) {
		in, err := unitIndex.query(shardPK(segment), prefix)
		if err != nil {
			return 0, err
		}
		in.TableName = aws.String(s.table)
		in.Select = types.SelectCount
		p := dynamodb.NewQueryPaginator(s.db, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return 0, fmt.Errorf("dynamo: count cadres of shard %d in %q: %w", segment, unitPrefix, err)
			}
			n += int(page.Count)
		}
	}
	return n, nil
}

// shardedIndex is a GSI whose entries are spread over several partition keys (shards) and sorted
// by unit, then id, within each: gsi1 (cadres, all attributes) and gsi2 (a year's report facts,
// keys only).
type shardedIndex struct{ name, pkAttr, skAttr string }

var (
	unitIndex  = shardedIndex{indexGSI1, attrGSI1PK, attrGSI1SK}
	factsIndex = shardedIndex{indexGSI2, attrGSI2PK, attrGSI2SK}
)

// query is the Query of one partition pk of the index over the sort-key range prefix ("" = all).
func (ix shardedIndex) query(pk, prefix string) (*dynamodb.QueryInput, error) {
	kc := expression.Key(ix.pkAttr).Equal(expression.Value(pk))
	if prefix != "" {
		kc = kc.And(expression.Key(ix.skAttr).BeginsWith(prefix))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("dynamo: build %s listing: %w", ix.name, err)
	}
	return &dynamodb.QueryInput{
		IndexName:                 aws.String(ix.name),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

// indexPos is a position in a sharded index: an entry's table key and index sort key (DynamoDB
// positions by key, so the same position holds in every shard, whether or not the entry is there).
type indexPos struct{ pk, sk, indexSK string }

func (s *Store) listCadres(ctx context.Context, pks []string, unitPrefix, cursor string, limit int) ([]training.Cadre, string, error) {
	if limit <= 0 {
		limit = 100
	}
	ranges, after, err := startAfter(subtreeRanges(unitPrefix), cursor)
	if err != nil {
		return nil, "", err
	}
	var raw []map[string]types.AttributeValue
	for i, prefix := range ranges {
		var start *indexPos
		if i == 0 && after != nil {
			start = &indexPos{after.PK, after.SK, after.GSI1SK}
		}
		got, err := s.mergeShards(ctx, unitIndex, pks, prefix, start, limit+1-len(raw))
		if err != nil {
			return nil, "", fmt.Errorf("dynamo: list cadres in %q: %w", unitPrefix, err)
		}
		raw = append(raw, got...)
		if len(raw) > limit {
			break
		}
	}
	var items []cadreItem
	if err := attributevalue.UnmarshalListOfMaps(raw, &items); err != nil {
		return nil, "", fmt.Errorf("dynamo: unmarshal cadres: %w", err)
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		last := items[limit-1]
		next = EncodeCursor(cadreCursor{PK: last.PK, SK: last.SK, GSI1PK: last.GSI1PK, GSI1SK: last.GSI1SK})
	}
	cadres := make([]training.Cadre, 0, len(items))
	for _, it := range items {
		c, err := it.cadre()
		if err != nil {
			return nil, "", err
		}
		cadres = append(cadres, c)
	}
	return cadres, next, nil
}

// shardReader pages through one shard's part of a range.
type shardReader struct {
	pk    string
	buf   []map[string]types.AttributeValue
	start map[string]types.AttributeValue // ExclusiveStartKey of the next page
	done  bool
}

// mergeShards returns up to want entries of the index's range prefix after start, merged from the
// partitions pks in sort-key order (the sort key is unique: it ends in the cadre id). Every
// partition is queried in parallel for about its share of want (twice it, since the hash spreads
// cadres evenly but not exactly); one whose page is used up before the merge is complete is read
// further.
func (s *Store) mergeShards(ctx context.Context, ix shardedIndex, pks []string, prefix string, start *indexPos, want int) ([]map[string]types.AttributeValue, error) {
	readers := make([]*shardReader, len(pks))
	for i, pk := range pks {
		r := &shardReader{pk: pk}
		if start != nil {
			r.start = map[string]types.AttributeValue{
				attrPK:    &types.AttributeValueMemberS{Value: start.pk},
				attrSK:    &types.AttributeValueMemberS{Value: start.sk},
				ix.pkAttr: &types.AttributeValueMemberS{Value: pk},
				ix.skAttr: &types.AttributeValueMemberS{Value: start.indexSK},
			}
		}
		readers[i] = r
	}
	page := min(1000, max(2, 2*want/len(pks)+1))
	var out []map[string]types.AttributeValue
	for len(out) < want {
		// Refill, in parallel, every shard whose buffer is empty and that has more.
		var need []*shardReader
		for _, r := range readers {
			if len(r.buf) == 0 && !r.done {
				need = append(need, r)
			}
		}
		if err := s.fill(ctx, ix, need, prefix, page); err != nil {
			return nil, err
		}
		var head *shardReader
		for _, r := range readers {
			if len(r.buf) > 0 && (head == nil || attrString(r.buf[0], ix.skAttr) < attrString(head.buf[0], ix.skAttr)) {
				head = r
			}
		}
		if head == nil {
			break // every shard read to the end of the range
		}
		out = append(out, head.buf[0])
		head.buf = head.buf[1:]
	}
	return out, nil
}

func (s *Store) fill(ctx context.Context, ix shardedIndex, readers []*shardReader, prefix string, limit int) error {
	errs := make([]error, len(readers))
	var wg sync.WaitGroup
	for i, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, err := ix.query(r.pk, prefix)
			if err != nil {
				errs[i] = err
				return
			}
			in.TableName, in.ExclusiveStartKey, in.Limit = aws.String(s.table), r.start, aws.Int32(int32(limit))
			out, err := s.db.Query(ctx, in)
			if err != nil {
				errs[i] = fmt.Errorf("%s %s: %w", ix.name, r.pk, err)
				return
			}
			r.buf, r.start, r.done = out.Items, out.LastEvaluatedKey, out.LastEvaluatedKey == nil
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// BackfillCadreShards moves the cadres of a table written before the unit index was sharded
// (gsi1pk "CADRES") to their shards: a parallel Scan in segments (1 to 1000) for cadre items still
// in the old index partition, and an UpdateItem of each, on condition that it is still there. It
// returns how many it moved; run again, it moves none. docs/dynamodb.md, "Migration". progress
// (when not nil) is called after every page scanned, with the items scanned and moved so far.
func (s *Store) BackfillCadreShards(ctx context.Context, segments int, progress func(scanned, changed int)) (int, error) {
	filter := expression.Name(attrType).Equal(expression.Value(typeCadre)).
		And(expression.Name(attrGSI1PK).Equal(expression.Value(gsi1PKCadres)))
	return s.scanEach(ctx, "backfill cadre shards", segments, filter, progress, func(item map[string]types.AttributeValue) (bool, error) {
		return s.moveToShard(ctx, attrString(item, attrPK), attrString(item, attrSK), attrString(item, "cadre_id"))
	}, attrPK, attrSK, "cadre_id")
}

// scanEach runs a parallel Scan in segments (1 to 1000) of the items that pass filter, projected
// to names, and calls fn on each; it counts the items for which fn says true, and calls progress
// (if not nil) after each page with the items scanned (read, filtered or not) and counted so far.
// Migrations only: no request path scans.
func (s *Store) scanEach(ctx context.Context, what string, segments int, filter expression.ConditionBuilder, progress func(scanned, changed int), fn func(map[string]types.AttributeValue) (bool, error), names ...string) (int, error) {
	segments = min(max(segments, 1), 1000)
	proj := expression.NamesList(expression.Name(names[0]))
	for _, n := range names[1:] {
		proj = proj.AddNames(expression.Name(n))
	}
	expr, err := expression.NewBuilder().WithFilter(filter).WithProjection(proj).Build()
	if err != nil {
		return 0, fmt.Errorf("dynamo: build %s scan: %w", what, err)
	}
	var (
		mu            sync.Mutex
		scanned, done int
		errs          = make([]error, segments)
		wg            sync.WaitGroup
	)
	for seg := 0; seg < segments; seg++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
				TableName:                 aws.String(s.table),
				Segment:                   aws.Int32(int32(seg)),
				TotalSegments:             aws.Int32(int32(segments)),
				FilterExpression:          expr.Filter(),
				ProjectionExpression:      expr.Projection(),
				ExpressionAttributeNames:  expr.Names(),
				ExpressionAttributeValues: expr.Values(),
			})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					errs[seg] = fmt.Errorf("dynamo: %s: scan segment %d: %w", what, seg, err)
					return
				}
				for _, item := range page.Items {
					ok, err := fn(item)
					if err != nil {
						errs[seg] = err
						return
					}
					if ok {
						mu.Lock()
						done++
						mu.Unlock()
					}
				}
				mu.Lock()
				scanned += int(page.ScannedCount)
				if progress != nil {
					progress(scanned, done)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// moveToShard sets a cadre item's gsi1pk to its shard if it is still "CADRES".
func (s *Store) moveToShard(ctx context.Context, pk, sk, id string) (bool, error) {
	upd := expression.Set(expression.Name(attrGSI1PK), expression.Value(shardPK(cadreShard(id))))
	cond := expression.Name(attrGSI1PK).Equal(expression.Value(gsi1PKCadres))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("dynamo: build backfill update: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(pk, sk),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if isCondFailed(err) { // moved meanwhile (written again by PutCadre, or another backfill)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamo: backfill cadre %q: %w", id, err)
	}
	return true, nil
}

// Package dynamo implements training.Store on one DynamoDB table (docs/dynamodb.md has the key
// design and access patterns) and its stream, and converts stream records to training.Changes
// for the Lambda stream handlers.
package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Store is training.Store on a DynamoDB table made from TableInput.
type Store struct {
	db    *dynamodb.Client
	feed  training.ChangeFeed
	table string
}

var _ training.Store = (*Store)(nil)

// New returns a Store on table. feed reads its stream (shared/dynamo/streamfeed); nil when
// ReadChanges is not used (the Lambda functions get changes from their event source mappings).
func New(client *dynamodb.Client, feed training.ChangeFeed, table string) *Store {
	return &Store{db: client, feed: feed, table: table}
}

// TableName is the table the store works on.
func (s *Store) TableName() string { return s.table }

// Close releases nothing: the SDK clients are the caller's.
func (s *Store) Close() error { return nil }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func isCondFailed(err error) bool {
	var e *types.ConditionalCheckFailedException
	return errors.As(err, &e)
}

// getItem reads one item with a strongly consistent GetItem; nil when absent.
func (s *Store) getItem(ctx context.Context, what, pk, sk string) (map[string]types.AttributeValue, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo: get %s: %w", what, err)
	}
	return out.Item, nil
}

// queryAll runs a strongly consistent Query on the table through every page.
func (s *Store) queryAll(ctx context.Context, what string, expr expression.Expression) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
	}
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamo: query %s: %w", what, err)
		}
		items = append(items, page.Items...)
	}
	return items, nil
}

func partitionQuery(pk, skPrefix string, filter *expression.ConditionBuilder) (expression.Expression, error) {
	kc := expression.Key(attrPK).Equal(expression.Value(pk)).
		And(expression.Key(attrSK).BeginsWith(skPrefix))
	b := expression.NewBuilder().WithKeyCondition(kc)
	if filter != nil {
		b = b.WithFilter(*filter)
	}
	return b.Build()
}

// ---- cadres

// GetCadre returns the cadre, or ENOTFOUND.
func (s *Store) GetCadre(ctx context.Context, id string) (training.Cadre, error) {
	item, err := s.getItem(ctx, fmt.Sprintf("cadre %q", id), cadrePK(id), skProfile)
	if err != nil {
		return training.Cadre{}, err
	}
	if item == nil {
		return training.Cadre{}, training.Errorf(training.ENOTFOUND, "cadre %q not found", id)
	}
	return unmarshalCadre(item)
}

func unmarshalCadre(item map[string]types.AttributeValue) (training.Cadre, error) {
	var it cadreItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return training.Cadre{}, fmt.Errorf("dynamo: unmarshal cadre: %w", err)
	}
	return it.cadre()
}

// PutCadre puts the cadre on condition that it does not exist (expectVersion 0) or that its
// stored version is expectVersion.
func (s *Store) PutCadre(ctx context.Context, c training.Cadre, expectVersion int64) (training.Cadre, error) {
	c.Version = expectVersion + 1
	item, err := attributevalue.MarshalMap(toCadreItem(c))
	if err != nil {
		return training.Cadre{}, fmt.Errorf("dynamo: marshal cadre %q: %w", c.ID, err)
	}
	cond := expression.AttributeNotExists(expression.Name(attrPK))
	if expectVersion != 0 {
		cond = expression.Name("version").Equal(expression.Value(expectVersion))
	}
	stored, err := s.putIf(ctx, fmt.Sprintf("cadre %q", c.ID), item, cond)
	switch {
	case err != nil:
		return training.Cadre{}, err
	case !stored && expectVersion == 0:
		return training.Cadre{}, training.Errorf(training.ECONFLICT, "cadre %q already exists", c.ID)
	case !stored:
		return training.Cadre{}, training.Errorf(training.ECONFLICT, "cadre %q is not at version %d", c.ID, expectVersion)
	}
	return c, nil
}

// putIf puts item when cond holds and reports whether it did; a failed condition is not an error.
func (s *Store) putIf(ctx context.Context, what string, item map[string]types.AttributeValue, cond expression.ConditionBuilder) (bool, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("dynamo: build the condition for %s: %w", what, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if isCondFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamo: put %s: %w", what, err)
	}
	return true, nil
}

// EncodeCursor writes a page or feed position as an opaque cursor (base64url JSON).
func EncodeCursor(v any) string {
	b, _ := json.Marshal(v) // plain structs: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor EncodeCursor wrote into v; anything else is EINVALID.
func DecodeCursor(cursor string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
	}
	if err != nil {
		return training.Errorf(training.EINVALID, "the cursor is not one this service returned")
	}
	return nil
}

// ---- records

// CreateRecord decides the idempotency key with one conditional PutItem, of the record key item
// RECORD#<id> (the id is derived from the key): of concurrent creates exactly one writes it. The
// one that did then puts the record item into the cadre's partition, also on
// attribute_not_exists(pk). Two PutItems, 2 write units for items up to 1 KB, where one
// TransactWriteItems of the same two items is charged 4 (docs/dynamodb.md).
//
// A key that exists decides by its content hash: another hash is Conflict, the same hash
// Duplicate, provided the record item is there. It is not there only when a create stopped between
// the two puts (its caller got an error, so the source sends it again) or is between them right
// now: then this create puts the record item itself, and whichever record put succeeds is the one
// Created; the other returns the stored record as Duplicate.
func (s *Store) CreateRecord(ctx context.Context, r training.Record) (training.Record, training.CreateOutcome, error) {
	if err := r.CheckSealed(); err != nil {
		return training.Record{}, "", err
	}
	if r.Status == "" {
		r.Status = training.StatusActive
	}
	what := fmt.Sprintf("record %q", r.ID)
	recItem, err := marshalRecord(r)
	if err != nil {
		return training.Record{}, "", err
	}
	k := recordKeyItem{
		PK: recordKeyPK(r.ID), SK: skRecordKey, Type: typeRecordKey, ID: r.ID, CadreID: r.CadreID,
		Source: r.Source, ExternalID: r.ExternalID, ContentHash: r.ContentHash,
	}
	keyItem, err := attributevalue.MarshalMap(k)
	if err != nil {
		return training.Record{}, "", fmt.Errorf("dynamo: marshal record key %q: %w", r.ID, err)
	}
	notExists := expression.AttributeNotExists(expression.Name(attrPK))
	won, err := s.putIf(ctx, what+" key", keyItem, notExists)
	if err != nil {
		return training.Record{}, "", err
	}
	if !won {
		item, err := s.getItem(ctx, what+" key", recordKeyPK(r.ID), skRecordKey)
		if err != nil {
			return training.Record{}, "", err
		}
		if err := attributevalue.UnmarshalMap(item, &k); err != nil {
			return training.Record{}, "", fmt.Errorf("dynamo: unmarshal record key %q: %w", r.ID, err)
		}
		if k.ContentHash != r.ContentHash {
			existing, err := s.awaitRecord(ctx, k)
			return existing, training.Conflict, err
		}
		// A duplicate: a read of the record (cheaper than a put whose condition fails) finds it.
		item, err = s.getItem(ctx, what, cadrePK(k.CadreID), recordSK(k.ID))
		if err != nil {
			return training.Record{}, "", err
		}
		if item != nil {
			existing, err := unmarshalRecord(item)
			return existing, training.Duplicate, err
		}
	}
	put, err := s.putIf(ctx, what, recItem, notExists)
	switch {
	case err != nil:
		return training.Record{}, "", err
	case put:
		return r, training.Created, nil
	}
	existing, err := s.awaitRecord(ctx, k)
	return existing, training.Duplicate, err
}

// awaitRecord reads the record of a key item. The record item follows its key item by one
// request; while it is missing, awaitRecord reads again a few times, and then settles for what the
// key item holds (id, cadre, key and content hash): its create stopped between the two puts.
func (s *Store) awaitRecord(ctx context.Context, k recordKeyItem) (training.Record, error) {
	for attempt := 0; ; attempt++ {
		item, err := s.getItem(ctx, fmt.Sprintf("record %q", k.ID), cadrePK(k.CadreID), recordSK(k.ID))
		if err != nil {
			return training.Record{}, err
		}
		if item != nil {
			return unmarshalRecord(item)
		}
		if attempt >= 5 {
			return training.Record{ID: k.ID, CadreID: k.CadreID, Source: k.Source, ExternalID: k.ExternalID,
				ContentHash: k.ContentHash, Status: training.StatusActive}, nil
		}
		if err := sleepBackoff(ctx, attempt); err != nil {
			return training.Record{}, fmt.Errorf("dynamo: read record %q: %w", k.ID, err)
		}
	}
}

// sleepBackoff waits 10 ms × 2^attempt before another try, or returns the context's error.
func sleepBackoff(ctx context.Context, attempt int) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(10<<attempt) * time.Millisecond):
		return nil
	}
}

// GetRecord reads the record key item, then the record in its cadre's partition.
func (s *Store) GetRecord(ctx context.Context, id string) (training.Record, error) {
	what := fmt.Sprintf("record %q", id)
	kItem, err := s.getItem(ctx, what+" key", recordKeyPK(id), skRecordKey)
	if err != nil {
		return training.Record{}, err
	}
	if kItem == nil {
		return training.Record{}, training.Errorf(training.ENOTFOUND, "record %q not found", id)
	}
	var k recordKeyItem
	if err := attributevalue.UnmarshalMap(kItem, &k); err != nil {
		return training.Record{}, fmt.Errorf("dynamo: unmarshal record key %q: %w", id, err)
	}
	item, err := s.getItem(ctx, what, cadrePK(k.CadreID), recordSK(id))
	if err != nil {
		return training.Record{}, err
	}
	if item == nil {
		return training.Record{}, training.Errorf(training.ENOTFOUND, "record %q not found", id)
	}
	return unmarshalRecord(item)
}

// ListRecords queries the cadre's partition (strongly consistent) for REC# items.
func (s *Store) ListRecords(ctx context.Context, cadreID string) ([]training.Record, error) {
	expr, err := partitionQuery(cadrePK(cadreID), recordPrefix, nil)
	if err != nil {
		return nil, fmt.Errorf("dynamo: build record query: %w", err)
	}
	items, err := s.queryAll(ctx, fmt.Sprintf("records of cadre %q", cadreID), expr)
	if err != nil {
		return nil, err
	}
	recs := make([]training.Record, 0, len(items))
	for _, item := range items {
		r, err := unmarshalRecord(item)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	sortRecords(recs)
	return recs, nil
}

// sortRecords orders records as ListRecords returns them: newest attribution date first, then id.
func sortRecords(recs []training.Record) {
	sort.SliceStable(recs, func(i, j int) bool {
		if c := recs[i].AttributionDate().Compare(recs[j].AttributionDate()); c != 0 {
			return c > 0
		}
		return recs[i].ID < recs[j].ID
	})
}

// LoadCadre is LoadCadreFacts without the facts.
func (s *Store) LoadCadre(ctx context.Context, cadreID string) (training.Cadre, []training.Record, *training.Status, error) {
	c, recs, snap, _, err := s.LoadCadreFacts(ctx, cadreID)
	return c, recs, snap, err
}

// LoadCadreFacts reads what a recompute needs of one cadre with one strongly consistent Query of
// its partition, sort keys PROFILE through STATUS: the profile, every record (REC#…), the report
// facts of each year (REPORT#…, after the records) and the stored snapshot (nil when none). Form
// entries (FORM#…) sort before PROFILE and are not read. An unknown cadre is ENOTFOUND.
func (s *Store) LoadCadreFacts(ctx context.Context, cadreID string) (training.Cadre, []training.Record, *training.Status, map[int]training.Facts, error) {
	kc := expression.Key(attrPK).Equal(expression.Value(cadrePK(cadreID))).
		And(expression.Key(attrSK).Between(expression.Value(skProfile), expression.Value(skStatus)))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return training.Cadre{}, nil, nil, nil, fmt.Errorf("dynamo: build cadre query: %w", err)
	}
	items, err := s.queryAll(ctx, fmt.Sprintf("cadre %q with records and snapshot", cadreID), expr)
	if err != nil {
		return training.Cadre{}, nil, nil, nil, err
	}
	var (
		c     training.Cadre
		found bool
		recs  = make([]training.Record, 0, len(items))
		snap  *training.Status
		facts = map[int]training.Facts{}
	)
	for _, item := range items {
		switch itemType(item) {
		case typeCadre:
			if c, err = unmarshalCadre(item); err != nil {
				return training.Cadre{}, nil, nil, nil, err
			}
			found = true
		case typeRecord:
			r, err := unmarshalRecord(item)
			if err != nil {
				return training.Cadre{}, nil, nil, nil, err
			}
			recs = append(recs, r)
		case typeStatus:
			st, err := unmarshalStatus(cadreID, item)
			if err != nil {
				return training.Cadre{}, nil, nil, nil, err
			}
			snap = &st
		case typeFacts:
			f, err := unmarshalFacts(item)
			if err != nil {
				return training.Cadre{}, nil, nil, nil, err
			}
			facts[f.Year] = f
		}
	}
	if !found {
		return training.Cadre{}, nil, nil, nil, training.Errorf(training.ENOTFOUND, "cadre %q not found", cadreID)
	}
	sortRecords(recs)
	return c, recs, snap, facts, nil
}

// VoidRecord updates the record item on condition that it is still active.
func (s *Store) VoidRecord(ctx context.Context, id string, v training.Voiding) (training.Record, bool, error) {
	r, err := s.GetRecord(ctx, id)
	if err != nil {
		return training.Record{}, false, err
	}
	if r.Status == training.StatusVoided {
		return r, false, nil
	}
	vi, err := attributevalue.Marshal(toVoidItem(&v))
	if err != nil {
		return training.Record{}, false, fmt.Errorf("dynamo: marshal voiding: %w", err)
	}
	upd := expression.Set(expression.Name("status"), expression.Value(string(training.StatusVoided))).
		Set(expression.Name("void"), expression.Value(vi))
	cond := expression.Name("status").Equal(expression.Value(string(training.StatusActive)))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return training.Record{}, false, fmt.Errorf("dynamo: build void update: %w", err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(cadrePK(r.CadreID), recordSK(id)),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isCondFailed(err) { // voided meanwhile by someone else
		r, err := s.GetRecord(ctx, id)
		return r, false, err
	}
	if err != nil {
		return training.Record{}, false, fmt.Errorf("dynamo: void record %q: %w", id, err)
	}
	r, err = unmarshalRecord(out.Attributes)
	if err != nil {
		return training.Record{}, false, err
	}
	return r, true, nil
}

// ---- snapshots

// PutSnapshot puts the status on condition that none is stored or the stored one was not
// computed later.
func (s *Store) PutSnapshot(ctx context.Context, st training.Status) error {
	_, err := s.putSnapshot(ctx, st)
	return err
}

// putSnapshot puts the status unless a newer or an equal one is stored; it reports whether it wrote.
func (s *Store) putSnapshot(ctx context.Context, st training.Status) (bool, error) {
	it, err := toStatusItem(st)
	if err != nil {
		return false, err
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return false, fmt.Errorf("dynamo: marshal status of %q: %w", st.CadreID, err)
	}
	// A newer snapshot already stored is kept, and so is an equal one: the put just does not happen.
	cond := expression.AttributeNotExists(expression.Name(attrPK)).
		Or(expression.Name("computed_at_ns").LessThanEqual(expression.Value(it.ComputedAtNS))).
		And(expression.AttributeNotExists(expression.Name("status_hash")).
			Or(expression.Name("status_hash").NotEqual(expression.Value(it.StatusHash))))
	return s.putIf(ctx, fmt.Sprintf("snapshot of %q", st.CadreID), item, cond)
}

// GetSnapshot returns the cadre's snapshot, or ENOTFOUND.
func (s *Store) GetSnapshot(ctx context.Context, cadreID string) (training.Status, error) {
	item, err := s.getItem(ctx, fmt.Sprintf("snapshot of %q", cadreID), cadrePK(cadreID), skStatus)
	if err != nil {
		return training.Status{}, err
	}
	if item == nil {
		return training.Status{}, training.Errorf(training.ENOTFOUND, "no status snapshot for cadre %q", cadreID)
	}
	return unmarshalStatus(cadreID, item)
}

func unmarshalStatus(cadreID string, item map[string]types.AttributeValue) (training.Status, error) {
	var it statusItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return training.Status{}, fmt.Errorf("dynamo: unmarshal snapshot of %q: %w", cadreID, err)
	}
	var st training.Status
	if err := json.Unmarshal([]byte(it.Doc), &st); err != nil {
		return training.Status{}, fmt.Errorf("dynamo: decode snapshot of %q: %w", cadreID, err)
	}
	return st, nil
}

// ---- form entries

// PutFormEntry puts the entry on condition that no withdrawn entry has its key.
// PutFormEntries puts each entry with PutFormEntry: each is a conditional write (a withdrawn entry
// stays withdrawn), which BatchWriteItem cannot express.
func (s *Store) PutFormEntries(ctx context.Context, es []training.FormEntry) error {
	for _, e := range es {
		if err := s.PutFormEntry(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) PutFormEntry(ctx context.Context, e training.FormEntry) error {
	item, err := attributevalue.MarshalMap(toFormEntryItem(e))
	if err != nil {
		return fmt.Errorf("dynamo: marshal form entry: %w", err)
	}
	// A withdrawn entry stays withdrawn for good: the put just does not happen.
	cond := expression.AttributeNotExists(expression.Name(attrPK)).
		Or(expression.Name("status").NotEqual(expression.Value(string(training.EntryWithdrawn))))
	_, err = s.putIf(ctx, fmt.Sprintf("%s entry of record %q for cadre %q", e.Form, e.RecordID, e.CadreID), item, cond)
	return err
}

func (s *Store) formEntries(ctx context.Context, cadreID, skPrefix string, filter *expression.ConditionBuilder) ([]training.FormEntry, error) {
	expr, err := partitionQuery(cadrePK(cadreID), skPrefix, filter)
	if err != nil {
		return nil, fmt.Errorf("dynamo: build form entry query: %w", err)
	}
	items, err := s.queryAll(ctx, fmt.Sprintf("form entries of cadre %q", cadreID), expr)
	if err != nil {
		return nil, err
	}
	var its []formEntryItem
	if err := attributevalue.UnmarshalListOfMaps(items, &its); err != nil {
		return nil, fmt.Errorf("dynamo: unmarshal form entries: %w", err)
	}
	entries := make([]training.FormEntry, 0, len(its))
	for _, it := range its {
		e, err := it.entry()
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// ListFormEntries queries the cadre's partition for FORM#<form># items.
func (s *Store) ListFormEntries(ctx context.Context, cadreID string, form training.FormKind) ([]training.FormEntry, error) {
	entries, err := s.formEntries(ctx, cadreID, formSKPrefix(form), nil)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(entries, func(i, j int) bool {
		if c := entries[i].StartDate.Compare(entries[j].StartDate); c != 0 {
			return c > 0
		}
		return entries[i].RecordID < entries[j].RecordID
	})
	return entries, nil
}

// WithdrawFormEntries queries the cadre's active entries of the record (any form) and withdraws
// each with an update conditional on its still being active.
func (s *Store) WithdrawFormEntries(ctx context.Context, cadreID, recordID string, w training.Voiding) (int, error) {
	filter := expression.Name("record_id").Equal(expression.Value(recordID)).
		And(expression.Name("status").Equal(expression.Value(string(training.EntryActive))))
	entries, err := s.formEntries(ctx, cadreID, formPrefix, &filter)
	if err != nil {
		return 0, err
	}
	wi, err := attributevalue.Marshal(toVoidItem(&w))
	if err != nil {
		return 0, fmt.Errorf("dynamo: marshal withdrawal: %w", err)
	}
	upd := expression.Set(expression.Name("status"), expression.Value(string(training.EntryWithdrawn))).
		Set(expression.Name("withdrawal"), expression.Value(wi))
	cond := expression.Name("status").Equal(expression.Value(string(training.EntryActive)))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return 0, fmt.Errorf("dynamo: build withdrawal: %w", err)
	}
	n := 0
	for _, e := range entries {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       key(cadrePK(cadreID), formSK(e.Form, e.RecordID)),
			UpdateExpression:          expr.Update(),
			ConditionExpression:       expr.Condition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		})
		if isCondFailed(err) { // withdrawn meanwhile: keeps its first withdrawal
			continue
		}
		if err != nil {
			return n, fmt.Errorf("dynamo: withdraw %s entry of record %q for cadre %q: %w", e.Form, recordID, cadreID, err)
		}
		n++
	}
	return n, nil
}

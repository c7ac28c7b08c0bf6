// Package streamfeed reads a DynamoDB table's stream as the change feed (training.ChangeFeed) of
// the one-machine server's DynamoDB mode (cmd/cadred -store dynamodb). It is apart from
// shared/dynamo so that the Lambda functions, which get the stream as events from their event
// source mappings, do not link the DynamoDB Streams client.
package streamfeed

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	sttypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Reader reads the stream of one table.
type Reader struct {
	db      *dynamodb.Client
	streams *dynamodbstreams.Client
	table   string

	mu        sync.Mutex
	streamARN string // the table's latest stream, looked up once
}

var _ training.ChangeFeed = (*Reader)(nil)

// New returns the reader of table's stream.
func New(db *dynamodb.Client, streams *dynamodbstreams.Client, table string) *Reader {
	return &Reader{db: db, streams: streams, table: table}
}

// NewStore returns the store on table with its stream as its change feed.
func NewStore(db *dynamodb.Client, streams *dynamodbstreams.Client, table string) *dynamo.Store {
	return dynamo.New(db, New(db, streams, table), table)
}

// LocalClients returns clients for DynamoDB Local at endpoint (e.g. http://127.0.0.1:8000) with
// static dummy credentials and region; DynamoDB Local accepts any.
func LocalClients(endpoint string) (*dynamodb.Client, *dynamodbstreams.Client) {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("local", "local", "")),
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	st := dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(endpoint) })
	return db, st
}

// changeCursor is ReadChanges' position in the table's stream: per shard the sequence number of
// the last stream record consumed (a change or a skipped item), and the shards read to their end.
type changeCursor struct {
	Stream string            `json:"stream"`
	Seq    map[string]string `json:"seq,omitempty"`
	Done   []string          `json:"done,omitempty"`
}

// Bounds on the work of one ReadChanges call.
const (
	maxGetRecordsPerShard = 20
	maxGetRecordsLimit    = 1000
)

func (s *Reader) latestStreamARN(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streamARN != "" {
		return s.streamARN, nil
	}
	out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	if err != nil {
		return "", fmt.Errorf("streamfeed: describe table %q for its stream: %w", s.table, err)
	}
	arn := aws.ToString(out.Table.LatestStreamArn)
	if arn == "" {
		return "", fmt.Errorf("streamfeed: table %q has no stream", s.table)
	}
	s.streamARN = arn
	return arn, nil
}

func (s *Reader) shards(ctx context.Context, arn string) ([]sttypes.Shard, error) {
	var shards []sttypes.Shard
	var start *string
	for {
		out, err := s.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{
			StreamArn: aws.String(arn), ExclusiveStartShardId: start,
		})
		if err != nil {
			return nil, fmt.Errorf("streamfeed: describe stream of %q: %w", s.table, err)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		start = out.StreamDescription.LastEvaluatedShardId
		if start == nil {
			return shards, nil
		}
	}
}

// ReadChanges reads the table's stream. Shards are read parents first (a child only once its
// parent is read to its end), so the changes of one cadre, whose partition is in one shard at
// a time, come in the order they were made. Only record items make Changes; other items'
// stream records are skipped, the cursor moving past them.
func (s *Reader) ReadChanges(ctx context.Context, cursor string, limit int) ([]training.Change, string, error) {
	if limit <= 0 {
		limit = 100
	}
	arn, err := s.latestStreamARN(ctx)
	if err != nil {
		return nil, "", err
	}
	cur := changeCursor{Stream: arn}
	if cursor != "" {
		if err := dynamo.DecodeCursor(cursor, &cur); err != nil {
			return nil, "", err
		}
		if cur.Stream != arn {
			return nil, "", training.Errorf(training.EINVALID, "the cursor belongs to another stream")
		}
	}
	shards, err := s.shards(ctx, arn)
	if err != nil {
		return nil, "", err
	}
	listed := make(map[string]bool, len(shards))
	for _, sh := range shards {
		listed[aws.ToString(sh.ShardId)] = true
	}
	done := map[string]bool{}
	for _, id := range cur.Done {
		if listed[id] { // shards trimmed from the stream are forgotten
			done[id] = true
		}
	}
	seq := map[string]string{}
	for id, n := range cur.Seq {
		if listed[id] && !done[id] {
			seq[id] = n
		}
	}
	var changes []training.Change
	moved := false
	visited := map[string]bool{}
	for progress := true; progress && len(changes) < limit; {
		progress = false
		for _, sh := range shards {
			id := aws.ToString(sh.ShardId)
			parent := aws.ToString(sh.ParentShardId)
			if done[id] || visited[id] || (parent != "" && listed[parent] && !done[parent]) {
				continue
			}
			visited[id] = true
			got, last, closed, err := s.readShard(ctx, arn, sh, seq[id], limit-len(changes))
			if err != nil {
				return nil, "", err
			}
			changes = append(changes, got...)
			if last != "" && last != seq[id] {
				seq[id] = last
				moved = true
			}
			if closed {
				done[id] = true
				delete(seq, id)
				moved = true
				progress = true // its children may be read now
			}
			if len(changes) >= limit {
				break
			}
		}
	}
	// With no change to return the cursor stays as it was, even if skipped items were read
	// past (the contract: unchanged when there is nothing new); they are read past again.
	if !moved || len(changes) == 0 {
		return changes, cursor, nil
	}
	next := changeCursor{Stream: arn, Seq: seq}
	for id := range done {
		next.Done = append(next.Done, id)
	}
	sort.Strings(next.Done)
	return changes, dynamo.EncodeCursor(next), nil
}

// readShard reads up to limit changes from the shard after sequence number after ("" = from
// its start). It returns the sequence number of the last stream record consumed and whether the
// shard is closed and read to its end.
func (s *Reader) readShard(ctx context.Context, arn string, sh sttypes.Shard, after string, limit int) (changes []training.Change, last string, closed bool, err error) {
	id := aws.ToString(sh.ShardId)
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn), ShardId: sh.ShardId}
	if after == "" {
		in.ShardIteratorType = sttypes.ShardIteratorTypeTrimHorizon
	} else {
		in.ShardIteratorType = sttypes.ShardIteratorTypeAfterSequenceNumber
		in.SequenceNumber = aws.String(after)
	}
	it, err := s.streams.GetShardIterator(ctx, in)
	var trimmed *sttypes.TrimmedDataAccessException
	if errors.As(err, &trimmed) { // what we had read is gone from the stream: go on from the oldest kept
		in.ShardIteratorType, in.SequenceNumber = sttypes.ShardIteratorTypeTrimHorizon, nil
		it, err = s.streams.GetShardIterator(ctx, in)
	}
	if err != nil {
		return nil, "", false, fmt.Errorf("streamfeed: shard iterator of %s: %w", id, err)
	}
	last = after
	iter := it.ShardIterator
	shardClosed := sh.SequenceNumberRange != nil && sh.SequenceNumberRange.EndingSequenceNumber != nil
	for call := 0; iter != nil && call < maxGetRecordsPerShard; call++ {
		out, err := s.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{
			ShardIterator: iter,
			Limit:         aws.Int32(int32(min(max(limit, 1), maxGetRecordsLimit))),
		})
		if err != nil {
			return nil, "", false, fmt.Errorf("streamfeed: get records of shard %s: %w", id, err)
		}
		for _, rec := range out.Records {
			c, ok, err := changeFromStreamRecord(rec)
			if err != nil {
				return nil, "", false, err
			}
			if ok {
				if len(changes) >= limit {
					// Full: stop before this change, having read past the skipped items that
					// preceded it in this batch.
					return changes, last, false, nil
				}
				changes = append(changes, c)
			}
			last = aws.ToString(rec.Dynamodb.SequenceNumber)
		}
		if len(changes) >= limit {
			return changes, last, out.NextShardIterator == nil, nil
		}
		if out.NextShardIterator == nil {
			return changes, last, true, nil
		}
		if len(out.Records) == 0 && !shardClosed {
			break // nothing new in an open shard
		}
		iter = out.NextShardIterator
	}
	return changes, last, false, nil
}

func changeFromStreamRecord(rec sttypes.Record) (training.Change, bool, error) {
	sr := rec.Dynamodb
	if sr == nil {
		return training.Change{}, false, nil
	}
	oldImg, err := attributevalue.FromDynamoDBStreamsMap(sr.OldImage)
	if err != nil {
		return training.Change{}, false, fmt.Errorf("streamfeed: stream record %s old image: %w", aws.ToString(sr.SequenceNumber), err)
	}
	newImg, err := attributevalue.FromDynamoDBStreamsMap(sr.NewImage)
	if err != nil {
		return training.Change{}, false, fmt.Errorf("streamfeed: stream record %s new image: %w", aws.ToString(sr.SequenceNumber), err)
	}
	if len(oldImg) == 0 {
		oldImg = nil
	}
	if len(newImg) == 0 {
		newImg = nil
	}
	return dynamo.ChangeFromImages(string(rec.EventName), aws.ToString(sr.SequenceNumber), aws.ToTime(sr.ApproximateCreationDateTime), oldImg, newImg)
}

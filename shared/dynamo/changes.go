package dynamo

import (
	"context"
	"fmt"

	"github.com/cadre-training/cadretrain/shared/training"
)

// ReadChanges reads the store's change feed: the table's stream, through the reader it was made
// with (shared/dynamo/streamfeed, the one-machine server's DynamoDB mode). A store made without
// one (the Lambda functions, which get the stream as events) has no feed to read.
func (s *Store) ReadChanges(ctx context.Context, cursor string, limit int) ([]training.Change, string, error) {
	if s.feed == nil {
		return nil, "", fmt.Errorf("dynamo: this store reads no change feed (shared/dynamo/streamfeed makes one that does)")
	}
	return s.feed.ReadChanges(ctx, cursor, limit)
}

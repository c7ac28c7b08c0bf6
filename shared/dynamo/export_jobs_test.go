package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// JobExpiresAttr returns the job item's TTL attribute (TTLAttribute), 0 when absent (test-only).
func (s *Store) JobExpiresAttr(ctx context.Context, id string) (int64, error) {
	item, err := s.getItem(ctx, "job", jobPrefix+id, skJob)
	if err != nil || item == nil {
		return 0, fmt.Errorf("job %s: item %v, err %v", id, item, err)
	}
	var it jobItem
	err = attributevalue.UnmarshalMap(item, &it)
	return it.ExpiresAt, err
}

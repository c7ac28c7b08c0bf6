package dynamo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/cadre-training/cadretrain/shared/training"
)

// ---- job status: pk JOB#<id>, sk JOB. The training.Job is kept whole as its JSON document; the
// state and counts are copied out for operators, the version for the condition. Its key is
// outside the stream's filter (CADRE#…/REC#…), so checkpoints reach no consumer.

const (
	typeJob   = "job"
	jobPrefix = "JOB#"
	skJob     = "JOB"
)

type jobItem struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Type    string `dynamodbav:"type"`
	JobID   string `dynamodbav:"job_id"`
	State   string `dynamodbav:"state"`
	Total   int    `dynamodbav:"total"`
	Done    int    `dynamodbav:"done"`
	Failed  int    `dynamodbav:"failed"`
	Version int64  `dynamodbav:"version"`
	Doc     string `dynamodbav:"doc"`
	// ExpiresAt is the job's training.Job.ExpiresAt in Unix seconds: the table's TTL attribute
	// (TTLAttribute), so DynamoDB deletes the job within days of it.
	ExpiresAt int64 `dynamodbav:"expires_at,omitempty"`
}

// TTLAttribute is the table's Time to Live attribute (template.yaml's TimeToLiveSpecification):
// an item whose expires_at (Unix seconds) has passed is deleted by DynamoDB. Only jobs carry it.
const TTLAttribute = "expires_at"

// PutJob puts the job on condition that it does not exist (expectVersion 0) or that its stored
// version is expectVersion.
func (s *Store) PutJob(ctx context.Context, j training.Job, expectVersion int64) (training.Job, error) {
	if j.ID == "" {
		return training.Job{}, training.Errorf(training.EINVALID, "a job needs an id")
	}
	j.Version = expectVersion + 1
	doc, err := json.Marshal(j)
	if err != nil {
		return training.Job{}, fmt.Errorf("dynamo: encode job %q: %w", j.ID, err)
	}
	it := jobItem{
		PK: jobPrefix + j.ID, SK: skJob, Type: typeJob, JobID: j.ID, State: string(j.State),
		Total: j.Total, Done: j.Done, Failed: j.Failed, Version: j.Version, Doc: string(doc),
	}
	if !j.ExpiresAt.IsZero() {
		it.ExpiresAt = j.ExpiresAt.Unix()
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return training.Job{}, fmt.Errorf("dynamo: marshal job %q: %w", j.ID, err)
	}
	cond := expression.AttributeNotExists(expression.Name(attrPK))
	if expectVersion != 0 {
		cond = expression.Name("version").Equal(expression.Value(expectVersion))
	}
	stored, err := s.putIf(ctx, fmt.Sprintf("job %q", j.ID), item, cond)
	switch {
	case err != nil:
		return training.Job{}, err
	case !stored && expectVersion == 0:
		return training.Job{}, training.Errorf(training.ECONFLICT, "job %q already exists", j.ID)
	case !stored:
		return training.Job{}, training.Errorf(training.ECONFLICT, "job %q is not at version %d", j.ID, expectVersion)
	}
	return j, nil
}

// GetJob returns the job, or ENOTFOUND.
func (s *Store) GetJob(ctx context.Context, id string) (training.Job, error) {
	item, err := s.getItem(ctx, fmt.Sprintf("job %q", id), jobPrefix+id, skJob)
	if err != nil {
		return training.Job{}, err
	}
	if item == nil {
		return training.Job{}, training.Errorf(training.ENOTFOUND, "job %q not found", id)
	}
	var it jobItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return training.Job{}, fmt.Errorf("dynamo: unmarshal job %q: %w", id, err)
	}
	var j training.Job
	if err := json.Unmarshal([]byte(it.Doc), &j); err != nil {
		return training.Job{}, fmt.Errorf("dynamo: decode job %q: %w", id, err)
	}
	return j, nil
}

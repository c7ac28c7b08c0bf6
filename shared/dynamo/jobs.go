package dynamo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cadre-training/cadretrain/shared/training"
)

// ---- job: pk JOB#<id>, sk JOB; the progress of a background job as a JSON document. Its key is
// outside the stream's filter (CADRE#…/REC#…), so progress writes reach no consumer.

const (
	typeJob   = "job"
	jobPrefix = "JOB#"
	skJob     = "JOB"
)

type jobItem struct {
	PK    string `dynamodbav:"pk"`
	SK    string `dynamodbav:"sk"`
	Type  string `dynamodbav:"type"`
	State string `dynamodbav:"state"`
	Doc   string `dynamodbav:"doc"`
}

// PutJob stores the job's progress, replacing the stored one (one PutItem).
func (s *Store) PutJob(ctx context.Context, j training.Job) error {
	if j.ID == "" {
		return training.Errorf(training.EINVALID, "a job needs an id")
	}
	doc, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("dynamo: encode job %q: %w", j.ID, err)
	}
	item, err := attributevalue.MarshalMap(jobItem{PK: jobPrefix + j.ID, SK: skJob, Type: typeJob, State: string(j.State), Doc: string(doc)})
	if err != nil {
		return fmt.Errorf("dynamo: marshal job %q: %w", j.ID, err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("dynamo: put job %q: %w", j.ID, err)
	}
	return nil
}

// GetJob returns the job, or ENOTFOUND.
func (s *Store) GetJob(ctx context.Context, id string) (training.Job, error) {
	item, err := s.getItem(ctx, fmt.Sprintf("job %q", id), jobPrefix+id, skJob)
	if err != nil {
		return training.Job{}, err
	}
	if item == nil {
		return training.Job{}, training.Errorf(training.ENOTFOUND, "no job %q", id)
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

package localrun

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cadre-training/cadretrain/shared/samtemplate"
)

// LoadSpec reads template.yaml with shared/samtemplate: every HttpApi route, every DynamoDB
// stream consumer (filters, batch size, retries, bisect, batch item failures), every enabled
// schedule, and each function's asynchronous retry count.
func LoadSpec(path string) (Spec, error) {
	t, err := samtemplate.Load(path)
	if err != nil {
		return Spec{}, fmt.Errorf("localrun: %w", err)
	}
	return SpecFromTemplate(t)
}

// SpecFromTemplate is LoadSpec on a parsed template.
func SpecFromTemplate(t *samtemplate.Template) (Spec, error) {
	var spec Spec
	for _, r := range t.Routes() {
		spec.Routes = append(spec.Routes, Route{Method: r.Method, Path: r.Path, Function: r.Function})
	}
	for _, c := range t.StreamConsumers() {
		if strings.EqualFold(c.StartingPosition, "LATEST") {
			// The feed has no "now" position for a new cursor; say so rather than replaying.
			return Spec{}, fmt.Errorf("localrun: stream consumer %s/%s: StartingPosition LATEST is not supported locally (TRIM_HORIZON is)", c.Function, c.Event)
		}
		spec.Consumers = append(spec.Consumers, Consumer{
			Function:                c.Function,
			Filters:                 c.Filters,
			BatchSize:               c.BatchSize,
			MaxRetries:              c.MaximumRetryAttempts,
			Bisect:                  c.BisectBatchOnFunctionError,
			ReportBatchItemFailures: c.ReportsBatchItemFailures(),
		})
	}
	for _, s := range t.Schedules() {
		if !s.Enabled {
			continue
		}
		spec.Schedules = append(spec.Schedules, Schedule{
			Function:   s.Function,
			Name:       s.Event,
			Expression: s.Expression,
			Timezone:   s.Timezone,
			Source:     s.Source(),
			Input:      s.Input,
			Retries:    scheduleRetries(t, s),
		})
	}
	spec.AsyncRetries = map[string]int{}
	for _, f := range t.Functions {
		spec.AsyncRetries[f.Name] = f.AsyncRetries
	}
	return spec, nil
}

// scheduleRetries is the schedule's RetryPolicy.MaximumRetryAttempts (EventBridge's default 185
// is bounded to 2 here), or for a Schedule rule the function's asynchronous retries.
func scheduleRetries(t *samtemplate.Template, s samtemplate.Schedule) int {
	f, ok := t.Function(s.Function)
	if !ok {
		return 2
	}
	for _, ev := range f.Events {
		if ev.Name != s.Event {
			continue
		}
		if rp, ok := ev.Properties["RetryPolicy"].(map[string]any); ok {
			if n, err := strconv.Atoi(samtemplate.Str(rp["MaximumRetryAttempts"])); err == nil && n >= 0 {
				return n
			}
		}
	}
	if s.Type == "Schedule" {
		return f.AsyncRetries
	}
	return 2
}

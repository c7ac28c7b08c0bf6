// Package obs writes metrics in CloudWatch Embedded Metric Format (EMF): one JSON log line per
// emission that CloudWatch Logs turns into metrics without any API call, as Powertools for AWS
// Lambda does. On one machine the same lines go to the server's log.
package obs

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "CadreTraining"

// Metric names.
const (
	RecordsCreated    = "RecordsCreated"
	RecordsDuplicate  = "RecordsDuplicate"
	RecordsConflict   = "RecordsConflict"
	RecordsRejected   = "RecordsRejected" // invalid items and completions for unknown cadres
	RecomputeDuration = "RecomputeDuration"
	RecomputeFailures = "RecomputeFailures"
	DeadLetters       = "DeadLetters"
)

// Unit is a CloudWatch unit.
type Unit string

const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// Metric is one value.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Metrics writes EMF lines for one function (the "Function" dimension). A nil *Metrics writes
// nothing.
type Metrics struct {
	mu       sync.Mutex
	w        io.Writer
	function string
	now      func() time.Time
}

// New returns Metrics writing to w with the Function dimension set to function.
func New(w io.Writer, function string) *Metrics {
	return &Metrics{w: w, function: function, now: time.Now}
}

// Put writes the metrics with a non-zero value (or every one of them when all are zero and
// there is a duration) as one EMF line.
func (m *Metrics) Put(ms ...Metric) {
	if m == nil {
		return
	}
	defs := make([]map[string]string, 0, len(ms))
	line := map[string]any{"Function": m.function}
	for _, x := range ms {
		if x.Value == 0 && x.Unit == Count {
			continue
		}
		defs = append(defs, map[string]string{"Name": x.Name, "Unit": string(x.Unit)})
		line[x.Name] = x.Value
	}
	if len(defs) == 0 {
		return
	}
	line["_aws"] = map[string]any{
		"Timestamp": m.now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{"Function"}},
			"Metrics":    defs,
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(append(b, '\n'))
}

// Count is a Count metric.
func CountOf(name string, n int) Metric { return Metric{Name: name, Unit: Count, Value: float64(n)} }

// DurationOf is a Milliseconds metric.
func DurationOf(name string, d time.Duration) Metric {
	return Metric{Name: name, Unit: Milliseconds, Value: float64(d.Microseconds()) / 1000}
}

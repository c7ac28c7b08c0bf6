package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is one kind of request of the load.
type Kind int

const (
	KindWrite   Kind = iota // POST /v1/cadres/{id}/self-study with a unique Idempotency-Key
	KindFresh               // GET /v1/cadres/{id}/quota-status?as_of=today (fresh evaluation)
	KindStored              // GET /v1/cadres/{id}/quota-status (stored snapshot)
	KindWebhook             // POST /v1/webhooks/completions/{platform}: a signed batch of centralized completions
	numKinds
)

var kindNames = [numKinds]string{"write", "fresh", "stored", "webhook"}

func (k Kind) String() string {
	if k >= 0 && k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Mix is the share of each kind, as weights (they need not add up to 100).
type Mix [numKinds]int

// DefaultMix is 40 % writes, 30 % fresh evaluations, 20 % stored snapshots, 10 % webhook batches.
var DefaultMix = Mix{40, 30, 20, 10}

// ParseMix reads "write=40,fresh=30,stored=20,webhook=10". Kinds left out get weight 0; at least one
// weight must be positive.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		k := slices.Index(kindNames[:], name)
		if !ok || k < 0 {
			return Mix{}, fmt.Errorf("mix %q: %q is not kind=weight with kind one of %s", s, part, strings.Join(kindNames[:], ", "))
		}
		if seen[name] {
			return Mix{}, fmt.Errorf("mix %q: %s given twice", s, name)
		}
		seen[name] = true
		w, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || w < 0 {
			return Mix{}, fmt.Errorf("mix %q: weight of %s must be a whole number >= 0", s, name)
		}
		m[k] = w
	}
	if m.total() == 0 {
		return Mix{}, fmt.Errorf("mix %q: at least one weight must be positive", s)
	}
	return m, nil
}

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

func (m Mix) String() string {
	var parts []string
	for k, w := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", Kind(k), w))
	}
	return strings.Join(parts, ",")
}

// Schedule returns the kinds of n requests in order: smooth weighted round robin, so every prefix
// of the schedule is as close to the mix as whole requests allow (no bursts of one kind), and the
// counts over n are exact whenever n is a multiple of the total weight.
func (m Mix) Schedule(n int) []Kind {
	out := make([]Kind, n)
	total := m.total()
	var cur [numKinds]int
	for i := range out {
		best := -1
		for k, w := range m {
			cur[k] += w
			if w > 0 && (best < 0 || cur[k] > cur[best]) {
				best = k
			}
		}
		cur[best] -= total
		out[i] = Kind(best)
	}
	return out
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the nearest-rank method: the
// smallest value such that at least p % of the values are at or below it. 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Summary is the outcome of one kind of request (or of all).
type Summary struct {
	Name               string
	Count, Errors      int
	Throughput         float64 // requests per second of the load phase's wall time
	P50, P90, P99, Max time.Duration
}

// Summarize computes a summary; latencies is sorted in place.
func Summarize(name string, latencies []time.Duration, errors int, elapsed time.Duration) Summary {
	slices.Sort(latencies)
	s := Summary{Name: name, Count: len(latencies), Errors: errors}
	if elapsed > 0 {
		s.Throughput = float64(len(latencies)) / elapsed.Seconds()
	}
	if len(latencies) > 0 {
		s.P50, s.P90, s.P99 = Percentile(latencies, 50), Percentile(latencies, 90), Percentile(latencies, 99)
		s.Max = latencies[len(latencies)-1]
	}
	return s
}

// WriteTable prints the summaries as an aligned text table.
func WriteTable(w io.Writer, rows []Summary) {
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
	}
	cells := [][]string{{"kind", "count", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"}}
	for _, r := range rows {
		cells = append(cells, []string{r.Name, strconv.Itoa(r.Count), strconv.Itoa(r.Errors),
			strconv.FormatFloat(r.Throughput, 'f', 1, 64), ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max)})
	}
	widths := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, row := range cells {
		var b strings.Builder
		for i, c := range row {
			if i == 0 {
				b.WriteString(c + strings.Repeat(" ", widths[i]-len(c)))
			} else {
				b.WriteString("  " + strings.Repeat(" ", widths[i]-len(c)) + c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

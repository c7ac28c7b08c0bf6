package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/cmd/internal/apiclient/apitest"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentile(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, ms(i))
	}
	for _, tc := range []struct {
		vals []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{ms(7)}, 50, ms(7)},
		{[]time.Duration{ms(7)}, 99, ms(7)},
		{hundred, 50, ms(50)},
		{hundred, 90, ms(90)},
		{hundred, 99, ms(99)},
		{hundred, 100, ms(100)},
		{hundred, 0.1, ms(1)},
		{[]time.Duration{ms(1), ms(2), ms(3), ms(4)}, 50, ms(2)},  // nearest rank: ceil(0.5*4) = 2
		{[]time.Duration{ms(1), ms(2), ms(3), ms(4)}, 51, ms(3)},  // ceil(2.04) = 3
		{[]time.Duration{ms(1), ms(2), ms(3), ms(4)}, 99, ms(4)},  // ceil(3.96) = 4
		{[]time.Duration{ms(1), ms(2), ms(3), ms(4)}, 100, ms(4)}, // the maximum
	} {
		if got := Percentile(tc.vals, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.vals, tc.p, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	lat := []time.Duration{ms(30), ms(10), ms(20), ms(40)}
	s := Summarize("x", lat, 1, 2*time.Second)
	want := Summary{Name: "x", Count: 4, Errors: 1, Throughput: 2, P50: ms(20), P90: ms(40), P99: ms(40), Max: ms(40)}
	if s != want {
		t.Fatalf("got %+v, want %+v", s, want)
	}
	if z := Summarize("none", nil, 0, time.Second); z.Count != 0 || z.Max != 0 || z.Throughput != 0 {
		t.Fatalf("empty: %+v", z)
	}
}

func count(ks []Kind) Mix {
	var m Mix
	for _, k := range ks {
		m[k]++
	}
	return m
}

func TestScheduleCounts(t *testing.T) {
	for _, tc := range []struct {
		mix  Mix
		n    int
		want Mix
	}{
		{DefaultMix, 100, Mix{40, 30, 20, 10}},
		{DefaultMix, 20000, Mix{8000, 6000, 4000, 2000}},
		{DefaultMix, 10, Mix{4, 3, 2, 1}},
		{Mix{1, 0, 0, 0}, 7, Mix{7, 0, 0, 0}},
		{Mix{0, 0, 3, 1}, 8, Mix{0, 0, 6, 2}},
		{Mix{1, 1, 1, 1}, 6, Mix{2, 2, 1, 1}}, // ties go to the first kind
	} {
		if got := count(tc.mix.Schedule(tc.n)); got != tc.want {
			t.Errorf("%v over %d: %v, want %v", tc.mix, tc.n, got, tc.want)
		}
	}
}

// Every prefix of the schedule stays within one request of the mix's proportions: the kinds are
// interleaved, not sent in blocks.
func TestScheduleInterleaves(t *testing.T) {
	m := DefaultMix
	s := m.Schedule(1000)
	var seen Mix
	for i, k := range s {
		seen[k]++
		for kk := range numKinds {
			ideal := float64((i+1)*m[kk]) / float64(m.total())
			if d := float64(seen[kk]) - ideal; d > 1 || d < -1 {
				t.Fatalf("after %d requests: %s sent %d, ideal %.1f", i+1, Kind(kk), seen[kk], ideal)
			}
		}
	}
	if got := s[:10]; got[0] != KindWrite || count(got) != (Mix{4, 3, 2, 1}) {
		t.Fatalf("first 10: %v", got)
	}
}

func TestParseMix(t *testing.T) {
	m, err := ParseMix("write=40, fresh=30,stored=20,webhook=10")
	if err != nil || m != DefaultMix {
		t.Fatalf("%v %v", m, err)
	}
	if m, err := ParseMix(DefaultMix.String()); err != nil || m != DefaultMix {
		t.Fatalf("String round trip: %v %v", m, err)
	}
	if m, err := ParseMix("webhook=1"); err != nil || m != (Mix{0, 0, 0, 1}) {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range []string{"", "write=0", "a=40", "write", "write=-1", "write=x", "write=1,write=2"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:3000", "http://127.3.2.1", "http://[::1]:8080", "http://localhost:3000", "https://127.0.0.1"} {
		if err := CheckLoopback(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:3000", "http://192.168.1.5", "http://0.0.0.0:3000", "http://example.com",
		"http://8.8.8.8", "ftp://127.0.0.1", "127.0.0.1:3000", "http://:3000"} {
		if err := CheckLoopback(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"-url", "http://192.168.1.10:3000"}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "only targets the loopback interface") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if out.Len() != 0 {
		t.Fatalf("printed %q", out.String())
	}
}

// A short load against the local server (in process, embedded store, the repo's template and
// demo configuration): no errors, every kind in the table, and the snapshots catch up.
func TestShortLoadAgainstLocalServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the local server")
	}
	url, cfgPath := apitest.StartLocalServer(t, 50*time.Millisecond)

	var out, errb bytes.Buffer
	code := run([]string{"-url", url, "-config", cfgPath, "-cadres", "20", "-requests", "300", "-concurrency", "8",
		"-duration", "60s", "-sample", "5", "-catchup-timeout", "30s", "-run-id", "t1"}, &out, &errb)
	s := out.String()
	t.Log("\n" + s)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), s)
	}
	for _, re := range []string{
		`Load: 300 requests in `,
		`(?m)^write\s+120\s+0\s`, `(?m)^fresh\s+90\s+0\s`, `(?m)^stored\s+60\s+0\s`, `(?m)^webhook\s+30\s+0\s`, `(?m)^all\s+300\s+0\s`,
		`\(420 records created\)`, // 120 self-study + 30 × 10 completions
		`stored snapshots of 5 cadres and their [1-9][0-9]* appraisal form entries matched a fresh evaluation`,
	} {
		if !regexp.MustCompile(re).MatchString(s) {
			t.Errorf("output lacks %s:\n%s", re, s)
		}
	}
}

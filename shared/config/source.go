package config

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultTTL is how long a Source serves a loaded configuration before reading it again: a rotated
// platform secret or a revoked API key takes effect within this time, without restarting anything.
const DefaultTTL = 3 * time.Minute

// Source serves the configuration, re-reading it with Load once it is older than TTL. A failed
// re-read keeps serving the last good configuration (and logs the failure), so a brief outage of
// the secret store never turns every request into a 500; only the very first read can fail.
type Source struct {
	load func(context.Context) (*Config, error)
	ttl  time.Duration
	now  func() time.Time
	log  *slog.Logger

	mu     sync.Mutex
	cur    *Config
	loaded time.Time
}

// NewSource returns a Source that reads with load (ttl ≤ 0 means DefaultTTL). Nothing is read
// until the first Get.
func NewSource(load func(context.Context) (*Config, error), ttl time.Duration, log *slog.Logger) *Source {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{load: load, ttl: ttl, now: time.Now, log: log}
}

// Static returns a Source that always serves c (tests, and callers that never rotate).
func Static(c *Config) *Source {
	return &Source{cur: c, ttl: time.Duration(1<<63 - 1), now: time.Now, loaded: time.Now()}
}

// FileSource reads the file at path every ttl.
func FileSource(path string, ttl time.Duration, log *slog.Logger) *Source {
	return NewSource(func(context.Context) (*Config, error) { return LoadFile(path) }, ttl, log)
}

// Get returns the current configuration, reading it first when it is missing or older than the TTL.
func (s *Source) Get(ctx context.Context) (*Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.now().Sub(s.loaded) < s.ttl {
		return s.cur, nil
	}
	c, err := s.load(ctx)
	if err != nil {
		if s.cur == nil {
			return nil, err
		}
		s.log.Error("configuration re-read failed; serving the last good one", "err", err.Error())
		s.loaded = s.now() // try again after another TTL, not on every request
		return s.cur, nil
	}
	s.cur, s.loaded = c, s.now()
	return c, nil
}

package localrun

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai without a system zoneinfo

	"github.com/aws/aws-lambda-go/events"
)

// scheduler computes the fire times of one Schedule.
type scheduler struct {
	Schedule
	loc   *time.Location
	every time.Duration // extra interval (Options.ScheduleEvery), 0 = none
	// cron: fixed minute and hour, every day (the subset template.yaml uses); or rate.
	minute, hour int
	rate         time.Duration
}

// newScheduler parses the expression. Supported: cron(M H * * ? *) with fixed minute and hour
// (day-of-month "*" or "?", month "*", day-of-week "*" or "?", year "*" or absent) and
// rate(N minute|minutes|hour|hours|day|days). Anything else is an error at startup.
func newScheduler(sc Schedule, every time.Duration) (*scheduler, error) {
	loc := time.UTC
	if sc.Timezone != "" {
		l, err := time.LoadLocation(sc.Timezone)
		if err != nil {
			return nil, fmt.Errorf("time zone %q: %w", sc.Timezone, err)
		}
		loc = l
	}
	sd := &scheduler{Schedule: sc, loc: loc, every: every}
	expr := strings.TrimSpace(sc.Expression)
	switch {
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		f := strings.Fields(expr[5 : len(expr)-1])
		if len(f) != 6 && len(f) != 5 {
			return nil, fmt.Errorf("cron expression %q: want 6 fields", expr)
		}
		m, err1 := strconv.Atoi(f[0])
		h, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil || m < 0 || m > 59 || h < 0 || h > 23 {
			return nil, fmt.Errorf("cron expression %q: only a fixed minute and hour are supported locally", expr)
		}
		wild := func(s string) bool { return s == "*" || s == "?" }
		if !wild(f[2]) || f[3] != "*" || !wild(f[4]) || (len(f) == 6 && f[5] != "*") {
			return nil, fmt.Errorf("cron expression %q: only daily schedules (* * ? *) are supported locally", expr)
		}
		sd.minute, sd.hour = m, h
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		f := strings.Fields(expr[5 : len(expr)-1])
		if len(f) != 2 {
			return nil, fmt.Errorf("rate expression %q: want rate(N unit)", expr)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("rate expression %q: bad value", expr)
		}
		unit := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}[f[1]]
		if unit == 0 {
			return nil, fmt.Errorf("rate expression %q: bad unit", expr)
		}
		sd.rate = time.Duration(n) * unit
	default:
		return nil, fmt.Errorf("schedule expression %q: not cron(…) or rate(…)", expr)
	}
	return sd, nil
}

// next is the first scheduled time strictly after t (ignoring the extra interval).
func (sd *scheduler) next(t time.Time) time.Time {
	if sd.rate > 0 {
		return t.Add(sd.rate)
	}
	lt := t.In(sd.loc)
	n := time.Date(lt.Year(), lt.Month(), lt.Day(), sd.hour, sd.minute, 0, 0, sd.loc)
	if !n.After(lt) {
		n = time.Date(lt.Year(), lt.Month(), lt.Day()+1, sd.hour, sd.minute, 0, 0, sd.loc)
	}
	return n
}

// payload is what the target receives at scheduled time at: the schedule's Input with
// EventBridge Scheduler's context attributes substituted when the template gives one (that is
// exactly what Scheduler delivers), else a full EventBridge "Scheduled Event".
func (sd *scheduler) payload(at time.Time) ([]byte, error) {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	execID := hex.EncodeToString(id)
	arn := "arn:aws:scheduler:local:" + localAccountID + ":schedule/default/" + sd.Name
	if sd.Source == "aws.events" {
		arn = "arn:aws:events:local:" + localAccountID + ":rule/" + sd.Name
	}
	if sd.Input != "" {
		in := strings.NewReplacer(
			"<aws.scheduler.scheduled-time>", at.UTC().Format(time.RFC3339),
			"<aws.scheduler.schedule-arn>", arn,
			"<aws.scheduler.execution-id>", execID,
			"<aws.scheduler.attempt-number>", "1",
		).Replace(sd.Input)
		var ev events.EventBridgeEvent
		if err := json.Unmarshal([]byte(in), &ev); err != nil {
			return nil, fmt.Errorf("schedule input is not an EventBridge-shaped event: %w", err)
		}
		return []byte(in), nil
	}
	src := sd.Source
	if src == "" {
		src = "aws.events"
	}
	ev := events.EventBridgeEvent{
		Version:    "0",
		ID:         fmt.Sprintf("%s-%s-%s-%s-%s", execID[:8], execID[8:12], execID[12:16], execID[16:20], execID[20:]),
		DetailType: "Scheduled Event",
		Source:     src,
		AccountID:  localAccountID,
		Time:       at.UTC().Truncate(time.Second),
		Region:     "local",
		Resources:  []string{arn},
		Detail:     json.RawMessage(`{}`),
	}
	return json.Marshal(ev)
}

// runSchedule fires sd at its times (and every Options.ScheduleEvery) until the server stops.
func (s *Server) runSchedule(sd *scheduler) {
	now := time.Now() // the schedule runs on the wall clock, whatever Options.Now says
	nextCron := sd.next(now)
	var nextEvery time.Time
	if sd.every > 0 {
		nextEvery = now.Add(sd.every)
	}
	for {
		at := nextCron
		if !nextEvery.IsZero() && nextEvery.Before(at) {
			at = nextEvery
		}
		t := time.NewTimer(time.Until(at))
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
		if !at.Before(nextCron) {
			nextCron = sd.next(at)
		}
		if !nextEvery.IsZero() && !at.Before(nextEvery) {
			nextEvery = at.Add(sd.every)
		}
		s.fireSchedule(sd, at)
	}
}

func (s *Server) fireSchedule(sd *scheduler, at time.Time) {
	payload, err := sd.payload(at)
	if err != nil {
		s.log.Error("schedule payload", "schedule", sd.Name, "err", err.Error())
		return
	}
	s.log.Info("schedule fired", "schedule", sd.Name, "function", sd.Function, "scheduled_time", at.UTC().Format(time.RFC3339))
	if err := s.invokeAsyncRetries(sd.Function, payload, sd.Retries); err != nil {
		s.log.Error("schedule invocation", "schedule", sd.Name, "err", err.Error())
	}
}

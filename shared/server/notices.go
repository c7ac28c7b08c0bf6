package server

import (
	"context"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
)

// deliverer sends the notices of the outbox (app.Service.Deliver): it wakes when the service
// queues a delivery, when the earliest pending one falls due, and every NoticePoll in any case.
// The outbox is in the store, so a restart carries on where the last run stopped: a delivery
// whose acknowledgement was not recorded is sent again (same webhook-id); one recorded is not.
type deliverer struct {
	s      *Server
	sender app.Sender
	wake   chan struct{}
}

func (s *Server) newDeliverer() *deliverer {
	snd := app.NewSender(s.opts.NoticeSchedule)
	snd.Timeout = s.opts.NoticeTimeout
	return &deliverer{s: s, sender: snd, wake: make(chan struct{}, 1)}
}

// notify is the service's Notify hook: wake the loop without blocking.
func (d *deliverer) notify(string) {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *deliverer) run() {
	log := d.s.log.With("task", "notices")
	failures := 0
	for {
		next, err := d.once()
		wait := d.s.opts.NoticePoll
		if err != nil {
			failures++
			log.Error("notice delivery pass failed", "err", err.Error())
			wait = backoff(d.s.opts.RetryBackoff, failures)
		} else {
			failures = 0
			if !next.IsZero() {
				wait = min(wait, max(time.Until(next), 0))
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-d.s.stop:
			t.Stop()
			return
		case <-d.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// once attempts every due delivery and returns when the earliest other one falls due.
func (d *deliverer) once() (time.Time, error) {
	ctx := context.Background()
	due, err := d.s.svc.DueDeliveries(ctx)
	if err != nil {
		return time.Time{}, err
	}
	var next time.Time
	now := d.s.svc.Now
	if now == nil {
		now = time.Now
	}
	for k, at := range due {
		select {
		case <-d.s.stop:
			return time.Time{}, nil
		default:
		}
		if at.After(now()) {
			if next.IsZero() || at.Before(next) {
				next = at
			}
			continue
		}
		n, err := d.s.svc.Deliver(ctx, d.sender, k, false)
		if err != nil {
			d.s.log.Error("notice delivery failed", "delivery", k, "err", err.Error())
			continue
		}
		if !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next, nil
}

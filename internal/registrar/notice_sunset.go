package registrar

import (
	"context"
	"fmt"
	"math"
	"time"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
)

// SunsetNoticeAhead is how long before a deprecated product's sunset date
// its recipients get SUNSET_SOON.
const SunsetNoticeAhead = 7 * 24 * time.Hour

// clock returns the time the sunset timer goes by: Options.Now when set
// (tests), else the wall clock, at the millisecond precision of the
// contracts.
func (s *Service) clock() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now().UTC().Truncate(time.Millisecond)
	}
	return now()
}

// sunsetLoop sends, while this instance is the writer, SUNSET_SOON to each
// recipient of each deprecated product whose sunset date is at most
// SunsetNoticeAhead away and not yet past. A notice already on the notice
// topic (its deterministic id in the noticeLog, read to the topic's end
// before sending) is not sent again: each recipient hears it once across
// restarts and instances, and one who becomes a recipient later (a new
// agreement) hears it then.
func (s *Service) sunsetLoop(ctx context.Context) {
	s.pollAsWriter(ctx, func() {
		at := s.clock()
		for _, p := range s.view.sunsetting() {
			if !sunsetDue(p, at) || s.allSent(s.sunsetNotices(p, at)) {
				continue
			}
			if err := s.sendSunsetNotices(ctx, p.Product.ID); err != nil && ctx.Err() == nil {
				s.log.Warn("sunset notices not sent yet; retrying", zap.String("product", p.Product.ID), zap.Error(err))
			}
		}
	})
}

// sunsetting returns the deprecated products with a sunset date, without
// copying the others (the timer looks every second).
func (v *view) sunsetting() []Product {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []Product
	for _, p := range v.products {
		if p.Status == StatusDeprecated && p.Deprecation != nil && p.Deprecation.SunsetAt != nil {
			out = append(out, p.clone())
		}
	}
	return out
}

// sunsetDue reports whether p is deprecated with a sunset date within
// SunsetNoticeAhead of at and not past.
func sunsetDue(p Product, at time.Time) bool {
	if p.Status != StatusDeprecated || p.Deprecation == nil || p.Deprecation.SunsetAt == nil {
		return false
	}
	sunset := *p.Deprecation.SunsetAt
	return at.Before(sunset) && !at.Before(sunset.Add(-SunsetNoticeAhead))
}

func (s *Service) allSent(ns []*events.Notice) bool {
	for _, n := range ns {
		if !s.notices.has(n.NoticeID) {
			return false
		}
	}
	return true
}

// sunsetNotices returns the SUNSET_SOON notices of deprecated product p at
// time at, one per recipient.
func (s *Service) sunsetNotices(p Product, at time.Time) []*events.Notice {
	sunset := *p.Deprecation.SunsetAt
	days := int(math.Ceil(sunset.Sub(at).Hours() / 24))
	var cause *string
	for _, h := range p.History {
		if h.Type == events.LifecycleDeprecated {
			id := h.EventID
			cause = &id
		}
	}
	var successor *string
	if p.Deprecation.Successor != "" {
		successor = &p.Deprecation.Successor
	}
	var reason *string
	if p.Deprecation.Reason != "" {
		reason = &p.Deprecation.Reason
	}
	msg := fmt.Sprintf("%s is retired on %s, in %d day(s)%s", p.Product.ID, sunset.UTC().Format(time.RFC3339), days, successorHint(successor))
	var out []*events.Notice
	for _, r := range s.recipients(p.Product.ID) {
		n := &events.Notice{Type: events.NoticeSunsetSoon, ProductID: p.Product.ID, ProductVersion: p.Product.Version,
			IssuedAt: at, Actor: RegistrarActor, CauseEventID: cause, Recipient: r.NoticeRecipient, Message: msg,
			Reason: reason, Successor: successor, SunsetAt: &sunset}
		n.NoticeID = events.NoticeID(n)
		out = append(out, n)
	}
	return out
}

// sendSunsetNotices sends the SUNSET_SOON notices of product id not on the
// notice topic yet, in one of the writer's transactions, once the view
// holds the whole access and notice topics.
func (s *Service) sendSunsetNotices(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	defer s.lock(id)()
	t, release, err := s.writing()
	if err != nil {
		return err
	}
	defer release()
	if err := s.waitEnd(ctx, s.topics.Access, s.topics.Notices); err != nil {
		return unavailable(err, "read the access and notice topics to their end")
	}
	p, ok := s.view.get(id)
	at := s.clock()
	if !ok || !sunsetDue(p, at) {
		return nil // retired meanwhile
	}
	var todo []*events.Notice
	for _, n := range s.sunsetNotices(p, at) {
		if !s.notices.has(n.NoticeID) {
			todo = append(todo, n)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	recs, err := s.noticeRecords(ctx, todo)
	if err != nil {
		return err
	}
	if err := t.events.transact(ctx, recs...); err != nil {
		return s.lost(t, err, "publish the SUNSET_SOON notices of "+id)
	}
	for _, n := range todo {
		s.notices.add(n.NoticeID)
	}
	s.log.Info("sunset notices sent", zap.String("product", id), zap.Int("notices", len(todo)), zap.Time("sunset", *p.Deprecation.SunsetAt))
	return nil
}

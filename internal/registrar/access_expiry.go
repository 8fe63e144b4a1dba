package registrar

import (
	"context"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
)

// expiryPoll is how often the writer looks for agreements past their end.
const expiryPoll = time.Second

// ActionAccessExpire is the audit action of an expiry.
const ActionAccessExpire = "access.expire"

// expireLoop expires, while this instance is the writer, every approved or
// granted agreement whose valid_until has passed: its ACLs are deleted and
// EXPIRED is published. The single writer (fenced when deposed) and its view
// of the access topic, read to its end before each expiry, make each expiry
// happen once across restarts and instances.
func (s *Service) expireLoop(ctx context.Context) {
	s.pollAsWriter(ctx, func() {
		for _, id := range s.access.due(now()) {
			if err := s.expire(ctx, id); err != nil && ctx.Err() == nil {
				s.log.Warn("agreement not expired yet; retrying", zap.String("agreement", id), zap.Error(err))
			}
		}
	})
}

// pollAsWriter calls fn every expiryPoll while this instance is the writer
// and its view is caught up, until ctx is done.
func (s *Service) pollAsWriter(ctx context.Context, fn func()) {
	tick := time.NewTicker(expiryPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if s.isWriter() && s.caughtUp.Load() {
			fn()
		}
	}
}

// due returns the ids of the approved or granted agreements whose end is
// at or before t.
func (v *accessView) due(t time.Time) []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []string
	for id, a := range v.byID {
		if (a.Status == events.AgreementApproved || a.Status == events.AgreementGranted) && a.ValidUntil != nil && !a.ValidUntil.After(t) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// expire expires agreement id if it is still due once the view holds the
// whole access topic.
func (s *Service) expire(ctx context.Context, id string) error {
	found, ok := s.access.get(id)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	defer s.lock(found.ProductID)()
	t, release, err := s.accessWriting(ctx)
	if err != nil {
		return err
	}
	defer release()
	cur, _ := s.access.get(id)
	at := now()
	if (cur.Status != events.AgreementApproved && cur.Status != events.AgreementGranted) || cur.ValidUntil == nil || cur.ValidUntil.After(at) {
		return nil // expired or revoked meanwhile
	}
	deleted, err := s.ungrant(ctx, cur)
	if err != nil {
		return err
	}
	reason := "valid until " + cur.ValidUntil.UTC().Format(time.RFC3339)
	ag := cur.AccessAgreement
	ev := &events.AccessEvent{EventID: newID(), Type: events.AccessExpired, OccurredAt: at, Actor: RegistrarActor, Agreement: ag, Bindings: deleted, Reason: &reason}
	if err := s.publishAccess(ctx, t, ev); err != nil {
		return err
	}
	domain, _ := checkID(cur.ProductID)
	s.audit(&auditInfo{action: ActionAccessExpire, actor: RegistrarActor, domain: domain, target: cur.ProductID, details: map[string]string{
		"agreement_id": id, "event_id": ev.EventID, "reason": reason,
	}}, 200, "ok")
	s.log.Info("access expired", zap.String("agreement", id), zap.String("product", cur.ProductID), zap.Int("acls_deleted", len(deleted)))
	return nil
}

package registrar

// Notices: when a product is deprecated, retired or publishes a new major
// version, each consumer in force (an approved or granted access
// agreement) and each downstream product (a product whose inputs name it)
// gets a Notice on mesh.notices.v1, in the same transaction as the
// lifecycle event; when a deprecated product's sunset date is seven days
// away, the writer's timer sends SUNSET_SOON (notice_sunset.go). A notice's
// id is derived from what it says and to whom (events.NoticeID), and every
// instance folds the ids on the notice topic into its noticeLog, so the
// topic is the record of what was sent.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
)

// noticeLog holds the ids of the notices on the notice topic.
type noticeLog struct {
	mu   sync.RWMutex
	sent map[string]bool
}

func (l *noticeLog) add(ids ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent == nil {
		l.sent = map[string]bool{}
	}
	for _, id := range ids {
		l.sent[id] = true
	}
}

func (l *noticeLog) has(id string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.sent[id]
}

// noticeHead is the part of a notice record the registrar reads.
type noticeHead struct {
	NoticeID string `avro:"notice_id"`
}

// applyNoticeRecord records the id of a notice read from the topic; a
// record that does not decode is logged and skipped.
func (s *Service) applyNoticeRecord(ctx context.Context, r *kgo.Record) {
	var h noticeHead
	if err := s.codec.DecodeInto(ctx, events.KindNotice, r.Value, &h); err != nil || h.NoticeID == "" {
		s.log.Warn("skipping undecodable notice record", zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(err))
		return
	}
	s.notices.add(h.NoticeID)
}

// recipient is one addressee of a notice, with the ports of the product it
// reads (nil: all of them, a downstream product).
type recipient struct {
	events.NoticeRecipient
	ports []string
}

// recipients returns who hears of a change to product id: its agreements
// in force (approved or granted), by agreement id, then the products that
// read it, by id. The caller has read the access topic to its end.
func (s *Service) recipients(id string) []recipient {
	var out []recipient
	for _, a := range s.access.list(AccessFilter{Product: id}) {
		if a.Status != events.AgreementApproved && a.Status != events.AgreementGranted {
			continue
		}
		typ, principal, consumer := a.Consumer.Type, a.Principal, a.Consumer.ID
		out = append(out, recipient{ports: a.Ports, NoticeRecipient: events.NoticeRecipient{
			Type: events.RecipientAgreement, ID: a.AgreementID, ConsumerType: &typ, ConsumerID: &consumer,
			Principal: &principal, Domain: a.Consumer.Domain, Channel: a.Consumer.Channel,
		}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	for _, rid := range s.view.readers(id) {
		r, ok := s.view.get(rid)
		if !ok {
			continue
		}
		domain, pid := r.Product.Domain, rid
		rec := recipient{NoticeRecipient: events.NoticeRecipient{Type: events.RecipientDownstream, ID: rid, ConsumerID: &pid, Domain: &domain}}
		if o := r.Product.Ownership; o != nil {
			rec.Channel = o.Channel
		}
		out = append(out, rec)
	}
	return out
}

// activeAgreements lists the agreements in force on product id, for the
// retirement guard: "<id> (<consumer>, <principal>)", by agreement id.
func (s *Service) activeAgreements(id string) []string {
	var out []string
	for _, r := range s.recipients(id) {
		if r.Type == events.RecipientAgreement {
			out = append(out, fmt.Sprintf("%s (%s %s, %s)", r.ID, strings.ReplaceAll(strings.ToLower(string(*r.ConsumerType)), "_", "-"), *r.ConsumerID, *r.Principal))
		}
	}
	return out
}

// lifecycleNotices returns the notices a lifecycle event causes, given the
// product as the view held it before (prev, exists): DEPRECATED and
// RETIRED to every recipient, MAJOR_VERSION when a new version changes the
// major (every port of the old version gets a new topic, .v<major>; within
// a major a port's schema may only change BACKWARD compatibly, so only a
// new major breaks its consumers) to each recipient that reads the port.
// Other events cause none. The caller holds the product's lock and has
// read the access topic to its end.
func (s *Service) lifecycleNotices(ev *events.ProductLifecycleEvent, prev Product, exists bool) []*events.Notice {
	p := &ev.Product
	base := func(typ events.NoticeType, r recipient) *events.Notice {
		cause := ev.EventID
		return &events.Notice{Type: typ, ProductID: p.ID, ProductVersion: p.Version, IssuedAt: ev.OccurredAt,
			Actor: ev.Actor, CauseEventID: &cause, Recipient: r.NoticeRecipient, Reason: ev.Reason}
	}
	var out []*events.Notice
	switch ev.Type {
	case events.LifecycleDeprecated:
		for _, r := range s.recipients(p.ID) {
			n := base(events.NoticeDeprecated, r)
			n.Successor, n.SunsetAt = ev.Successor, ev.SunsetAt
			n.Message = deprecatedMessage(p, ev.Reason, ev.Successor, ev.SunsetAt)
			out = append(out, n)
		}
	case events.LifecycleRetired:
		for _, r := range s.recipients(p.ID) {
			n := base(events.NoticeRetired, r)
			n.Successor = ev.Successor
			n.Message = fmt.Sprintf("%s %s is retired: its topics are no longer written%s", p.ID, p.Version, successorHint(ev.Successor))
			out = append(out, n)
		}
	case events.LifecycleVersionPublished:
		if !exists || majorOf(prev.Product.Version) == majorOf(p.Version) {
			return nil
		}
		old := prev.Product.Version
		rs := s.recipients(p.ID)
		for _, port := range prev.Product.OutputPorts {
			var topic *string
			msg := fmt.Sprintf("port %s of %s is gone in version %s (major %s): it was read from %s", port.Name, p.ID, p.Version, majorOf(p.Version), port.Topic)
			if i := slices.IndexFunc(p.OutputPorts, func(o events.OutputPort) bool { return o.Name == port.Name }); i >= 0 {
				topic = &p.OutputPorts[i].Topic
				msg = fmt.Sprintf("port %s of %s moves to major version %s (%s to %s): read topic %s instead of %s", port.Name, p.ID, majorOf(p.Version), old, p.Version, *topic, port.Topic)
			}
			for _, r := range rs {
				if r.ports != nil && !slices.Contains(r.ports, port.Name) {
					continue
				}
				n := base(events.NoticeMajorVersion, r)
				name, newVersion := port.Name, p.Version
				n.Port, n.OldVersion, n.NewVersion, n.Topic, n.Message = &name, &old, &newVersion, topic, msg
				out = append(out, n)
			}
		}
	}
	for _, n := range out {
		n.NoticeID = events.NoticeID(n)
	}
	return out
}

func deprecatedMessage(p *events.DataProduct, reason, successor *string, sunset *time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s is deprecated", p.ID, p.Version)
	if reason != nil {
		fmt.Fprintf(&b, " (%s)", *reason)
	}
	if sunset != nil {
		fmt.Fprintf(&b, "; it will be retired on %s", sunset.UTC().Format(time.RFC3339))
	}
	b.WriteString(successorHint(successor))
	return b.String()
}

func successorHint(successor *string) string {
	if successor == nil {
		return ""
	}
	return "; move to its successor " + *successor
}

// noticeRecords encodes notices for the writer's transaction.
func (s *Service) noticeRecords(ctx context.Context, ns []*events.Notice) ([]*kgo.Record, error) {
	recs := make([]*kgo.Record, 0, len(ns))
	for _, n := range ns {
		domain, _ := checkID(n.ProductID)
		rec, err := s.codec.Encode(ctx, n, events.DomainSource(domain))
		if err != nil {
			if errors.Is(err, events.ErrInvalidEvent) {
				return nil, err // a bug: the notice was built from the view
			}
			return nil, unavailable(err, "schema registry: encode a notice")
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// lifecycleNoticeRecords returns the records of the notices ev causes, to
// go in the lifecycle event's transaction, and their ids. For an event
// that may cause notices it first reads the access topic to its end, so
// that every agreement the previous writer published is known.
func (s *Service) lifecycleNoticeRecords(ctx context.Context, ev *events.ProductLifecycleEvent) ([]*kgo.Record, []string, error) {
	switch ev.Type {
	case events.LifecycleDeprecated, events.LifecycleRetired, events.LifecycleVersionPublished:
	default:
		return nil, nil, nil
	}
	prev, exists := s.view.get(ev.Product.ID)
	if ev.Type == events.LifecycleVersionPublished && (!exists || majorOf(prev.Product.Version) == majorOf(ev.Product.Version)) {
		return nil, nil, nil
	}
	if err := s.waitEnd(ctx, s.topics.Access); err != nil {
		return nil, nil, unavailable(err, "read the access topic to its end")
	}
	ns := s.lifecycleNotices(ev, prev, exists)
	recs, err := s.noticeRecords(ctx, ns)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(ns))
	for i, n := range ns {
		ids[i] = n.NoticeID
	}
	return recs, ids, nil
}

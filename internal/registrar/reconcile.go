package registrar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
)

// topicGoneWait bounds the wait for deleted topics to leave the metadata (a
// real broker deletes asynchronously; creating the topic again before it is
// gone would fail as existing).
const topicGoneWait = 30 * time.Second

// reconcile finishes the intents a previous writer left open: a registration
// killed between its intent and its lifecycle event. Such a registration was
// never answered with success, so it is rolled back rather than completed:
// its topics and schema versions are deleted and changed retentions
// restored, unless the lifecycle topic announces them. It returns the done
// records to commit, one per intent.
func (s *Service) reconcile(ctx context.Context) ([]*kgo.Record, error) {
	var done []*kgo.Record
	for _, in := range s.lease.openIntents() {
		cur, exists := s.view.get(in.Product)
		if exists && slices.ContainsFunc(cur.History, func(h HistoryEntry) bool { return h.EventID == in.EventID }) {
			done = append(done, s.doneRecord(in.Product)) // finished; only its done record was lost
			continue
		}
		if err := s.undoIntent(ctx, in, cur, exists); err != nil {
			return nil, fmt.Errorf("roll back the unfinished registration of %s %s: %w", in.Product, in.Version, err)
		}
		s.log.Warn("rolled back a registration its writer did not finish", zap.String("id", in.Product),
			zap.String("version", in.Version), zap.Strings("topics", in.Topics), zap.Int("subjects", len(in.Subjects)))
		done = append(done, s.doneRecord(in.Product))
	}
	return done, nil
}

// undoIntent deletes what intent in may have created and that the product
// as announced (cur, if exists) does not use. It is idempotent: what is
// gone already is fine.
func (s *Service) undoIntent(ctx context.Context, in *intent, cur Product, exists bool) error {
	used := map[string]bool{}
	if exists {
		for _, port := range cur.Product.OutputPorts {
			used[port.Topic], used[port.SchemaSubject] = true, true
			used[events.PortDeadLetterTopic(port.Topic)] = true
		}
	}
	for _, sub := range in.Subjects {
		if sub.Prev == 0 && !used[sub.Subject] {
			if err := s.deleteSubject(ctx, sub.Subject); err != nil {
				return err
			}
			continue
		}
		versions, err := s.reg.SubjectVersions(ctx, sub.Subject)
		if err != nil && !notFound(err) {
			return fmt.Errorf("schema registry: versions of %s: %w", sub.Subject, err)
		}
		slices.Sort(versions)
		for i := len(versions) - 1; i >= 0 && versions[i] > sub.Prev; i-- {
			if err := s.deleteVersion(ctx, sub.Subject, versions[i]); err != nil {
				return err
			}
		}
	}
	var topics []string
	for _, t := range in.Topics {
		if !used[t] {
			topics = append(topics, t)
		}
	}
	if err := s.deleteTopics(ctx, topics); err != nil {
		return err
	}
	for topic, ms := range in.Retention {
		if used[topic] {
			// A dead-letter topic the writer died before creating (its
			// port was registered before the registrar made them) has no
			// retention to restore.
			if err := s.setRetention(ctx, ms, []string{topic}); err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
				return err
			}
		}
	}
	return nil
}

func (s *Service) deleteSubject(ctx context.Context, subject string) error {
	if _, err := s.reg.DeleteSubject(ctx, subject, sr.SoftDelete); err != nil && !notFound(err) {
		return fmt.Errorf("schema registry: delete %s: %w", subject, err)
	}
	if _, err := s.reg.DeleteSubject(ctx, subject, sr.HardDelete); err != nil && !notFound(err) {
		return fmt.Errorf("schema registry: hard-delete %s: %w", subject, err)
	}
	return nil
}

func (s *Service) deleteVersion(ctx context.Context, subject string, version int) error {
	if err := s.reg.DeleteSchema(ctx, subject, version, sr.SoftDelete); err != nil && !notFound(err) {
		return fmt.Errorf("schema registry: delete version %d of %s: %w", version, subject, err)
	}
	if err := s.reg.DeleteSchema(ctx, subject, version, sr.HardDelete); err != nil && !notFound(err) {
		return fmt.Errorf("schema registry: hard-delete version %d of %s: %w", version, subject, err)
	}
	return nil
}

// deleteTopics deletes topics (those missing already are fine) and waits
// until the metadata no longer lists them.
func (s *Service) deleteTopics(ctx context.Context, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	resps, err := s.adm.DeleteTopics(ctx, topics...)
	if err != nil {
		return fmt.Errorf("kafka: delete topics: %w", err)
	}
	for _, r := range resps {
		if r.Err != nil && !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("kafka: delete topic %s: %w", r.Topic, r.Err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, topicGoneWait)
	defer cancel()
	for {
		td, err := s.adm.ListTopics(wctx, topics...)
		if err == nil {
			left := 0
			for _, d := range td {
				if d.Err == nil {
					left++
				}
			}
			if left == 0 {
				return nil
			}
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("kafka: topics %v still listed after deletion: %w", topics, wctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// newIntent lists what provisioning plans will create or change.
func newIntent(id, version, eventID string, plans []portPlan, cur Product, exists bool, retentionDays int) *intent {
	in := &intent{Product: id, Version: version, EventID: eventID}
	for _, pl := range plans {
		if !pl.topicExists {
			in.Topics = append(in.Topics, pl.topic, pl.dlqTopic)
		}
		in.Subjects = append(in.Subjects, intentSubject{Subject: pl.subject, Prev: pl.prevVersion})
	}
	if exists && cur.Product.RetentionDays != int32(retentionDays) {
		old := strconv.FormatInt(int64(cur.Product.RetentionDays)*24*int64(time.Hour/time.Millisecond), 10)
		for _, pl := range plans {
			if pl.topicExists {
				if in.Retention == nil {
					in.Retention = map[string]string{}
				}
				in.Retention[pl.topic], in.Retention[pl.dlqTopic] = old, old
			}
		}
	}
	return in
}

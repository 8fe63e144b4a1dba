package registrar

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
	"github.com/meshbone/meshbone/pkg/product"
)

// rollbackTimeout bounds the undoing of a failed registration; it runs on a
// context of its own, as the request's may be what expired.
const rollbackTimeout = 15 * time.Second

// ApplyResult is the answer to POST /api/v1/products.
type ApplyResult struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	// Type is the lifecycle event emitted; empty when Unchanged.
	Type    events.LifecycleType `json:"type,omitempty"`
	EventID string               `json:"event_id,omitempty"`
	// Unchanged is true when the descriptor was identical to the registered
	// one: nothing was done and no event emitted.
	Unchanged bool `json:"unchanged"`
	// Ports lists each output port's topic, subject and schema id.
	Ports []PortResult `json:"ports"`
}

// PortResult is one provisioned output port.
type PortResult struct {
	Name     string `json:"name"`
	Topic    string `json:"topic"`
	Subject  string `json:"subject"`
	SchemaID int32  `json:"schema_id"`
}

// portPlan is the provisioning of one output port.
type portPlan struct {
	index       int    // in the descriptor
	name        string // port name
	topic       string
	dlqTopic    string // the port's dead-letter topic, events.PortDeadLetterTopic
	subject     string
	schema      string // as posted
	partitions  int32
	topicExists bool // the topic belongs to the current major version already
	prevVersion int  // latest version of the subject before this request; 0 = none
}

// undo records what a registration created, to delete it if a later step
// fails.
type undo struct {
	topics    []string
	versions  []subjectVersion
	retention map[string]string // topic -> retention.ms to restore
}

type subjectVersion struct {
	subject string
	version int
	whole   bool // the subject did not exist before: delete it all
}

// apply registers a product or publishes a new version of it, for principal
// p, who has already been authorised for d's domain. d is valid.
func (s *Service) apply(ctx context.Context, p principal, d *product.Descriptor) (ApplyResult, error) {
	id := d.ID()
	defer s.lock(id)()
	s.lineageMu.RLock()
	defer s.lineageMu.RUnlock()
	t, release, err := s.writing()
	if err != nil {
		return ApplyResult{}, err
	}
	defer release()
	if !s.caughtUp.Load() {
		return ApplyResult{}, newError(ErrUnavailable, "", "the registrar is still reading the lifecycle topic; retry shortly")
	}

	res := ApplyResult{ID: id, Version: d.Spec.Version}
	dec, err := s.decide(ctx, d)
	if err != nil {
		return res, err
	}
	if dec.unchanged {
		res.Unchanged = true
		res.Ports = portResults(dec.cur.Product)
		return res, nil
	}
	cand, cur, exists, typ := dec.cand, dec.cur, dec.exists, dec.typ
	var plans []portPlan
	ev := &events.ProductLifecycleEvent{
		EventID: newID(),
		Type:    typ,
		Actor:   p.Name,
		Product: cand,
	}
	var u undo
	provisioned := typ != events.LifecycleUpdated
	if provisioned {
		var err error
		if plans, err = s.plan(d, cand, cur, exists); err != nil {
			return res, err
		}
		if err := s.checkSchemas(ctx, plans); err != nil {
			return res, err
		}
		// The intent is committed before the first side effect: should
		// this writer die before the lifecycle event, its successor rolls
		// the registration back (reconcile.go).
		in := newIntent(id, d.Spec.Version, ev.EventID, plans, cur, exists, d.Spec.RetentionDays)
		if err := t.intents.transact(ctx, s.intentRecord(in)); err != nil {
			return res, s.lost(t, err, "record the intent to provision "+id)
		}
		if err := s.provision(ctx, d, cand, cur, exists, plans, &u); err != nil {
			s.rollback(id, &u)
			if derr := t.events.transact(ctx, s.doneRecord(id)); derr != nil {
				s.log.Warn("the intent of a rolled-back registration stays open", zap.String("id", id), zap.Error(s.lost(t, derr, "close the intent")))
			}
			return res, err
		}
	}

	ev.OccurredAt = now()
	// A failed publish is not rolled back here: whether the transaction
	// committed is unknown, and the term ends; the writer's next takeover
	// (this instance's or a successor's) settles the intent.
	if err := s.publish(ctx, t, ev, provisioned); err != nil {
		return res, err
	}
	res.Type, res.EventID, res.Ports = typ, ev.EventID, portResults(cand)
	s.log.Info("product provisioned", zap.String("id", id), zap.String("version", d.Spec.Version),
		zap.String("type", string(typ)), zap.String("actor", p.Name), zap.String("event_id", ev.EventID))
	return res, nil
}

// decision is what applying a descriptor would do, decided from the view:
// the lifecycle event's type and product, or nothing when unchanged.
type decision struct {
	cand      events.DataProduct // the product the event would announce
	cur       Product            // the registered product, when exists
	exists    bool
	unchanged bool
	typ       events.LifecycleType
}

// decide compares a valid descriptor with the registered product and
// refuses what apply refuses before provisioning anything: a retired or
// deprecated product, a lower version, the same version with other ports.
// It changes nothing; apply and the dry run share it.
func (s *Service) decide(ctx context.Context, d *product.Descriptor) (decision, error) {
	id := d.ID()
	dec := decision{cand: s.toEvent(d), typ: events.LifecycleRegistered}
	dec.cur, dec.exists = s.view.get(id)
	if !dec.exists {
		return dec, nil
	}
	cur := dec.cur
	same, samePorts, err := s.compare(ctx, d, dec.cand, cur.Product)
	if err != nil {
		return dec, err
	}
	if same {
		dec.unchanged = true
		return dec, nil
	}
	switch cur.Status {
	case StatusRetired:
		return dec, newError(ErrConflict, "metadata.name", "product %s is retired; a retired product cannot be registered again", id)
	case StatusDeprecated:
		return dec, newError(ErrConflict, "metadata.name", "product %s is deprecated%s; register its successor instead", id, successorNote(cur))
	}
	switch c := compareVersions(d.Spec.Version, cur.Product.Version); {
	case c < 0:
		return dec, newError(ErrConflict, "spec.version", "version %s is lower than the registered version %s of %s", d.Spec.Version, cur.Product.Version, id)
	case c == 0 && !samePorts:
		return dec, newError(ErrConflict, "spec.version", "version %s of %s is already registered with other output ports, schemas or retention; publish them as a new version", d.Spec.Version, id)
	case c == 0:
		dec.typ = events.LifecycleUpdated
		// Metadata only: the ports, topics and schemas stay as they are.
		dec.cand.OutputPorts = cur.Product.OutputPorts
	default:
		dec.typ = events.LifecycleVersionPublished
	}
	return dec, nil
}

func successorNote(p Product) string {
	if p.Deprecation != nil && p.Deprecation.Successor != "" {
		return " (successor " + p.Deprecation.Successor + ")"
	}
	return ""
}

// toEvent converts a descriptor to the lifecycle record's product, with the
// mesh's topic prefix on every port topic and subject.
func (s *Service) toEvent(d *product.Descriptor) events.DataProduct {
	dp := d.ToEvent()
	for i := range dp.OutputPorts {
		dp.OutputPorts[i].Topic = s.topics.Prefix + dp.OutputPorts[i].Topic
		dp.OutputPorts[i].SchemaSubject = events.Subject(dp.OutputPorts[i].Topic)
	}
	return dp
}

// compare tells whether the candidate is identical to the registered product
// (same), and whether its ports, schemas and retention are (samePorts), so
// that any difference is metadata.
func (s *Service) compare(ctx context.Context, d *product.Descriptor, cand, cur events.DataProduct) (same, samePorts bool, err error) {
	samePorts = cand.RetentionDays == cur.RetentionDays && jsonEqual(portsKey(cand), portsKey(cur))
	if samePorts {
		for i, port := range cur.OutputPorts {
			if port.SchemaID == nil {
				samePorts = false
				break
			}
			text, err := s.schemaText(ctx, int(*port.SchemaID))
			if err != nil {
				return false, false, err
			}
			if canonicalSchema(text) != canonicalSchema(d.Spec.OutputPorts[i].Schema) {
				samePorts = false
				break
			}
		}
	}
	return samePorts && jsonEqual(metadataKey(cand), metadataKey(cur)), samePorts, nil
}

// portsKey is the part of a product that provisioning acts on, schema ids
// left out.
func portsKey(p events.DataProduct) []events.OutputPort {
	ports := make([]events.OutputPort, len(p.OutputPorts))
	for i, port := range p.OutputPorts {
		port.SchemaID = nil
		if port.Fields == nil {
			port.Fields = []string{}
		}
		ports[i] = port
	}
	return ports
}

// metadataKey is everything else, with empty lists and maps normalised (the
// Avro round trip does not keep nil apart from empty).
func metadataKey(p events.DataProduct) events.DataProduct {
	p.OutputPorts, p.RetentionDays = nil, 0
	if len(p.Tags) == 0 {
		p.Tags = nil
	}
	if len(p.Inputs) == 0 {
		p.Inputs = nil
	}
	if len(p.QualitySLOs) == 0 {
		p.QualitySLOs = nil
	}
	if len(p.Labels) == 0 {
		p.Labels = nil
	}
	if p.Security != nil && len(p.Security.PIIFields) == 0 {
		sec := *p.Security
		sec.PIIFields = nil
		p.Security = &sec
	}
	return p
}

func jsonEqual(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// plan lists the ports to provision, refusing a new version of the same
// major that removes a port or changes a port's partition count.
func (s *Service) plan(d *product.Descriptor, cand events.DataProduct, cur Product, exists bool) ([]portPlan, error) {
	sameMajor := exists && majorOf(cur.Product.Version) == majorOf(d.Spec.Version)
	existing := map[string]events.OutputPort{}
	if sameMajor {
		for _, port := range cur.Product.OutputPorts {
			existing[port.Name] = port
		}
		for _, port := range cur.Product.OutputPorts {
			if _, ok := d.Port(port.Name); !ok {
				return nil, newError(ErrConflict, "spec.outputPorts", "port %q of version %s is missing: removing a port breaks its consumers and needs a new major version", port.Name, cur.Product.Version)
			}
		}
	}
	plans := make([]portPlan, len(cand.OutputPorts))
	for i, port := range cand.OutputPorts {
		pl := portPlan{index: i, name: port.Name, topic: port.Topic, dlqTopic: events.PortDeadLetterTopic(port.Topic), subject: port.SchemaSubject,
			schema: d.Spec.OutputPorts[i].Schema, partitions: port.Partitions}
		if old, ok := existing[port.Name]; ok {
			if old.Partitions != port.Partitions {
				return nil, newError(ErrConflict, fmt.Sprintf("spec.outputPorts[%d].partitions", i),
					"port %q has %d partitions in version %s; changing it would reorder keys within major version %s, publish a new major version instead", port.Name, old.Partitions, cur.Product.Version, majorOf(cur.Product.Version))
			}
			pl.topicExists = true
		}
		plans[i] = pl
	}
	return plans, nil
}

// checkSchemas checks every port schema BACKWARD compatible with the latest
// version of its subject: locally with hamba/avro (the in-process fake
// registry accepts anything), then with the registry. It changes nothing.
func (s *Service) checkSchemas(ctx context.Context, plans []portPlan) error {
	for i := range plans {
		pl := &plans[i]
		field := fmt.Sprintf("spec.outputPorts[%d].schema", pl.index)
		latest, err := s.reg.SchemaByVersion(ctx, pl.subject, -1)
		switch {
		case notFound(err):
			continue // a new subject: nothing to be compatible with
		case err != nil:
			return unavailable(err, "schema registry: latest version of %s", pl.subject)
		}
		pl.prevVersion = latest.Version
		if canonicalSchema(latest.Schema.Schema) == canonicalSchema(pl.schema) {
			continue
		}
		writer, err := parseSchema(latest.Schema.Schema)
		if err != nil {
			return &Error{Kind: ErrIncompatible, Field: field, Msg: fmt.Sprintf("latest version %d of %s does not parse", latest.Version, pl.subject), Err: err}
		}
		reader, err := parseSchema(pl.schema)
		if err != nil { // Validate parsed it already
			return &Error{Kind: product.ErrInvalid, Field: field, Err: err}
		}
		if err := avro.NewSchemaCompatibility().Compatible(reader, writer); err != nil {
			return &Error{Kind: ErrIncompatible, Field: field, Err: err,
				Msg: fmt.Sprintf("schema of port %q is not BACKWARD compatible with version %d of %s", pl.name, latest.Version, pl.subject)}
		}
		check, err := s.reg.CheckCompatibility(ctx, pl.subject, -1, sr.Schema{Schema: pl.schema, Type: sr.TypeAvro})
		switch {
		case err != nil && registryStatus(err) == http.StatusUnprocessableEntity:
			return &Error{Kind: ErrIncompatible, Field: field, Err: err, Msg: fmt.Sprintf("the schema registry rejects the schema of port %q", pl.name)}
		case err != nil:
			return unavailable(err, "schema registry: check compatibility with %s", pl.subject)
		case !check.Is:
			reason := strings.Join(check.Messages, "; ")
			if reason == "" {
				reason = "no reason given"
			}
			return newError(ErrIncompatible, field, "the schema registry finds the schema of port %q not compatible with version %d of %s: %s", pl.name, latest.Version, pl.subject, reason)
		}
	}
	return nil
}

// provision creates the port topics and their dead-letter topics, registers
// the schemas (setting each port's schema id in cand) and applies a changed
// retention to the existing topics, recording in u what it did.
//
// Every port gets its dead-letter topic, with the port topic's partitions,
// replication, min.insync.replicas and retention, whether or not a contract
// rule dead-letters today: a later minor version may add such a rule, and
// a domain's publisher then needs only WRITE on it, never CREATE. An
// existing port whose dead-letter topic is missing (registered before the
// registrar made them) gets it too; as it belongs to a port already
// announced, a failed registration keeps it.
func (s *Service) provision(ctx context.Context, d *product.Descriptor, cand events.DataProduct, cur Product, exists bool, plans []portPlan, u *undo) error {
	retention := strconv.FormatInt(int64(d.Spec.RetentionDays)*24*int64(time.Hour/time.Millisecond), 10)
	cfg := s.opts.Topics.Configs("retention.ms", retention)
	fresh := map[string]bool{} // existing ports' dead-letter topics created now
	for _, pl := range plans {
		if !pl.topicExists {
			// One request for both: the controller creates them in turn
			// either way, but the round trip is paid once.
			created, err := s.createPortTopics(ctx, pl, cfg, true, pl.topic, pl.dlqTopic)
			u.topics = append(u.topics, created...)
			if err != nil {
				return err
			}
			continue
		}
		created, err := s.createPortTopics(ctx, pl, cfg, false, pl.dlqTopic)
		if err != nil {
			return err
		}
		if len(created) > 0 {
			s.log.Info("created the missing dead-letter topic of an existing port", zap.String("topic", pl.dlqTopic))
			fresh[pl.dlqTopic] = true
		}
	}
	s.step(cand.ID, "topics")
	for _, pl := range plans {
		schema := sr.Schema{Schema: pl.schema, Type: sr.TypeAvro}
		// RegisterSchema, not CreateSchema: CreateSchema looks up every
		// subject using the id, one request each, which grows with the mesh
		// when products share a schema.
		id, err := s.reg.RegisterSchema(ctx, pl.subject, schema, -1, -1)
		switch {
		case err != nil && registryStatus(err) == http.StatusConflict:
			return &Error{Kind: ErrIncompatible, Field: fmt.Sprintf("spec.outputPorts[%d].schema", pl.index), Err: err,
				Msg: fmt.Sprintf("the schema registry refuses the schema of port %q as incompatible", pl.name)}
		case err != nil && registryStatus(err) == http.StatusUnprocessableEntity:
			return &Error{Kind: ErrIncompatible, Field: fmt.Sprintf("spec.outputPorts[%d].schema", pl.index), Err: err,
				Msg: fmt.Sprintf("the schema registry rejects the schema of port %q", pl.name)}
		case err != nil:
			return unavailable(err, "schema registry: register %s", pl.subject)
		}
		if pl.prevVersion == 0 {
			u.versions = append(u.versions, subjectVersion{subject: pl.subject, whole: true})
		} else {
			// The subject existed: a new version, or one it had already?
			ss, err := s.reg.LookupSchema(ctx, pl.subject, schema)
			if err != nil {
				return unavailable(err, "schema registry: look up the version of %s", pl.subject)
			}
			if ss.Version > pl.prevVersion {
				u.versions = append(u.versions, subjectVersion{subject: pl.subject, version: ss.Version})
			}
		}
		ss := sr.SubjectSchema{ID: id}
		s.rememberSchema(ss.ID, pl.schema)
		sid := int32(ss.ID)
		cand.OutputPorts[pl.index].SchemaID = &sid
		if pl.prevVersion == 0 {
			if err := s.ensureBackward(ctx, pl.subject); err != nil {
				return unavailable(err, "schema registry")
			}
		}
	}
	s.step(cand.ID, "schemas")
	if exists && cur.Product.RetentionDays != int32(d.Spec.RetentionDays) {
		var topics []string
		for _, pl := range plans {
			if pl.topicExists {
				topics = append(topics, pl.topic)
				if !fresh[pl.dlqTopic] { // created with the new retention
					topics = append(topics, pl.dlqTopic)
				}
			}
		}
		if len(topics) > 0 {
			if err := s.setRetention(ctx, retention, topics); err != nil {
				return err
			}
			old := strconv.FormatInt(int64(cur.Product.RetentionDays)*24*int64(time.Hour/time.Millisecond), 10)
			u.retention = map[string]string{}
			for _, t := range topics {
				u.retention[t] = old
			}
		}
	}
	return nil
}

// createPortTopics creates topics of port pl with cfg in one request and
// returns those it created, also when it fails on another: one that exists
// already is kept (with a warning when warnExists).
func (s *Service) createPortTopics(ctx context.Context, pl portPlan, cfg map[string]*string, warnExists bool, topics ...string) ([]string, error) {
	resps, err := s.adm.CreateTopics(ctx, pl.partitions, s.opts.Topics.ReplicationFactor, cfg, topics...)
	if err != nil {
		return nil, unavailable(err, "kafka: create topics %s", strings.Join(topics, ", "))
	}
	var created []string
	for _, topic := range topics {
		r, ok := resps[topic]
		err := r.Err
		if !ok {
			err = fmt.Errorf("no answer for topic %s", topic)
		}
		switch {
		case err == nil:
			created = append(created, topic)
		case errors.Is(err, kerr.TopicAlreadyExists):
			if warnExists {
				s.log.Warn("port topic exists already; keeping it", zap.String("topic", topic))
			}
		case errors.Is(err, kerr.InvalidReplicationFactor), errors.Is(err, kerr.InvalidPartitions), errors.Is(err, kerr.InvalidConfig), errors.Is(err, kerr.PolicyViolation):
			return created, &Error{Kind: ErrConflict, Field: fmt.Sprintf("spec.outputPorts[%d]", pl.index), Msg: "Kafka refuses to create topic " + topic, Err: err}
		default:
			return created, unavailable(err, "kafka: create topic %s", topic)
		}
	}
	return created, nil
}

func (s *Service) setRetention(ctx context.Context, ms string, topics []string) error {
	resps, err := s.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr(ms)}}, topics...)
	if err == nil {
		for _, r := range resps {
			if r.Err != nil {
				err = fmt.Errorf("%s: %w", r.Name, r.Err)
				break
			}
		}
	}
	if err != nil {
		return unavailable(err, "kafka: set retention.ms of %s", strings.Join(topics, ", "))
	}
	return nil
}

// rollback deletes what a failed registration created. Failures are logged:
// the request is answered with the error that caused the rollback.
func (s *Service) rollback(id string, u *undo) {
	if len(u.topics) == 0 && len(u.versions) == 0 && len(u.retention) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	log := s.log.With(zap.String("id", id))
	for i := len(u.versions) - 1; i >= 0; i-- {
		v := u.versions[i]
		var err error
		if v.whole {
			err = s.deleteSubject(ctx, v.subject)
		} else {
			err = s.deleteVersion(ctx, v.subject, v.version)
		}
		if err != nil {
			log.Error("rollback: schema version left behind", zap.String("subject", v.subject), zap.Int("version", v.version), zap.Error(err))
		}
	}
	if len(u.topics) > 0 {
		resps, err := s.adm.DeleteTopics(ctx, u.topics...)
		if err != nil {
			log.Error("rollback: topics left behind", zap.Strings("topics", u.topics), zap.Error(err))
		}
		for _, r := range resps {
			if r.Err != nil {
				log.Error("rollback: topic left behind", zap.String("topic", r.Topic), zap.Error(r.Err))
			}
		}
	}
	for topic, ms := range u.retention {
		if err := s.setRetention(ctx, ms, []string{topic}); err != nil {
			log.Error("rollback: retention not restored", zap.String("topic", topic), zap.Error(err))
		}
	}
	log.Info("rolled back a failed registration", zap.Strings("topics", u.topics), zap.Int("schema_versions", len(u.versions)))
}

// publish sends a lifecycle event in a transaction of the writer's term t
// (with the done record of the product's intent when closeIntent, and the
// notices the event causes, notice.go) and, once committed, folds it into
// the view, so the caller reads its own write.
func (s *Service) publish(ctx context.Context, t *term, ev *events.ProductLifecycleEvent, closeIntent bool) error {
	rec, err := s.codec.Encode(ctx, ev, events.DomainSource(ev.Product.Domain))
	if err != nil {
		if errors.Is(err, events.ErrInvalidEvent) {
			return err // a bug: the descriptor was valid
		}
		return unavailable(err, "schema registry: encode the lifecycle event")
	}
	recs := []*kgo.Record{rec}
	if closeIntent {
		recs = append(recs, s.doneRecord(ev.Product.ID))
	}
	notices, ids, err := s.lifecycleNoticeRecords(ctx, ev)
	if err != nil {
		return err
	}
	recs = append(recs, notices...)
	if err := t.events.transact(ctx, recs...); err != nil {
		return s.lost(t, err, fmt.Sprintf("publish the %s event of %s", ev.Type, ev.Product.ID))
	}
	s.view.apply(ev, rec.Partition, rec.Offset)
	s.notices.add(ids...)
	return nil
}

// step calls the test hook after a provisioning step.
func (s *Service) step(id, name string) {
	if s.hooks.step != nil {
		s.hooks.step(id, name)
	}
}

func portResults(p events.DataProduct) []PortResult {
	out := make([]PortResult, len(p.OutputPorts))
	for i, port := range p.OutputPorts {
		out[i] = PortResult{Name: port.Name, Topic: port.Topic, Subject: port.SchemaSubject}
		if port.SchemaID != nil {
			out[i].SchemaID = *port.SchemaID
		}
	}
	return out
}

// newID returns a random UUID (version 4).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// now is the current time at the millisecond precision of the contracts.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

package registrar

// Access as a product: a consumer asks for access to output ports of a
// product, a rule (the access policies) or the owning domain approves or
// rejects, the owning domain or governance revokes. Every change is an
// AccessEvent on mesh.access.v1 (key = product id), published by the writer
// in its transactions like the lifecycle events; every instance folds the
// topic into its accessView, so a restarted or newly elected registrar
// knows every agreement from the log.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
	"github.com/meshbone/meshbone/pkg/product"
)

// RuleActor is the actor (and decided_by) of an approval by rule, followed
// by the ids of the global access policies that passed.
const RuleActor = "rule:"

// Agreement is the registrar's view of one access agreement, as the access
// API answers it: the agreement as last announced, its status and history.
type Agreement struct {
	events.AccessAgreement
	Status events.AgreementStatus `json:"status"`
	// Reason is the last event's reason: why a request waits, was rejected
	// or was revoked.
	Reason string `json:"reason,omitempty"`
	// Bindings are the Kafka ACLs of the last GRANTED, REVOKED or EXPIRED
	// event.
	Bindings  []events.AclBinding  `json:"bindings,omitempty"`
	History   []AccessHistoryEntry `json:"history"`
	UpdatedAt time.Time            `json:"updated_at"`

	partition int32
	offset    int64
}

// AccessHistoryEntry is one event of an agreement.
type AccessHistoryEntry struct {
	EventID    string                 `json:"event_id"`
	Type       events.AccessEventType `json:"type"`
	Actor      string                 `json:"actor"`
	OccurredAt time.Time              `json:"occurred_at"`
}

// open reports whether the agreement still counts: pending or in force.
func (a *Agreement) open() bool {
	return a.Status == events.AgreementPending || a.Status == events.AgreementApproved || a.Status == events.AgreementGranted
}

func (a *Agreement) clone() Agreement {
	c := *a
	c.Ports = slices.Clone(a.Ports)
	c.Bindings = slices.Clone(a.Bindings)
	c.History = slices.Clone(a.History)
	return c
}

// accessView is every agreement, folded from the access topic, and the
// access policies requests are judged by.
type accessView struct {
	policies *policy.Set

	mu   sync.RWMutex
	byID map[string]*Agreement
}

// apply folds an access event read at partition/offset. It reports false
// (and changes nothing) for a record of the agreement at or before the last
// one applied: the writer applies its own events before the follower reads
// them.
func (v *accessView) apply(ev *events.AccessEvent, partition int32, offset int64) bool {
	st, ok := ev.Type.Status()
	if !ok {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	id := ev.Agreement.AgreementID
	a, ok := v.byID[id]
	if ok && a.partition == partition && offset <= a.offset {
		return false
	}
	if !ok {
		a = &Agreement{}
		v.byID[id] = a
	}
	a.AccessAgreement = ev.Agreement
	a.Ports = slices.Clone(ev.Agreement.Ports)
	a.Status = st
	a.Reason = ""
	if ev.Reason != nil {
		a.Reason = *ev.Reason
	}
	if len(ev.Bindings) > 0 {
		a.Bindings = slices.Clone(ev.Bindings)
	}
	a.History = append(a.History, AccessHistoryEntry{EventID: ev.EventID, Type: ev.Type, Actor: ev.Actor, OccurredAt: ev.OccurredAt})
	a.UpdatedAt = ev.OccurredAt
	a.partition, a.offset = partition, offset
	return true
}

func (v *accessView) get(id string) (Agreement, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	a, ok := v.byID[id]
	if !ok {
		return Agreement{}, false
	}
	return a.clone(), true
}

// AccessFilter selects agreements; zero fields select all.
type AccessFilter struct {
	Product   string
	Principal string
	Status    events.AgreementStatus
}

// list returns the agreements that match f, oldest request first.
func (v *accessView) list(f AccessFilter) []Agreement {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := []Agreement{}
	for _, a := range v.byID {
		if (f.Product == "" || a.ProductID == f.Product) && (f.Principal == "" || a.Principal == f.Principal) && (f.Status == "" || a.Status == f.Status) {
			out = append(out, a.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].RequestedAt.Equal(out[j].RequestedAt) {
			return out[i].RequestedAt.Before(out[j].RequestedAt)
		}
		return out[i].AgreementID < out[j].AgreementID
	})
	return out
}

// conflicting returns an open agreement of principal on product that shares
// a port with ports, if any.
func (v *accessView) conflicting(product, principal string, ports []string) (Agreement, string, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ids := make([]string, 0, len(v.byID))
	for id := range v.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := v.byID[id]
		if a.ProductID != product || a.Principal != principal || !a.open() {
			continue
		}
		for _, p := range ports {
			if slices.Contains(a.Ports, p) {
				return a.clone(), p, true
			}
		}
	}
	return Agreement{}, "", false
}

// AccessRequest is the body of POST /api/v1/access.
type AccessRequest struct {
	// Product is the id of the product to read.
	Product string `json:"product"`
	// Ports are the names of its output ports to read; at least one.
	Ports []string `json:"ports"`
	// Consumer is who will read.
	Consumer ConsumerSpec `json:"consumer"`
	// Principal is the Kafka principal the consumer connects as,
	// "User:<name>".
	Principal string `json:"principal"`
	// GroupPrefix is the prefix of the consumer groups it will use.
	GroupPrefix string `json:"group_prefix"`
	// Purpose says what the data will be used for.
	Purpose string `json:"purpose"`
	// ValidFrom and ValidUntil bound the agreement: a date (2027-01-31) or
	// an RFC 3339 time. ValidFrom defaults to now; no ValidUntil means
	// until revoked.
	ValidFrom  string `json:"valid_from,omitempty"`
	ValidUntil string `json:"valid_until,omitempty"`
}

// ConsumerSpec names a consumer: type team, application or data-product,
// its id (a data product's id for data-product) and, optionally, the
// channel notices about the product reach it on (product.CheckChannel:
// mailto:<address>, slack:#<channel> or an https URL).
type ConsumerSpec struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Channel string `json:"channel,omitempty"`
}

// AccessDecision is the body of approve, reject and revoke; a reason is
// required to reject or revoke.
type AccessDecision struct {
	Reason string `json:"reason,omitempty"`
}

// AccessResult is the answer to a write of the access API: the agreement
// after it and the id of the last event published.
type AccessResult struct {
	Agreement
	EventID string `json:"event_id"`
}

// AccessList is the answer to GET /api/v1/access.
type AccessList struct {
	Agreements []Agreement `json:"agreements"`
}

// Limits of a request's free text.
const (
	maxPurpose = 2000
	maxReason  = 1000
)

var (
	kafkaUser     = regexp.MustCompile(`^User:[A-Za-z0-9][A-Za-z0-9._@=-]{0,254}$`)
	groupPrefixRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,199}$`)
	agreementID   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	consumerTypes = map[string]events.ConsumerType{
		"team": events.ConsumerTeam, "application": events.ConsumerApplication, "data-product": events.ConsumerDataProduct,
	}
)

// checkPrincipal refuses an empty principal, wildcards, ACL syntax and the
// unauthenticated principal: an agreement names exactly one Kafka user.
func checkPrincipal(p string) error {
	switch {
	case strings.TrimSpace(p) == "":
		return newError(ErrBadRequest, "principal", `principal is required: the Kafka principal the consumer connects as, e.g. "User:orders-dashboard"`)
	case strings.Contains(p, "*"):
		return newError(ErrBadRequest, "principal", "principal %q holds a wildcard: an agreement names one Kafka principal", p)
	case p == "User:ANONYMOUS":
		return newError(ErrBadRequest, "principal", "principal %q is Kafka's unauthenticated principal: name the consumer's own", p)
	case !kafkaUser.MatchString(p):
		return newError(ErrBadRequest, "principal", `principal %q is not a Kafka user principal: "User:<name>", the name of letters, digits and . _ @ = -`, p)
	}
	return nil
}

// checkGroupPrefix refuses an empty prefix, wildcards, ACL syntax and a
// prefix that would cover the consumer groups of meshbone's own services.
func checkGroupPrefix(g, topicPrefix string) error {
	reserved := topicPrefix + "meshbone"
	switch {
	case strings.TrimSpace(g) == "":
		return newError(ErrBadRequest, "group_prefix", "group_prefix is required: the prefix of the consumer groups the consumer will use")
	case strings.Contains(g, "*"):
		return newError(ErrBadRequest, "group_prefix", `group_prefix %q holds a wildcard: name the prefix itself, e.g. "orders-dashboard-"`, g)
	case !groupPrefixRE.MatchString(g):
		return newError(ErrBadRequest, "group_prefix", "group_prefix %q is not 3 to 200 letters, digits and . _ - starting with a letter or digit", g)
	case strings.HasPrefix(g, reserved) || strings.HasPrefix(reserved, g):
		return newError(ErrBadRequest, "group_prefix", "group_prefix %q would cover the consumer groups of meshbone's own services (%s-...)", g, reserved)
	}
	return nil
}

// parseWhen reads a date or an RFC 3339 time; "" is the zero time.
func parseWhen(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return time.Time{}, newError(ErrBadRequest, field, "%s %q is neither a date (2027-01-31) nor an RFC 3339 time", field, s)
		}
	}
	return t.UTC(), nil
}

// checkRequest checks what a request says on its own, before the view is
// consulted.
func checkRequest(req *AccessRequest, topicPrefix string, at time.Time) (from time.Time, until *time.Time, err error) {
	if _, err := checkID(req.Product); err != nil {
		return from, nil, &Error{Kind: ErrBadRequest, Field: "product", Msg: fmt.Sprintf("product %q is not a product id (<domain>.<name>, both lowercase DNS labels)", req.Product)}
	}
	if len(req.Ports) == 0 {
		return from, nil, newError(ErrBadRequest, "ports", "ports: name at least one output port of %s", req.Product)
	}
	seen := map[string]bool{}
	for _, p := range req.Ports {
		if seen[p] {
			return from, nil, newError(ErrBadRequest, "ports", "port %q is named twice", p)
		}
		seen[p] = true
	}
	if _, ok := consumerTypes[req.Consumer.Type]; !ok {
		return from, nil, newError(ErrBadRequest, "consumer.type", "consumer.type %q is not team, application or data-product", req.Consumer.Type)
	}
	if strings.TrimSpace(req.Consumer.ID) == "" {
		return from, nil, newError(ErrBadRequest, "consumer.id", "consumer.id is required: the team, the application or the data product that will read")
	}
	if req.Consumer.Channel != "" {
		if err := product.CheckChannel(req.Consumer.Channel); err != nil {
			return from, nil, newError(ErrBadRequest, "consumer.channel", "consumer.channel %s", err)
		}
	}
	if err := checkPrincipal(req.Principal); err != nil {
		return from, nil, err
	}
	if err := checkGroupPrefix(req.GroupPrefix, topicPrefix); err != nil {
		return from, nil, err
	}
	switch {
	case strings.TrimSpace(req.Purpose) == "":
		return from, nil, newError(ErrBadRequest, "purpose", "purpose is required: say what the data will be used for")
	case len(req.Purpose) > maxPurpose:
		return from, nil, newError(ErrBadRequest, "purpose", "purpose is longer than %d bytes", maxPurpose)
	}
	if from, err = parseWhen("valid_from", req.ValidFrom); err != nil {
		return from, nil, err
	}
	if from.IsZero() {
		from = at
	}
	u, err := parseWhen("valid_until", req.ValidUntil)
	if err != nil {
		return from, nil, err
	}
	if !u.IsZero() {
		switch {
		case !u.After(at):
			return from, nil, newError(ErrBadRequest, "valid_until", "valid_until %s is in the past", u.Format(time.RFC3339))
		case !u.After(from):
			return from, nil, newError(ErrBadRequest, "valid_until", "valid_until %s is not after valid_from %s", u.Format(time.RFC3339), from.Format(time.RFC3339))
		}
		until = &u
	}
	return from, until, nil
}

// requestAccess records a request and, when the access policies approve it
// by rule, its approval in the same transaction.
func (s *Service) requestAccess(ctx context.Context, p principal, req AccessRequest, a *auditInfo) (AccessResult, error) {
	at := now()
	from, until, err := checkRequest(&req, s.opts.Kafka.TopicPrefix, at)
	if err != nil {
		return AccessResult{}, err
	}
	id := req.Product
	defer s.lock(id)()
	t, release, err := s.accessWriting(ctx)
	if err != nil {
		return AccessResult{}, err
	}
	defer release()
	cur, ok := s.view.get(id)
	switch {
	case !ok:
		return AccessResult{}, newError(ErrNotFound, "product", "no product %s", id)
	case cur.Status == StatusRetired:
		return AccessResult{}, newError(ErrConflict, "product", "product %s is retired: it takes no new consumers", id)
	}
	var names []string
	for _, port := range cur.Product.OutputPorts {
		names = append(names, port.Name)
	}
	for _, port := range req.Ports {
		if !slices.Contains(names, port) {
			return AccessResult{}, newError(ErrBadRequest, "ports", "product %s has no output port %q (its ports: %s)", id, port, strings.Join(names, ", "))
		}
	}
	consumer := events.AccessConsumer{Type: consumerTypes[req.Consumer.Type], ID: req.Consumer.ID}
	if req.Consumer.Channel != "" {
		consumer.Channel = &req.Consumer.Channel
	}
	if consumer.Type == events.ConsumerDataProduct {
		domain, err := checkID(req.Consumer.ID)
		if err != nil {
			return AccessResult{}, newError(ErrBadRequest, "consumer.id", "consumer.id %q is not a product id (<domain>.<name>)", req.Consumer.ID)
		}
		if c, ok := s.view.get(req.Consumer.ID); !ok || c.Status == StatusRetired {
			return AccessResult{}, newError(ErrBadRequest, "consumer.id", "consumer.id %q is not a registered, unretired data product", req.Consumer.ID)
		}
		if !p.mayActOn(domain) {
			return AccessResult{}, newError(ErrForbidden, "consumer.id", "%s (%s of domain %s) may not ask for access on behalf of products of domain %s", p.Name, p.Role, p.Domain, domain)
		}
		consumer.Domain = &domain
	} else if p.Domain != "" {
		consumer.Domain = &p.Domain
	}
	if prev, port, dup := s.access.conflicting(id, req.Principal, req.Ports); dup {
		return AccessResult{}, newError(ErrConflict, "principal", "%s already has agreement %s (%s) on port %s of %s", req.Principal, prev.AgreementID, prev.Status, port, id)
	}
	ag := events.AccessAgreement{
		AgreementID: newID(), ProductID: id, Ports: slices.Clone(req.Ports), Consumer: consumer,
		Principal: req.Principal, GroupPrefix: req.GroupPrefix, Purpose: req.Purpose,
		RequestedBy: p.Name, RequestedAt: at, ValidFrom: from, ValidUntil: until,
	}
	a.details["agreement_id"] = ag.AgreementID
	approvers, why, err := s.judgeAccess(&cur.Product, &ag, p, at)
	if err != nil {
		return AccessResult{}, err
	}
	undo := func() {} // deletes the ACLs of an unpublished grant
	requested := &events.AccessEvent{EventID: newID(), Type: events.AccessRequested, OccurredAt: at, Actor: p.Name, Agreement: ag}
	evs := []*events.AccessEvent{requested}
	if approvers != "" {
		decided := ag
		by := RuleActor + approvers
		decided.DecidedBy, decided.DecidedAt = &by, &at
		evs = append(evs, &events.AccessEvent{EventID: newID(), Type: events.AccessApproved, OccurredAt: at, Actor: by, Agreement: decided})
		if evs, undo, err = s.grant(ctx, decided, &cur.Product, evs); err != nil {
			return AccessResult{}, err
		}
	} else {
		requested.Reason = &why
	}
	if err := s.publishAccess(ctx, t, evs...); err != nil {
		undo()
		return AccessResult{}, err
	}
	last := evs[len(evs)-1]
	res, _ := s.access.get(ag.AgreementID)
	a.details["status"] = string(res.Status)
	s.log.Info("access requested", zap.String("agreement", ag.AgreementID), zap.String("product", id), zap.String("principal", ag.Principal),
		zap.String("status", string(res.Status)))
	return AccessResult{Agreement: res, EventID: last.EventID}, nil
}

// judgeAccess evaluates the access policies on a request: it returns the
// ids of the passing global policies when the request is approved by rule
// (one global policy passed, none failed), else "" and why not.
func (s *Service) judgeAccess(prod *events.DataProduct, ag *events.AccessAgreement, p principal, at time.Time) (string, string, error) {
	in := &policy.Access{
		AgreementID: ag.AgreementID, ProductID: ag.ProductID, Ports: ag.Ports, ConsumerType: string(ag.Consumer.Type),
		ConsumerID: ag.Consumer.ID, Principal: ag.Principal, GroupPrefix: ag.GroupPrefix, Purpose: ag.Purpose,
		RequestedBy: p.Name, RequesterDomain: p.Domain, ValidFrom: ag.ValidFrom,
	}
	if ag.Consumer.Domain != nil {
		in.ConsumerDomain = *ag.Consumer.Domain
	}
	if ag.ValidUntil != nil {
		in.ValidUntil = *ag.ValidUntil
	}
	vars := policy.NewVars(policy.Input{Trigger: policy.TriggerAccess, ProductID: prod.ID, Product: prod, Access: in, Now: at})
	var passed, held []string
	for _, d := range s.access.policies.Evaluate(vars) {
		switch d.Outcome {
		case policy.Pass:
			if d.Policy.Scope == events.ScopeGlobal {
				passed = append(passed, d.Policy.ID)
			}
		case policy.Fail:
			held = append(held, d.Policy.ID+": "+d.Message)
		case policy.Errored:
			held = append(held, fmt.Sprintf("%s: %v", d.Policy.ID, d.Err))
		}
	}
	switch {
	case len(held) > 0:
		return "", "waits for domain " + prod.Domain + ": " + strings.Join(held, "; "), nil
	case len(passed) == 0:
		return "", "waits for domain " + prod.Domain + ": no access policy approves it by rule", nil
	}
	return strings.Join(passed, ","), "", nil
}

// decideAccess approves, rejects or revokes agreement id.
func (s *Service) decideAccess(ctx context.Context, p principal, id string, typ events.AccessEventType, dec AccessDecision, a *auditInfo) (AccessResult, error) {
	if !agreementID.MatchString(id) {
		return AccessResult{}, newError(ErrBadRequest, "id", "%q is not an agreement id", id)
	}
	reason := strings.TrimSpace(dec.Reason)
	switch {
	case reason == "" && typ != events.AccessApproved:
		return AccessResult{}, newError(ErrBadRequest, "reason", "reason is required: tell the consumer why")
	case len(reason) > maxReason:
		return AccessResult{}, newError(ErrBadRequest, "reason", "reason is longer than %d bytes", maxReason)
	}
	found, ok := s.access.get(id)
	if !ok {
		// The agreement may be in a write the view has not read yet: look
		// again once the view holds the access topic up to its end.
		if err := s.waitEnd(ctx, s.topics.Access); err != nil {
			return AccessResult{}, unavailable(err, "read the access topic")
		}
		if found, ok = s.access.get(id); !ok {
			return AccessResult{}, newError(ErrNotFound, "id", "no access agreement %s", id)
		}
	}
	product := found.ProductID
	domain, _ := checkID(product)
	a.target, a.domain = product, domain
	a.details["agreement_id"] = id
	verb := map[events.AccessEventType]string{events.AccessApproved: "approve", events.AccessRejected: "reject", events.AccessRevoked: "revoke"}[typ]
	if !p.mayActOn(domain) {
		return AccessResult{}, newError(ErrForbidden, "", "%s (%s of domain %s) may not %s access to products of domain %s", p.Name, p.Role, p.Domain, verb, domain)
	}
	defer s.lock(product)()
	t, release, err := s.accessWriting(ctx)
	if err != nil {
		return AccessResult{}, err
	}
	defer release()
	cur, _ := s.access.get(id)
	switch typ {
	case events.AccessApproved, events.AccessRejected:
		if cur.Status != events.AgreementPending {
			return AccessResult{}, newError(ErrConflict, "id", "agreement %s is %s already: only a pending request can be %s", id, cur.Status, pastTense(verb))
		}
	case events.AccessRevoked:
		if cur.Status != events.AgreementApproved && cur.Status != events.AgreementGranted {
			return AccessResult{}, newError(ErrConflict, "id", "agreement %s is %s: only an approved agreement can be revoked", id, cur.Status)
		}
	}
	prod, ok := s.view.get(product)
	if typ == events.AccessApproved && (!ok || prod.Status == StatusRetired) {
		return AccessResult{}, newError(ErrConflict, "id", "product %s is retired: it takes no new consumers", product)
	}
	at := now()
	ag := cur.AccessAgreement
	ag.Ports = slices.Clone(cur.Ports)
	if typ != events.AccessRevoked {
		ag.DecidedBy, ag.DecidedAt = &p.Name, &at
	}
	ev := &events.AccessEvent{EventID: newID(), Type: typ, OccurredAt: at, Actor: p.Name, Agreement: ag}
	if reason != "" {
		ev.Reason = &reason
	}
	evs := []*events.AccessEvent{ev}
	undo := func() {} // deletes the ACLs of an unpublished grant
	switch typ {
	case events.AccessApproved:
		if evs, undo, err = s.grant(ctx, ag, &prod.Product, evs); err != nil {
			return AccessResult{}, err
		}
	case events.AccessRevoked:
		// The ACLs go first: should the event not be published, access is
		// gone all the same, and revoking again publishes it.
		if ev.Bindings, err = s.ungrant(ctx, cur); err != nil {
			return AccessResult{}, err
		}
	}
	if err := s.publishAccess(ctx, t, evs...); err != nil {
		undo()
		return AccessResult{}, err
	}
	res, _ := s.access.get(id)
	a.details["status"] = string(res.Status)
	s.log.Info("access "+pastTense(verb), zap.String("agreement", id), zap.String("product", product), zap.String("actor", p.Name))
	return AccessResult{Agreement: res, EventID: evs[len(evs)-1].EventID}, nil
}

func pastTense(verb string) string {
	if strings.HasSuffix(verb, "e") {
		return verb + "d"
	}
	return verb + "ed"
}

// accessWriting is writing for an access write: the writer's term, once
// its views hold the lifecycle topic and everything committed to the access
// topic (a newly elected writer may not have read its predecessor's last
// access events yet).
func (s *Service) accessWriting(ctx context.Context) (*term, func(), error) {
	t, release, err := s.writing()
	if err != nil {
		return nil, nil, err
	}
	if !s.caughtUp.Load() {
		release()
		return nil, nil, newError(ErrUnavailable, "", "the registrar is still reading the lifecycle and access topics; retry shortly")
	}
	if err := s.waitEnd(ctx, s.topics.Access); err != nil {
		release()
		return nil, nil, unavailable(err, "read the access topic to its end")
	}
	return t, release, nil
}

// publishAccess publishes access events in one of the writer's transactions
// and folds them into the view.
func (s *Service) publishAccess(ctx context.Context, t *term, evs ...*events.AccessEvent) error {
	recs := make([]*kgo.Record, 0, len(evs))
	for _, ev := range evs {
		domain, _ := checkID(ev.Agreement.ProductID)
		rec, err := s.codec.Encode(ctx, ev, events.DomainSource(domain))
		if err != nil {
			if errors.Is(err, events.ErrInvalidEvent) {
				return err // a bug: the request was checked
			}
			return unavailable(err, "schema registry: encode the access event")
		}
		recs = append(recs, rec)
	}
	if err := t.events.transact(ctx, recs...); err != nil {
		return s.lost(t, err, fmt.Sprintf("publish the %s event of agreement %s", evs[0].Type, evs[0].Agreement.AgreementID))
	}
	for i, ev := range evs {
		s.access.apply(ev, recs[i].Partition, recs[i].Offset)
	}
	return nil
}

// applyAccessRecord folds a record of the access topic into the view; one
// that does not decode is logged and skipped.
func (s *Service) applyAccessRecord(ctx context.Context, r *kgo.Record) {
	ev, err := s.codec.Decode(ctx, r)
	if err != nil {
		s.log.Warn("skipping undecodable access record", zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(err))
		return
	}
	if ae, ok := ev.(*events.AccessEvent); ok {
		s.access.apply(ae, r.Partition, r.Offset)
	}
}

package registrar

// Enforcement in Kafka: an approved agreement is granted by ALLOW ACLs on
// the broker (READ and DESCRIBE on each port topic, READ on the consumer
// groups of its prefix), created with kadm before the GRANTED event that
// lists them is published; a revocation deletes the ACLs no other granted
// agreement still needs, then publishes REVOKED with the ones deleted.
// A broker without an authorizer (SECURITY_DISABLED) has nothing to grant:
// agreements stay APPROVED there.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
)

// errNoAuthorizer says the brokers enforce no ACLs.
var errNoAuthorizer = errors.New("the brokers run no authorizer (SECURITY_DISABLED)")

// bindingsOf returns the ACLs that grant agreement a on product p: READ and
// DESCRIBE on the topic of each of its ports, READ on its group prefix.
func bindingsOf(a *events.AccessAgreement, p *events.DataProduct) []events.AclBinding {
	var out []events.AclBinding
	for _, port := range p.OutputPorts {
		if !slices.Contains(a.Ports, port.Name) {
			continue
		}
		for _, op := range []string{events.ACLRead, events.ACLDescribe} {
			out = append(out, events.AclBinding{Principal: a.Principal, Host: "*", ResourceType: events.ACLTopic,
				ResourceName: port.Topic, PatternType: events.ACLLiteral, Operation: op})
		}
	}
	return append(out, events.AclBinding{Principal: a.Principal, Host: "*", ResourceType: events.ACLGroup,
		ResourceName: a.GroupPrefix, PatternType: events.ACLPrefixed, Operation: events.ACLRead})
}

// aclBuilder is the kadm builder of exactly one binding.
func aclBuilder(b events.AclBinding) *kadm.ACLBuilder {
	bld := kadm.NewACLs().Allow(b.Principal).AllowHosts(b.Host)
	if b.ResourceType == events.ACLTopic {
		bld.Topics(b.ResourceName)
	} else {
		bld.Groups(b.ResourceName)
	}
	if b.PatternType == events.ACLPrefixed {
		bld.ResourcePatternType(kadm.ACLPatternPrefixed)
	} else {
		bld.ResourcePatternType(kadm.ACLPatternLiteral)
	}
	op := kadm.OpRead
	if b.Operation == events.ACLDescribe {
		op = kadm.OpDescribe
	}
	return bld.Operations(op)
}

// createACLs creates the bindings (creating an existing ACL is a no-op).
func (s *Service) createACLs(ctx context.Context, bs []events.AclBinding) error {
	return eachACL(bs, "create", func(b *kadm.ACLBuilder) error {
		res, err := s.adm.CreateACLs(ctx, b)
		for _, r := range res {
			err = cmp.Or(err, r.Err)
		}
		return err
	})
}

// deleteACLs deletes the bindings.
func (s *Service) deleteACLs(ctx context.Context, bs []events.AclBinding) error {
	return eachACL(bs, "delete", func(b *kadm.ACLBuilder) error {
		res, err := s.adm.DeleteACLs(ctx, b)
		for _, r := range res {
			err = cmp.Or(err, r.Err)
		}
		return err
	})
}

// eachACL calls do with the builder of each binding, stopping at the first
// error: errNoAuthorizer when the brokers enforce no ACLs.
func eachACL(bs []events.AclBinding, verb string, do func(*kadm.ACLBuilder) error) error {
	for _, b := range bs {
		err := do(aclBuilder(b))
		if errors.Is(err, kerr.SecurityDisabled) {
			return errNoAuthorizer
		}
		if err != nil {
			return unavailable(err, "kafka: %s the ACL %s %s on %s %s", verb, b.Principal, b.Operation, b.ResourceType, b.ResourceName)
		}
	}
	return nil
}

// unneeded returns the bindings of bs that no granted agreement other than
// except holds: those a revocation (or a failed grant) may delete.
func (v *accessView) unneeded(bs []events.AclBinding, except string) []events.AclBinding {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []events.AclBinding
	for _, b := range bs {
		held := false
		for id, a := range v.byID {
			if id != except && a.Status == events.AgreementGranted && slices.Contains(a.Bindings, b) {
				held = true
				break
			}
		}
		if !held {
			out = append(out, b)
		}
	}
	return out
}

// grant creates the ACLs of an agreement being approved and appends to evs
// the GRANTED event to publish with the approval (nothing when the brokers
// run no authorizer). undo deletes what it created, should the publication
// fail.
func (s *Service) grant(ctx context.Context, ag events.AccessAgreement, p *events.DataProduct, evs []*events.AccessEvent) ([]*events.AccessEvent, func(), error) {
	bs := bindingsOf(&ag, p)
	err := s.createACLs(ctx, bs)
	if errors.Is(err, errNoAuthorizer) {
		s.log.Warn("access approved but not granted: the brokers run no authorizer", zap.String("agreement", ag.AgreementID))
		return evs, func() {}, nil
	}
	undo := func() {
		if derr := s.deleteACLs(context.WithoutCancel(ctx), s.access.unneeded(bs, ag.AgreementID)); derr != nil {
			s.log.Error("ACLs of an unpublished grant left behind", zap.String("agreement", ag.AgreementID), zap.Error(derr))
		}
	}
	if err != nil {
		undo()
		return evs, func() {}, err
	}
	ev := &events.AccessEvent{EventID: newID(), Type: events.AccessGranted, OccurredAt: now(), Actor: RegistrarActor, Agreement: ag, Bindings: bs}
	return append(evs, ev), undo, nil
}

// RegistrarActor is the actor of the events the registrar itself causes
// (grants).
const RegistrarActor = "meshbone-registrar"

// ungrant deletes the ACLs of a granted agreement that no other granted
// agreement holds, and returns those it deleted.
func (s *Service) ungrant(ctx context.Context, a Agreement) ([]events.AclBinding, error) {
	if a.Status != events.AgreementGranted {
		return nil, nil
	}
	bs := s.access.unneeded(a.Bindings, a.AgreementID)
	if err := s.deleteACLs(ctx, bs); err != nil && !errors.Is(err, errNoAuthorizer) {
		return nil, fmt.Errorf("revoke agreement %s: %w", a.AgreementID, err)
	}
	return bs, nil
}

package registrar

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
)

// Audit actions.
const (
	ActionRegister  = "product.register"
	ActionDeprecate = "product.deprecate"
	ActionRetire    = "product.retire"
)

// Audit actors and targets when the request does not say.
const (
	AnonymousActor = "anonymous" // no or unknown token
	UnknownTarget  = "unknown"   // the body names no product
)

// RegistrarSource is the CloudEvents source of audit events not about a
// known domain.
const RegistrarSource = "/services/registrar"

// auditTimeout bounds the encoding of an audit event.
const auditTimeout = 5 * time.Second

// auditInfo is what a write request tells the audit log; handlers fill it in
// as they learn who acts on what.
type auditInfo struct {
	action  string
	actor   string
	domain  string
	target  string
	details map[string]string
}

// audit emits the AuditEvent of a finished write request: ALLOWED when it
// succeeded (a no-op included), DENIED otherwise with the answer's code. It
// does not wait for Kafka: a lost audit event is logged and counted, and
// never turns a done action into an error.
func (s *Service) audit(a *auditInfo, status int, code string) {
	ev := &events.AuditEvent{
		EventID: newID(), Actor: a.actor, Domain: a.domain, Action: a.action, Target: a.target,
		Outcome: events.Allowed, At: now(), Details: a.details,
	}
	ev.Details["status"] = strconv.Itoa(status)
	if status >= 300 {
		ev.Outcome = events.Denied
		ev.Details["code"] = code
	}
	source := RegistrarSource
	if a.domain != "" {
		source = events.DomainSource(a.domain)
	}
	ctx, cancel := context.WithTimeout(context.Background(), auditTimeout)
	defer cancel()
	rec, err := s.codec.Encode(ctx, ev, source)
	if err != nil {
		s.metrics.auditFailures.Inc()
		s.log.Error("audit event not encoded", zap.String("action", a.action), zap.String("target", a.target), zap.Error(err))
		return
	}
	s.cl.Produce(context.Background(), rec, func(_ *kgo.Record, err error) {
		if err != nil {
			s.metrics.auditFailures.Inc()
			s.log.Error("audit event lost", zap.String("action", a.action), zap.String("target", a.target),
				zap.String("outcome", string(ev.Outcome)), zap.Error(err))
		}
	})
}

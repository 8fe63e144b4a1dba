package registrar

import (
	"context"
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
)

// DeprecateRequest is the body of POST /api/v1/products/{id}/deprecate.
type DeprecateRequest struct {
	// Reason says why; required.
	Reason string `json:"reason"`
	// Successor is the id of the registered product that replaces this one.
	Successor string `json:"successor,omitempty"`
	// Sunset is when the product will be retired: a date (2027-01-31) or an
	// RFC 3339 time, in the future.
	Sunset string `json:"sunset,omitempty"`
}

// RetireRequest is the body of POST /api/v1/products/{id}/retire (optional).
type RetireRequest struct {
	Reason string `json:"reason,omitempty"`
	// Force retires the product although active products still list it in
	// their inputs or access agreements are in force on it; governance
	// role only. The query parameter force=true does the same.
	Force bool `json:"force,omitempty"`
}

// ActionResult is the answer to a deprecation or retirement.
type ActionResult struct {
	ID      string               `json:"id"`
	Version string               `json:"version"`
	Type    events.LifecycleType `json:"type"`
	EventID string               `json:"event_id"`
	// OrphanedReaders lists the active products that still read a product
	// retired with force.
	OrphanedReaders []string `json:"orphaned_readers,omitempty"`
	// ActiveAgreements lists the agreements still in force on a product
	// retired with force: "<agreement id> (<consumer>, <principal>)".
	ActiveAgreements []string `json:"active_agreements,omitempty"`
}

var productID = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?\.[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

// checkID checks a product id from a URL path and returns its domain.
func checkID(id string) (string, error) {
	if !productID.MatchString(id) {
		return "", newError(ErrBadRequest, "id", "%q is not a product id (<domain>.<name>, both lowercase DNS labels)", id)
	}
	domain, _, _ := strings.Cut(id, ".")
	return domain, nil
}

// authorize checks that p may act on the products of domain.
func authorize(p principal, domain string) error {
	if !p.mayActOn(domain) {
		return newError(ErrForbidden, "", "%s (%s of domain %s) may not act on products of domain %s", p.Name, p.Role, p.Domain, domain)
	}
	return nil
}

// parseSunset reads a date or an RFC 3339 time in the future.
func parseSunset(s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return nil, newError(ErrBadRequest, "sunset", "%q is neither a date (2027-01-31) nor an RFC 3339 time", s)
		}
	}
	t = t.UTC()
	if !t.After(time.Now()) {
		return nil, newError(ErrBadRequest, "sunset", "%s is not in the future", s)
	}
	return &t, nil
}

// deprecate announces that product id is deprecated.
func (s *Service) deprecate(ctx context.Context, p principal, id string, req DeprecateRequest) (ActionResult, error) {
	res := ActionResult{ID: id, Type: events.LifecycleDeprecated}
	if strings.TrimSpace(req.Reason) == "" {
		return res, newError(ErrBadRequest, "reason", "reason is required: say why the product is deprecated")
	}
	sunset, err := parseSunset(req.Sunset)
	if err != nil {
		return res, err
	}
	defer s.lock(id)()
	t, release, err := s.writing()
	if err != nil {
		return res, err
	}
	defer release()
	if !s.caughtUp.Load() {
		return res, newError(ErrUnavailable, "", "the registrar is still reading the lifecycle topic; retry shortly")
	}
	if req.Successor != "" {
		if req.Successor == id {
			return res, newError(ErrBadRequest, "successor", "a product cannot be its own successor")
		}
		succ, ok := s.view.get(req.Successor)
		if !ok || succ.Status == StatusRetired {
			return res, newError(ErrBadRequest, "successor", "successor %q is not a registered, unretired product", req.Successor)
		}
	}
	cur, ok := s.view.get(id)
	if !ok {
		return res, newError(ErrNotFound, "id", "no product %s", id)
	}
	if cur.Status != StatusActive {
		return res, newError(ErrConflict, "id", "product %s is %s already", id, strings.ToLower(string(cur.Status)))
	}
	ev := &events.ProductLifecycleEvent{
		EventID: newID(), Type: events.LifecycleDeprecated, OccurredAt: now(), Actor: p.Name,
		Product: cur.Product, Reason: &req.Reason, SunsetAt: sunset,
	}
	if req.Successor != "" {
		ev.Successor = &req.Successor
	}
	if err := s.publish(ctx, t, ev, false); err != nil {
		return res, err
	}
	s.log.Info("product deprecated", zap.String("id", id), zap.String("actor", p.Name), zap.String("successor", req.Successor))
	res.Version, res.EventID = cur.Product.Version, ev.EventID
	return res, nil
}

// retire announces that a deprecated product id is retired. Its topics and
// schemas stay: consumers drain them, retention ends them.
func (s *Service) retire(ctx context.Context, p principal, id string, req RetireRequest) (ActionResult, error) {
	res := ActionResult{ID: id, Type: events.LifecycleRetired}
	if req.Force && p.Role != RoleGovernance {
		return res, newError(ErrForbidden, "force", "force=true needs the %s role; %s is a %s", RoleGovernance, p.Name, p.Role)
	}
	defer s.lock(id)()
	s.lineageMu.Lock() // no registration may add id to its inputs meanwhile
	defer s.lineageMu.Unlock()
	t, release, err := s.writing()
	if err != nil {
		return res, err
	}
	defer release()
	if !s.caughtUp.Load() {
		return res, newError(ErrUnavailable, "", "the registrar is still reading the lifecycle topic; retry shortly")
	}
	cur, ok := s.view.get(id)
	switch {
	case !ok:
		return res, newError(ErrNotFound, "id", "no product %s", id)
	case cur.Status == StatusActive:
		return res, newError(ErrConflict, "id", "product %s is active: deprecate it before retiring it", id)
	case cur.Status == StatusRetired:
		return res, newError(ErrConflict, "id", "product %s is retired already", id)
	}
	readers := s.view.readers(id)
	if len(readers) > 0 && !req.Force {
		return res, newError(ErrConflict, "id", "product %s is still an input of %s; those must drop it first (or the governance role retires it with force=true)", id, strings.Join(readers, ", "))
	}
	if err := s.waitEnd(ctx, s.topics.Access); err != nil { // agreements the previous writer published
		return res, unavailable(err, "read the access topic to its end")
	}
	agreements := s.activeAgreements(id)
	if len(agreements) > 0 && !req.Force {
		return res, newError(ErrConflict, "id", "product %s has access agreements in force: %s; revoke them first (or the governance role retires it with force=true)", id, strings.Join(agreements, ", "))
	}
	ev := &events.ProductLifecycleEvent{
		EventID: newID(), Type: events.LifecycleRetired, OccurredAt: now(), Actor: p.Name, Product: cur.Product,
	}
	if cur.Deprecation != nil && cur.Deprecation.Successor != "" {
		ev.Successor = &cur.Deprecation.Successor
	}
	if req.Reason != "" {
		ev.Reason = &req.Reason
	} else if cur.Deprecation != nil && cur.Deprecation.Reason != "" {
		ev.Reason = &cur.Deprecation.Reason
	}
	if err := s.publish(ctx, t, ev, false); err != nil {
		return res, err
	}
	s.log.Info("product retired", zap.String("id", id), zap.String("actor", p.Name), zap.Bool("force", req.Force), zap.Strings("readers", readers),
		zap.Strings("agreements", agreements))
	res.Version, res.EventID = cur.Product.Version, ev.EventID
	if req.Force {
		res.OrphanedReaders, res.ActiveAgreements = readers, agreements
	}
	return res, nil
}

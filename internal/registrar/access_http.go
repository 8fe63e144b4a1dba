package registrar

import (
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/httpx"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// Routes of the access API.
const (
	RouteAccess         = "/api/v1/access"
	routeAccessRequest  = "POST /api/v1/access"
	routeAccessList     = "GET /api/v1/access"
	routeAccessGet      = "GET /api/v1/access/{id}"
	routeAccessOAAS     = "GET /api/v1/access/{id}/oaas"
	routeAccessApprove  = "POST /api/v1/access/{id}/approve"
	routeAccessReject   = "POST /api/v1/access/{id}/reject"
	routeAccessRevoke   = "POST /api/v1/access/{id}/revoke"
	accessStatusesWords = "PENDING, APPROVED, REJECTED, GRANTED, REVOKED or EXPIRED"
)

// Audit actions of the access API.
const (
	ActionAccessRequest = "access.request"
	ActionAccessApprove = "access.approve"
	ActionAccessReject  = "access.reject"
	ActionAccessRevoke  = "access.revoke"
)

// accessRoutes sets up the access view and mounts the access API; its
// writes go through write, as the product writes do (forwarded to the
// writer, audited ALLOWED or DENIED).
func (s *Service) accessRoutes() {
	set, err := loadAccessPolicies(s.opts.AccessPolicies)
	if err != nil { // Validate loaded them: they changed since
		s.log.Error("access policies do not load: no request is approved by rule", zap.Error(err))
		set, _ = policy.LoadFiles(map[string][]byte{})
	}
	s.access = &accessView{policies: set, byID: map[string]*Agreement{}}
	s.handle(routeAccessRequest, s.write(ActionAccessRequest, s.handleAccessRequest))
	s.handle(routeAccessList, s.handleAccessList)
	s.handle(routeAccessGet, s.handleAccessGet)
	s.handle(routeAccessOAAS, s.handleAccessOAAS)
	s.handle(routeAccessApprove, s.write(ActionAccessApprove, s.decision(events.AccessApproved)))
	s.handle(routeAccessReject, s.write(ActionAccessReject, s.decision(events.AccessRejected)))
	s.handle(routeAccessRevoke, s.write(ActionAccessRevoke, s.decision(events.AccessRevoked)))
}

func (s *Service) handleAccessRequest(w http.ResponseWriter, r *http.Request, a *auditInfo) (int, any, error) {
	p, err := s.authenticate(r, a)
	if err != nil {
		return 0, nil, err
	}
	var req AccessRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return 0, nil, err
	}
	if req.Product != "" {
		a.target = req.Product
		if domain, err := checkID(req.Product); err == nil {
			a.domain = domain
		}
	}
	a.details["principal"] = req.Principal
	res, err := s.requestAccess(r.Context(), p, req, a)
	if err != nil {
		return 0, nil, err
	}
	a.details["event_id"] = res.EventID
	return http.StatusCreated, res, nil
}

// decision handles approve, reject and revoke.
func (s *Service) decision(typ events.AccessEventType) writeHandler {
	return func(w http.ResponseWriter, r *http.Request, a *auditInfo) (int, any, error) {
		p, err := s.authenticate(r, a)
		if err != nil {
			return 0, nil, err
		}
		var dec AccessDecision
		if err := s.decodeJSON(w, r, &dec, true); err != nil {
			return 0, nil, err
		}
		res, err := s.decideAccess(r.Context(), p, r.PathValue("id"), typ, dec, a)
		if err != nil {
			return 0, nil, err
		}
		a.details["event_id"] = res.EventID
		return http.StatusOK, res, nil
	}
}

func (s *Service) handleAccessList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := AccessFilter{Product: q.Get("product"), Principal: q.Get("principal"), Status: events.AgreementStatus(strings.ToUpper(q.Get("status")))}
	for key := range q {
		if key != "product" && key != "principal" && key != "status" {
			writeError(w, newError(ErrBadRequest, key, "unknown query parameter %q (known: product, principal, status)", key))
			return
		}
	}
	if f.Product != "" {
		if _, err := checkID(f.Product); err != nil {
			writeError(w, err)
			return
		}
	}
	if _, ok := map[events.AgreementStatus]bool{"": true, events.AgreementPending: true, events.AgreementApproved: true, events.AgreementRejected: true,
		events.AgreementGranted: true, events.AgreementRevoked: true, events.AgreementExpired: true}[f.Status]; !ok {
		writeError(w, newError(ErrBadRequest, "status", "status %q is not %s", q.Get("status"), accessStatusesWords))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, AccessList{Agreements: s.access.list(f)})
}

// agreement answers the agreement named in the path, or an error.
func (s *Service) agreement(w http.ResponseWriter, r *http.Request) (Agreement, bool) {
	id := r.PathValue("id")
	if !agreementID.MatchString(id) {
		writeError(w, newError(ErrBadRequest, "id", "%q is not an agreement id", id))
		return Agreement{}, false
	}
	a, ok := s.access.get(id)
	if !ok {
		writeError(w, newError(ErrNotFound, "id", "no access agreement %s", id))
	}
	return a, ok
}

func (s *Service) handleAccessGet(w http.ResponseWriter, r *http.Request) {
	if a, ok := s.agreement(w, r); ok {
		httpx.WriteJSON(w, http.StatusOK, a)
	}
}

// handleAccessOAAS exports an agreement as an Open Access Agreement
// Standard document: YAML, or JSON with format=json.
func (s *Service) handleAccessOAAS(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "yaml" && format != "json" {
		writeError(w, newError(ErrBadRequest, "format", "format %q is not yaml or json", format))
		return
	}
	a, ok := s.agreement(w, r)
	if !ok {
		return
	}
	doc := ExportOAAS(a)
	if format == "json" {
		httpx.WriteJSON(w, http.StatusOK, doc)
		return
	}
	data, err := MarshalOAAS(doc, "yaml")
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

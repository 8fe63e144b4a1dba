package registrar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/httpx"
	"github.com/meshbone/meshbone/pkg/product"
)

// API routes.
const (
	RouteProducts  = "/api/v1/products"
	routeApply     = "POST /api/v1/products"
	routeList      = "GET /api/v1/products"
	routeGet       = "GET /api/v1/products/{id}"
	routeDeprecate = "POST /api/v1/products/{id}/deprecate"
	routeRetire    = "POST /api/v1/products/{id}/retire"
)

// maxAuditMessage bounds the error text an audit event carries.
const maxAuditMessage = 512

func (s *Service) routes() {
	s.handle(routeApply, s.write(ActionRegister, s.handleApply))
	s.handle(routeList, s.handleList)
	s.handle(routeGet, s.handleGet)
	s.handle(routeDeprecate, s.write(ActionDeprecate, s.handleDeprecate))
	s.handle(routeRetire, s.write(ActionRetire, s.handleRetire))
	s.handle(routeDryRun, s.handleDryRun)
	s.accessRoutes()
}

// handle mounts h on pattern, timing it under the pattern's name.
func (s *Service) handle(pattern string, h http.HandlerFunc) {
	s.srv.Mux.Handle(pattern, httpx.Instrument(h, func(status int, d time.Duration) {
		s.metrics.duration.WithLabelValues(pattern, strconv.Itoa(status)).Observe(d.Seconds())
	}))
}

// writeHandler handles a write request: it returns the status and body of a
// success, or an error, and fills in a as it learns who acts on what. It
// passes w only to readBody, never writes to it.
type writeHandler func(w http.ResponseWriter, r *http.Request, a *auditInfo) (int, any, error)

// write wraps a write handler: its answer (errors mapped by errorAnswer),
// its audit event and its metrics.
func (s *Service) write(action string, h writeHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.forwardWrite(w, r) { // not the writer: the writer answers
			return
		}
		a := &auditInfo{action: action, actor: AnonymousActor, target: UnknownTarget, details: map[string]string{
			"method": r.Method, "path": r.URL.Path,
		}}
		if id := r.PathValue("id"); id != "" {
			a.target = id
			if domain, err := checkID(id); err == nil {
				a.domain = domain
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.WriteTimeout)
		defer cancel()
		status, body, err := h(w, r.WithContext(ctx), a)
		code := "ok"
		if err != nil {
			e := errorAnswer(err)
			status, body, code = e.Status, httpx.ErrorBody{Error: e}, e.Code
			msg := e.Message
			if len(msg) > maxAuditMessage {
				msg = msg[:maxAuditMessage] + "..."
			}
			a.details["message"] = msg
			if status >= 500 {
				s.log.Warn("write failed", zap.String("action", action), zap.String("target", a.target), zap.Int("status", status), zap.Error(err))
			}
		}
		s.audit(a, status, code)
		switch action {
		case ActionRegister:
			if res, ok := body.(ApplyResult); ok {
				code = "unchanged"
				if !res.Unchanged {
					code = strings.ToLower(string(res.Type))
				}
			}
			s.metrics.registrations.WithLabelValues(code).Inc()
		default:
			s.metrics.actions.WithLabelValues(action, code).Inc()
		}
		httpx.WriteJSON(w, status, body)
	}
}

// authenticate identifies the caller and records it in a.
func (s *Service) authenticate(r *http.Request, a *auditInfo) (principal, error) {
	p, err := s.tokens.authenticate(r)
	if err != nil {
		return p, err
	}
	a.actor = p.Name
	a.details["role"] = string(p.Role)
	if p.Domain != "" {
		a.details["principal_domain"] = p.Domain
	}
	return p, nil
}

// readBody reads the size-limited request body.
func (s *Service) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, &Error{Kind: ErrBadRequest, Msg: "read the request body", Err: err}
	}
	return data, nil
}

func (s *Service) handleApply(w http.ResponseWriter, r *http.Request, a *auditInfo) (int, any, error) {
	p, err := s.authenticate(r, a)
	if err != nil {
		return 0, nil, err
	}
	data, err := s.readBody(w, r)
	if err != nil {
		return 0, nil, err
	}
	d, err := product.Parse(data)
	if err != nil {
		return 0, nil, err
	}
	if d.Metadata.Domain != "" && d.Metadata.Name != "" {
		a.target, a.domain = d.ID(), d.Metadata.Domain
	}
	if err := d.Validate(); err != nil {
		return 0, nil, err
	}
	a.details["version"] = d.Spec.Version
	if err := authorize(p, d.Metadata.Domain); err != nil {
		return 0, nil, err
	}
	res, err := s.apply(r.Context(), p, d)
	if err != nil {
		return 0, nil, err
	}
	if res.Unchanged {
		a.details["unchanged"] = "true"
		return http.StatusOK, res, nil
	}
	a.details["event_id"], a.details["type"] = res.EventID, string(res.Type)
	return http.StatusCreated, res, nil
}

// authorizeProduct authenticates the request and checks its principal may
// act on the product named in the path; it returns the principal and the id.
func (s *Service) authorizeProduct(r *http.Request, a *auditInfo) (principal, string, error) {
	p, err := s.authenticate(r, a)
	if err != nil {
		return p, "", err
	}
	id := r.PathValue("id")
	domain, err := checkID(id)
	if err != nil {
		return p, "", err
	}
	return p, id, authorize(p, domain)
}

func (s *Service) handleDeprecate(w http.ResponseWriter, r *http.Request, a *auditInfo) (int, any, error) {
	p, id, err := s.authorizeProduct(r, a)
	if err != nil {
		return 0, nil, err
	}
	var req DeprecateRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return 0, nil, err
	}
	a.details["reason"] = req.Reason
	if req.Successor != "" {
		a.details["successor"] = req.Successor
	}
	res, err := s.deprecate(r.Context(), p, id, req)
	if err != nil {
		return 0, nil, err
	}
	a.details["event_id"] = res.EventID
	return http.StatusOK, res, nil
}

func (s *Service) handleRetire(w http.ResponseWriter, r *http.Request, a *auditInfo) (int, any, error) {
	p, id, err := s.authorizeProduct(r, a)
	if err != nil {
		return 0, nil, err
	}
	var req RetireRequest
	if err := s.decodeJSON(w, r, &req, true); err != nil {
		return 0, nil, err
	}
	if f := r.URL.Query().Get("force"); f != "" {
		force, err := strconv.ParseBool(f)
		if err != nil {
			return 0, nil, newError(ErrBadRequest, "force", "force=%q is not true or false", f)
		}
		req.Force = req.Force || force
	}
	a.details["force"] = strconv.FormatBool(req.Force)
	res, err := s.retire(r.Context(), p, id, req)
	if err != nil {
		return 0, nil, err
	}
	a.details["event_id"] = res.EventID
	return http.StatusOK, res, nil
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := checkID(id); err != nil {
		writeError(w, err)
		return
	}
	p, ok := s.view.get(id)
	if !ok {
		writeError(w, newError(ErrNotFound, "id", "no product %s", id))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, p)
}

// ProductList is the answer to GET /api/v1/products.
type ProductList struct {
	Products []Product `json:"products"`
}

func (s *Service) handleList(w http.ResponseWriter, _ *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, ProductList{Products: s.view.list()})
}

// decodeJSON decodes a size-limited JSON body strictly; an empty body is
// allowed when optional.
func (s *Service) decodeJSON(w http.ResponseWriter, r *http.Request, into any, optional bool) error {
	data, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil
		}
		return newError(ErrBadRequest, "", "the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		field := ""
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field = te.Field
		} else if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field = strings.Trim(name, `"`)
		}
		return &Error{Kind: ErrBadRequest, Field: field, Msg: "malformed JSON body", Err: err}
	}
	if dec.More() {
		return newError(ErrBadRequest, "", "the request body holds more than one JSON value")
	}
	return nil
}

// writeError answers err as errorAnswer maps it.
func writeError(w http.ResponseWriter, err error) {
	httpx.WriteError(w, errorAnswer(err))
}

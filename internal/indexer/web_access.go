package indexer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/httpx"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/pkg/events"
)

// Limits of the access request form.
const (
	// maxAccessForm bounds the form's body.
	maxAccessForm = 64 << 10
	// registrarTimeout bounds the forwarded request.
	registrarTimeout = 30 * time.Second
	// awaitRequest bounds how long the page waits for the view to fold a
	// request it filed, so that the page it redirects to shows it.
	awaitRequest = 5 * time.Second
)

// accessPanel is the product page's access panel: who reads each port, the
// pending requests, and the request form.
type accessPanel struct {
	// Registrar says the form can be filed (the indexer has a registrar).
	Registrar bool
	Form      accessForm
	Consumers int // agreements in force, over all ports
	Pending   int // pending requests, over all ports
	// Requested is the id of the agreement the form just filed, and
	// RequestedStatus its status in the view ("" before the view has it).
	Requested       string
	RequestedStatus string
}

// accessForm is what the request form holds; Error is the registrar's
// answer to the last filing, Field the field it blamed.
type accessForm struct {
	Ports                                       []string
	ConsumerType, ConsumerID, Principal         string
	GroupPrefix, Purpose, ValidFrom, ValidUntil string
	Error, Field                                string
}

// HasPort reports whether the form asks for port.
func (f accessForm) HasPort(port string) bool { return slices.Contains(f.Ports, port) }

// newAccessPanel counts p's agreements; requested is the agreement the
// page was redirected to after filing it.
func (w *web) newAccessPanel(p *store.Product, requested string) accessPanel {
	ap := accessPanel{Registrar: w.ix.opts.Registrar != "", Form: accessForm{ConsumerType: "application"}}
	for _, a := range p.Access.Agreements() {
		if a.Status == events.AgreementPending {
			ap.Pending++
		} else {
			ap.Consumers++
		}
		if a.AgreementID == requested {
			ap.RequestedStatus = string(a.Status)
		}
	}
	ap.Requested = requested
	return ap
}

// requestAccess files the product page's access request with the registrar,
// as the user whose token the form carries. On success it redirects to the
// product page, which shows the request; a refusal shows the page again,
// with the form as filled in and the registrar's message, under the
// registrar's status.
func (w *web) requestAccess(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if w.ix.opts.Registrar == "" {
		w.fail(rw, &httpx.Error{Status: http.StatusNotFound, Code: httpx.CodeNotFound,
			Message: "this marketplace files no access requests: the indexer runs without -registrar; use meshctl access request"})
		return
	}
	v, err := w.productView(ctx, id)
	if err != nil {
		w.fail(rw, err)
		return
	}
	v.AccessPanel = w.newAccessPanel(v.Product, "")
	r.Body = http.MaxBytesReader(rw, r.Body, maxAccessForm)
	if err := r.ParseForm(); err != nil {
		w.fail(rw, &httpx.Error{Status: http.StatusBadRequest, Code: CodeInvalidParameter, Message: "the form does not parse: " + err.Error()})
		return
	}
	f := accessForm{
		Ports: r.PostForm["port"], ConsumerType: r.PostFormValue("consumer_type"), ConsumerID: strings.TrimSpace(r.PostFormValue("consumer_id")),
		Principal: strings.TrimSpace(r.PostFormValue("principal")), GroupPrefix: strings.TrimSpace(r.PostFormValue("group_prefix")),
		Purpose: strings.TrimSpace(r.PostFormValue("purpose")), ValidFrom: r.PostFormValue("valid_from"), ValidUntil: r.PostFormValue("valid_until"),
	}
	refuse := func(status int, field, msg string) {
		f.Error, f.Field = msg, field
		v.AccessPanel.Form = f
		w.render(rw, status, "product", page{Title: v.Name, Nav: "products", Data: v})
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		refuse(http.StatusBadRequest, "token", "token: the registrar needs your bearer token to file a request (the one meshctl takes as --token)")
		return
	}
	req := registrar.AccessRequest{
		Product: id, Ports: f.Ports, Consumer: registrar.ConsumerSpec{Type: f.ConsumerType, ID: f.ConsumerID},
		Principal: f.Principal, GroupPrefix: f.GroupPrefix, Purpose: f.Purpose, ValidFrom: f.ValidFrom, ValidUntil: f.ValidUntil,
	}
	cctx, cancel := context.WithTimeout(ctx, registrarTimeout)
	defer cancel()
	res, err := (&registrar.Client{URL: w.ix.opts.Registrar, Token: token}).RequestAccess(cctx, req)
	var ae *registrar.APIError
	switch {
	case errors.As(err, &ae) && ae.Status < 500:
		refuse(ae.Status, ae.Field, ae.Message)
		return
	case errors.As(err, &ae):
		w.ix.log.Warn("the registrar failed an access request", zap.String("product", id), zap.Error(err))
		refuse(http.StatusBadGateway, "", fmt.Sprintf("the registrar could not file the request (HTTP %d): %s; try again", ae.Status, ae.Message))
		return
	case err != nil:
		w.ix.log.Warn("the registrar does not answer", zap.String("registrar", w.ix.opts.Registrar), zap.Error(err))
		refuse(http.StatusBadGateway, "", "the registrar does not answer; try again later")
		return
	}
	w.awaitAgreement(ctx, id, res.AgreementID)
	http.Redirect(rw, r, "/products/"+url.PathEscape(id)+"?requested="+url.QueryEscape(res.AgreementID)+"#access", http.StatusSeeOther)
}

// awaitAgreement waits, at most awaitRequest, until the view holds
// agreement of product.
func (w *web) awaitAgreement(ctx context.Context, product, agreement string) {
	ctx, cancel := context.WithTimeout(ctx, awaitRequest)
	defer cancel()
	for {
		gen := w.ix.prog.status().Generation
		acc, err := w.ix.store.Access(ctx, product)
		if err != nil {
			return
		}
		for _, a := range acc.Agreements() {
			if a.AgreementID == agreement {
				return
			}
		}
		if !w.ix.prog.wait(ctx, func(p *progress) bool { return p.gen > gen }) {
			return
		}
	}
}

package registrar

// The dry run of an apply: what registering a descriptor would do to each
// output port, and whom it would affect, without doing anything. It reads
// the view, the access view and the schema registry; it creates no topic,
// registers no schema and publishes no lifecycle or access event. Only a
// refused caller (401, 403) is audited, as a write's refusal is: an
// allowed dry run changes nothing, so it leaves no trace.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/internal/httpx"
	"github.com/meshbone/meshbone/pkg/events"
	"github.com/meshbone/meshbone/pkg/product"
)

const routeDryRun = "POST /api/v1/products/{id}/dry-run"

// ActionDryRun is the audit action of a refused dry run.
const ActionDryRun = "product.dry-run"

// PortStatus is what an apply would do to one output port.
type PortStatus string

// Port statuses of a dry run.
const (
	// PortNew: the port's subject does not exist yet (a new product, or a
	// new port): nothing to be compatible with, nobody reads it.
	PortNew PortStatus = "NEW"
	// PortUnchanged: the schema is the subject's current one.
	PortUnchanged PortStatus = "UNCHANGED"
	// PortCompatible: a new schema version that breaks no direction.
	PortCompatible PortStatus = "COMPATIBLE"
	// PortBreaking: the subject's compatibility level lets the new schema
	// in, but a direction it does not require breaks (a field removed
	// without a default under BACKWARD: consumers still on the current
	// schema cannot read the new records).
	PortBreaking PortStatus = "BREAKING"
	// PortIncompatible: the new schema breaks the subject's compatibility
	// level; apply would be refused (409 incompatible_schema).
	PortIncompatible PortStatus = "INCOMPATIBLE"
	// PortNewMajor: a new major version moves the port to a new topic and
	// subject; its consumers must move too. The changes compare it with
	// the port of the registered version.
	PortNewMajor PortStatus = "NEW_MAJOR"
	// PortRemoved: the new major version drops the port.
	PortRemoved PortStatus = "REMOVED"
)

// affects reports whether the port's consumers are affected.
func (s PortStatus) affects() bool {
	return s == PortBreaking || s == PortIncompatible || s == PortNewMajor || s == PortRemoved
}

// Verdicts of a dry run, worst last.
const (
	// VerdictOK: no port breaks anything.
	VerdictOK = "OK"
	// VerdictBreaking: apply would succeed but consumers are affected (a
	// port BREAKING, NEW_MAJOR or REMOVED).
	VerdictBreaking = "BREAKING"
	// VerdictIncompatible: apply would be refused: a port's schema breaks
	// its subject's compatibility level.
	VerdictIncompatible = "INCOMPATIBLE"
)

// DryRunResult is the answer to POST /api/v1/products/{id}/dry-run.
type DryRunResult struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	// Registered is the registered version, empty for a new product.
	Registered string `json:"registered_version,omitempty"`
	// New is true when the product is not registered yet: every port is
	// new.
	New bool `json:"new"`
	// Type is the lifecycle event apply would publish; empty when the
	// descriptor is the registered one (Unchanged).
	Type      events.LifecycleType `json:"type,omitempty"`
	Unchanged bool                 `json:"unchanged"`
	// Verdict is OK, BREAKING or INCOMPATIBLE.
	Verdict string       `json:"verdict"`
	Ports   []PortImpact `json:"ports"`
	// Downstream lists every active or deprecated product that reads this
	// one, directly (depth 1) or through others, as lineage says.
	Downstream []Downstream `json:"downstream"`
}

// PortImpact is what an apply would do to one output port.
type PortImpact struct {
	Name    string     `json:"name"`
	Topic   string     `json:"topic"`
	Subject string     `json:"subject"`
	Status  PortStatus `json:"status"`
	// Against is the schema the new one is compared with: the subject's
	// latest version, or for a new major the registered version's port.
	Against *SchemaRef `json:"against,omitempty"`
	// Level is the subject's compatibility level (empty when the subject
	// is new).
	Level string `json:"compatibility_level,omitempty"`
	// Compatible is the verdict under Level: the registry's check and
	// hamba/avro's both pass; nil when there is nothing to check.
	Compatible *bool `json:"compatible,omitempty"`
	// RegistryCompatible is the schema registry's own verdict under Level
	// and RegistryMessages its reasons (a verbose check: Confluent's
	// registry and srfake with internal/srcompat give them, Apicurio
	// 3.3.3's ccompat API does not). The local check counts too, as the
	// registry's semantics differ from one implementation to another.
	RegistryCompatible *bool         `json:"registry_compatible,omitempty"`
	RegistryMessages   []string      `json:"registry_messages,omitempty"`
	Changes            []FieldChange `json:"changes"`
	// Breaks lists the fields whose change breaks a direction.
	Breaks []string `json:"breaks"`
	// AffectedAgreements are the open access agreements on the port and
	// AffectedProducts the downstream products, when the port's consumers
	// are affected.
	AffectedAgreements []AffectedAgreement `json:"affected_agreements"`
	AffectedProducts   []string            `json:"affected_products"`
}

// SchemaRef names a registered schema.
type SchemaRef struct {
	Subject  string `json:"subject"`
	Version  int    `json:"version,omitempty"`
	SchemaID int    `json:"schema_id"`
}

// AffectedAgreement is an open access agreement on an affected port.
type AffectedAgreement struct {
	ID        string                 `json:"agreement_id"`
	Consumer  events.AccessConsumer  `json:"consumer"`
	Principal string                 `json:"principal"`
	Status    events.AgreementStatus `json:"status"`
}

// Downstream is a product that reads the dry-run product, directly or
// transitively.
type Downstream struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Depth is 1 for a direct reader, 2 for a reader of a reader...
	Depth int `json:"depth"`
	// Via is the input through which it reads: the product itself at
	// depth 1.
	Via string `json:"via"`
}

func (s *Service) handleDryRun(w http.ResponseWriter, r *http.Request) {
	a := &auditInfo{action: ActionDryRun, actor: AnonymousActor, target: UnknownTarget, details: map[string]string{
		"method": r.Method, "path": r.URL.Path,
	}}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.WriteTimeout)
	defer cancel()
	res, err := s.dryRunRequest(w, r.WithContext(ctx), a)
	code := "ok"
	if err != nil {
		e := errorAnswer(err)
		code = e.Code
		if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
			a.details["message"] = e.Message
			s.audit(a, e.Status, e.Code)
		}
		s.metrics.actions.WithLabelValues(ActionDryRun, code).Inc()
		httpx.WriteError(w, e)
		return
	}
	s.metrics.actions.WithLabelValues(ActionDryRun, strings.ToLower(res.Verdict)).Inc()
	httpx.WriteJSON(w, http.StatusOK, res)
}

// dryRunRequest checks the caller and the descriptor as apply does, the
// caller first: only the owning domain (or governance) learns the impact.
func (s *Service) dryRunRequest(w http.ResponseWriter, r *http.Request, a *auditInfo) (DryRunResult, error) {
	id := r.PathValue("id")
	domain, idErr := checkID(id)
	if idErr == nil {
		a.target, a.domain = id, domain
	}
	p, err := s.authenticate(r, a)
	if err != nil {
		return DryRunResult{}, err
	}
	if idErr != nil {
		return DryRunResult{}, idErr
	}
	if err := authorize(p, domain); err != nil {
		return DryRunResult{}, err
	}
	data, err := s.readBody(w, r)
	if err != nil {
		return DryRunResult{}, err
	}
	d, err := product.Parse(data)
	if err != nil {
		return DryRunResult{}, err
	}
	if err := d.Validate(); err != nil {
		return DryRunResult{}, err
	}
	if d.ID() != id {
		return DryRunResult{}, newError(ErrBadRequest, "metadata", "the descriptor is of product %s, not %s as the path says", d.ID(), id)
	}
	return s.dryRun(r.Context(), d)
}

// dryRun reports what applying d would do. d is valid and its caller
// authorised.
func (s *Service) dryRun(ctx context.Context, d *product.Descriptor) (DryRunResult, error) {
	res := DryRunResult{ID: d.ID(), Version: d.Spec.Version, Verdict: VerdictOK, Ports: []PortImpact{}}
	if !s.caughtUp.Load() {
		return res, newError(ErrUnavailable, "", "the registrar is still reading the lifecycle topic; retry shortly")
	}
	dec, err := s.decide(ctx, d)
	if err != nil {
		return res, err
	}
	res.New = !dec.exists
	if dec.exists {
		res.Registered = dec.cur.Product.Version
	}
	res.Downstream = s.downstream(res.ID)
	if dec.unchanged || dec.typ == events.LifecycleUpdated {
		res.Unchanged = dec.unchanged
		if !dec.unchanged {
			res.Type = dec.typ
		}
		for _, port := range dec.cur.Product.OutputPorts {
			res.Ports = append(res.Ports, PortImpact{Name: port.Name, Topic: port.Topic, Subject: port.SchemaSubject,
				Status: PortUnchanged, Changes: []FieldChange{}, Breaks: []string{}})
		}
		s.affected(&res)
		return res, nil
	}
	res.Type = dec.typ
	plans, err := s.plan(d, dec.cand, dec.cur, dec.exists)
	if err != nil {
		return res, err
	}
	registered := map[string]events.OutputPort{}
	for _, port := range dec.cur.Product.OutputPorts {
		registered[port.Name] = port
	}
	for _, pl := range plans {
		old, had := registered[pl.name]
		im, err := s.portImpact(ctx, pl, old, had)
		if err != nil {
			return res, err
		}
		res.Ports = append(res.Ports, im)
		delete(registered, pl.name)
	}
	for _, port := range dec.cur.Product.OutputPorts { // dropped by a new major
		if _, gone := registered[port.Name]; gone {
			res.Ports = append(res.Ports, PortImpact{Name: port.Name, Topic: port.Topic, Subject: port.SchemaSubject,
				Status: PortRemoved, Changes: []FieldChange{}, Breaks: []string{}})
		}
	}
	s.affected(&res)
	return res, nil
}

// portImpact compares a planned port's schema with its subject's latest
// version, or, when the subject is new but the registered version had the
// port (a new major), with that port's schema.
func (s *Service) portImpact(ctx context.Context, pl portPlan, old events.OutputPort, had bool) (PortImpact, error) {
	im := PortImpact{Name: pl.name, Topic: pl.topic, Subject: pl.subject, Status: PortNew, Changes: []FieldChange{}, Breaks: []string{}}
	field := fmt.Sprintf("spec.outputPorts[%d].schema", pl.index)
	next, err := parseSchema(pl.schema)
	if err != nil { // Validate parsed it already
		return im, &Error{Kind: product.ErrInvalid, Field: field, Err: err}
	}
	latest, err := s.reg.SchemaByVersion(ctx, pl.subject, -1)
	switch {
	case notFound(err):
		if !had || old.SchemaID == nil {
			return im, nil
		}
		// A new major: compare with the registered version's port.
		im.Status = PortNewMajor
		im.Against = &SchemaRef{Subject: old.SchemaSubject, SchemaID: int(*old.SchemaID)}
		text, err := s.schemaText(ctx, int(*old.SchemaID))
		if err != nil {
			return im, err
		}
		cur, err := parseSchema(text)
		if err != nil {
			return im, &Error{Kind: ErrIncompatible, Field: field, Msg: fmt.Sprintf("schema id %d of %s does not parse", *old.SchemaID, old.SchemaSubject), Err: err}
		}
		im.setChanges(diffSchemas(cur, next))
		return im, nil
	case err != nil:
		return im, unavailable(err, "schema registry: latest version of %s", pl.subject)
	}
	im.Against = &SchemaRef{Subject: pl.subject, Version: latest.Version, SchemaID: latest.ID}
	if canonicalSchema(latest.Schema.Schema) == canonicalSchema(pl.schema) {
		im.Status = PortUnchanged
		return im, nil
	}
	cur, err := parseSchema(latest.Schema.Schema)
	if err != nil {
		return im, &Error{Kind: ErrIncompatible, Field: field, Msg: fmt.Sprintf("latest version %d of %s does not parse", latest.Version, pl.subject), Err: err}
	}
	level, err := s.compatibilityLevel(ctx, pl.subject)
	if err != nil {
		return im, err
	}
	im.Level = level.String()
	diff := diffSchemas(cur, next)
	im.setChanges(diff)
	against := latest.Version
	if transitive[level] {
		against = -2 // every version of the subject
	}
	check, err := s.reg.CheckCompatibility(sr.WithParams(ctx, sr.Verbose), pl.subject, against, sr.Schema{Schema: pl.schema, Type: sr.TypeAvro})
	switch {
	case err != nil && registryStatus(err) == http.StatusUnprocessableEntity:
		check.Is, check.Messages = false, []string{err.Error()}
	case err != nil:
		return im, unavailable(err, "schema registry: check compatibility with %s", pl.subject)
	}
	im.RegistryCompatible, im.RegistryMessages = &check.Is, check.Messages
	compatible := check.Is
	for _, dir := range requiredDirections(level) {
		compatible = compatible && !diff.broken[dir]
	}
	im.Compatible = &compatible
	switch {
	case !compatible:
		im.Status = PortIncompatible
	case diff.broken[DirectionBackward] || diff.broken[DirectionForward]:
		im.Status = PortBreaking
	default:
		im.Status = PortCompatible
	}
	return im, nil
}

func (im *PortImpact) setChanges(d schemaDiff) {
	im.Changes = d.changes
	for _, c := range d.changes {
		if len(c.Breaks) > 0 && !slices.Contains(im.Breaks, c.Field) {
			im.Breaks = append(im.Breaks, c.Field)
		}
	}
}

// compatibilityLevel returns the subject's level, or the global one when
// the subject has none of its own.
func (s *Service) compatibilityLevel(ctx context.Context, subject string) (sr.CompatibilityLevel, error) {
	res := s.reg.Compatibility(ctx, subject)
	if res[0].Err == nil {
		return res[0].Level, nil
	}
	global := s.reg.Compatibility(ctx)
	if global[0].Err != nil {
		return 0, unavailable(global[0].Err, "schema registry: compatibility level of %s", subject)
	}
	return global[0].Level, nil
}

// transitive are the levels the registry checks against every version of
// a subject; the local check compares with the latest only.
var transitive = map[sr.CompatibilityLevel]bool{
	sr.CompatBackwardTransitive: true, sr.CompatForwardTransitive: true, sr.CompatFullTransitive: true,
}

// requiredDirections are the directions a compatibility level requires
// (against the latest version; a transitive level's older versions are the
// registry's to check).
func requiredDirections(l sr.CompatibilityLevel) []string {
	switch l {
	case sr.CompatBackward, sr.CompatBackwardTransitive:
		return []string{DirectionBackward}
	case sr.CompatForward, sr.CompatForwardTransitive:
		return []string{DirectionForward}
	case sr.CompatFull, sr.CompatFullTransitive:
		return []string{DirectionBackward, DirectionForward}
	}
	return nil
}

// affected fills in, for each port whose consumers are affected, the open
// agreements on it and the downstream products, and sets the verdict.
func (s *Service) affected(res *DryRunResult) {
	var products []string
	for _, d := range res.Downstream {
		products = append(products, d.ID)
	}
	agreements := s.access.list(AccessFilter{Product: res.ID})
	for i := range res.Ports {
		im := &res.Ports[i]
		im.AffectedAgreements, im.AffectedProducts = []AffectedAgreement{}, []string{}
		if !im.Status.affects() {
			continue
		}
		for _, a := range agreements {
			if a.open() && slices.Contains(a.Ports, im.Name) {
				im.AffectedAgreements = append(im.AffectedAgreements, AffectedAgreement{ID: a.AgreementID,
					Consumer: a.Consumer, Principal: a.Principal, Status: a.Status})
			}
		}
		im.AffectedProducts = append(im.AffectedProducts, products...)
		if im.Status == PortIncompatible {
			res.Verdict = VerdictIncompatible
		} else if res.Verdict == VerdictOK {
			res.Verdict = VerdictBreaking
		}
	}
}

// downstream walks lineage from id: the products that list it in their
// inputs, then those that list them, each once at its smallest depth.
func (s *Service) downstream(id string) []Downstream {
	out := []Downstream{}
	seen := map[string]bool{id: true}
	frontier := []string{id}
	for depth := 1; len(frontier) > 0; depth++ {
		var next []string
		for _, via := range frontier {
			for _, r := range s.view.readers(via) {
				if seen[r] {
					continue
				}
				seen[r] = true
				p, _ := s.view.get(r)
				out = append(out, Downstream{ID: r, Status: p.Status, Depth: depth, Via: via})
				next = append(next, r)
			}
		}
		frontier = next
	}
	return out
}

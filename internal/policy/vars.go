package policy

import (
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/meshbone/meshbone/pkg/events"
)

// Input is everything one evaluation may look at.
type Input struct {
	Trigger   Trigger
	ProductID string
	Product   *events.DataProduct // the current descriptor; nil when no lifecycle event was seen
	// View is Product as policies see it (ProductView), for a caller that
	// keeps it from one event to the next; nil to build it from Product.
	// Evaluation only reads it: events may share one.
	View       *Product
	Lifecycle  *events.ProductLifecycleEvent
	Quality    *events.QualityEvent
	CloudEvent events.CloudEvent // of the judged record (zero for freshness checks)
	EventID    string            // the judged event's id (for freshness: the event that set the watermark)
	Watermark  time.Time         // newest data_watermark seen for the product
	Upstream   []Upstream
	// UpstreamID and UpstreamChange are, for TriggerUpstream, the input
	// that changed and its lifecycle event type; LifecycleType is the type
	// of the product's own newest lifecycle event, which a re-judgement
	// judges again (event.type).
	UpstreamID, UpstreamChange, LifecycleType string
	Now                                       time.Time
	// Access is the request judged by TriggerAccess; nil for the others.
	Access *Access
	// Observations are, for TriggerQuality, the newest observed value of
	// each of the product's checks (see Observe), the judged run's
	// included when it is observed.
	Observations []Observation
}

// Vars is the CEL activation of one event, built once and shared by every
// policy that judges it.
type Vars struct {
	Trigger   Trigger
	ProductID string
	Domain    string // the product's domain (from the descriptor, else the id)
	act       activation
	event     Event
	quality   Quality
	stream    string
}

// activation resolves the CEL variables of one event to values adapted
// once, not at every reference of every policy.
type activation struct {
	product, event, quality, upstream, now, access, observations ref.Val
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case VarProduct:
		return a.product, true
	case VarEvent:
		return a.event, true
	case VarQuality:
		return a.quality, true
	case VarUpstream:
		return a.upstream, true
	case VarNow:
		return a.now, true
	case VarAccess:
		return a.access, true
	case VarObservations:
		return a.observations, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// DomainOf returns the domain part of a product id ("sales.orders" ->
// "sales"), or "" when it has none.
func DomainOf(productID string) string {
	d, _, ok := strings.Cut(productID, ".")
	if !ok {
		return ""
	}
	return d
}

// NewVars builds the activation for in.
func NewVars(in Input) *Vars {
	// p is read, never written: a caller's View is shared, not copied.
	p := &noProduct
	switch {
	case in.Product == nil:
	case in.View != nil:
		p = in.View
	default:
		// Made for one event: a field cache would not pay.
		v := productOf(in.Product)
		p = &v
	}
	id := in.ProductID
	if id == "" {
		id = p.ID
	}
	ev := Event{
		Kind:           string(in.Trigger),
		Type:           strings.ToUpper(string(in.Trigger)),
		ID:             in.EventID,
		Source:         in.CloudEvent.Source,
		Subject:        in.CloudEvent.Subject,
		Time:           in.CloudEvent.Time,
		ProductID:      id,
		ProductDomain:  DomainOf(id),
		ProductKnown:   in.Product != nil,
		Watermark:      in.Watermark,
		UpstreamID:     in.UpstreamID,
		UpstreamChange: in.UpstreamChange,
	}
	if in.LifecycleType != "" {
		ev.Type = in.LifecycleType
	}
	ev.SourceDomain, _ = events.SourceDomain(in.CloudEvent.Source)
	var q Quality
	if l := in.Lifecycle; l != nil {
		ev.Type = string(l.Type)
		ev.ID = l.EventID
		ev.Time = l.OccurredAt
		ev.Actor = l.Actor
		ev.Reason = deref(l.Reason)
		ev.Successor = deref(l.Successor)
		if l.SunsetAt != nil {
			ev.SunsetAt = *l.SunsetAt
		}
	}
	if e := in.Quality; e != nil {
		q = qualityOf(e)
		ev.ID = e.EventID
		ev.Time = e.ObservedAt
	}
	if ev.ID == "" {
		ev.ID = in.CloudEvent.ID
	}
	up := in.Upstream
	if up == nil {
		up = []Upstream{}
	}
	if in.Access != nil { // a request: event.type REQUESTED, its actor the requester
		ev.Type = "REQUESTED"
		ev.Actor = in.Access.RequestedBy
	}
	domain := p.Domain
	if domain == "" {
		domain = ev.ProductDomain
	}
	v := &Vars{Trigger: in.Trigger, ProductID: id, Domain: domain, event: ev, quality: q}
	a := adapter() // before noUpstream and noQuality are read
	v.act = activation{
		product:      p.self,
		event:        a.NativeToValue(&v.event),
		quality:      noQuality,
		upstream:     noUpstream,
		now:          types.Timestamp{Time: in.Now},
		access:       noAccess,
		observations: noObservations,
	}
	if in.Access != nil {
		v.act.access = a.NativeToValue(in.Access)
	}
	if p.self == nil {
		v.act.product = a.NativeToValue(p)
	}
	if in.Quality != nil {
		v.act.quality = a.NativeToValue(&v.quality)
		if in.Quality.Observed() {
			v.stream = "observed/" + v.quality.Port
			if w := windowOf(in.Quality); w != "" {
				v.stream += "/" + w
			}
		}
	}
	if len(in.Observations) > 0 {
		v.act.observations = a.NativeToValue(in.Observations)
	}
	if len(up) > 0 {
		v.act.upstream = a.NativeToValue(up)
	}
	return v
}

var (
	noProduct   Product // what policies see of a product with no descriptor yet; never written
	adapterOnce sync.Once
	celAdapter  types.Adapter
	noUpstream  ref.Val // the empty upstream list
	noQuality   ref.Val // the quality of events of other kinds
	noAccess    ref.Val // the access request of events of other kinds
	// the observations of a product without any, and of events of other kinds
	noObservations ref.Val
)

// adapter is the CEL environment's type adapter.
func adapter() types.Adapter {
	adapterOnce.Do(func() {
		env, err := Env()
		if err != nil {
			panic("policy: CEL environment: " + err.Error()) // a bug: its declarations are fixed
		}
		celAdapter = env.CELTypeAdapter()
		noUpstream = celAdapter.NativeToValue([]Upstream{})
		noQuality = celAdapter.NativeToValue(&Quality{Checks: []QualityCheck{}})
		noAccess = celAdapter.NativeToValue(&Access{Ports: []string{}})
		noObservations = celAdapter.NativeToValue([]Observation{})
	})
	return celAdapter
}

// Stream names the run stream of an observed quality run,
// "observed/<port>/<window length>" (the monitor measures a port's
// objectives of each window length in runs of their own), and is "" for
// every other event (a reported run included): the governor keeps the
// verdicts of the policies that read the run (Policy.ReadsRun) on each
// stream apart, so that one port's observed window neither clears nor
// hides what another series', or a reported run, raised.
func (v *Vars) Stream() string { return v.stream }

// EventID is the id of the judged event.
func (v *Vars) EventID() string { return v.event.ID }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ProductView returns a descriptor as policies see it (Input.View), its
// fields made CEL values once for all the events that share it.
func ProductView(d *events.DataProduct) *Product {
	v := productOf(d)
	p := &v
	p.withCache()
	p.self = adapter().NativeToValue(p)
	return p
}

func productOf(d *events.DataProduct) Product {
	p := Product{
		ID:               d.ID,
		Name:             d.Name,
		Domain:           d.Domain,
		OwnerTeam:        d.OwnerTeam,
		Description:      deref(d.Description),
		Tags:             orEmpty(d.Tags),
		DocumentationURL: deref(d.DocumentationURL),
		Version:          d.Version,
		Sensitivity:      string(d.Sensitivity),
		RetentionDays:    int64(d.RetentionDays),
		QualitySLOs:      make([]QualitySLO, 0, len(d.QualitySLOs)),
		OutputPorts:      make([]OutputPort, 0, len(d.OutputPorts)),
		Inputs:           orEmpty(d.Inputs),
		Labels:           d.Labels,
	}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	if s := d.SLA; s != nil {
		p.SLA.Freshness = deref(s.Freshness)
		if s.Availability != nil {
			p.SLA.Availability = *s.Availability
		}
	}
	for _, s := range d.QualitySLOs {
		p.QualitySLOs = append(p.QualitySLOs, QualitySLO{
			Dimension: string(s.Dimension), Operator: s.Operator, Threshold: s.Threshold,
			Port: deref(s.Port), Column: deref(s.Column), Rule: deref(s.Rule), Window: deref(s.Window),
		})
	}
	for _, o := range d.OutputPorts {
		port := OutputPort{Name: o.Name, Topic: o.Topic, SchemaSubject: o.SchemaSubject, Format: o.Format, Partitions: int64(o.Partitions), Fields: orEmpty(o.Fields)}
		if o.SchemaID != nil {
			port.SchemaID = int64(*o.SchemaID)
		}
		p.OutputPorts = append(p.OutputPorts, port)
	}
	p.Ownership.EscalationPath = []string{}
	if o := d.Ownership; o != nil {
		p.Ownership = Ownership{TechnicalOwner: deref(o.TechnicalOwner), BusinessOwner: deref(o.BusinessOwner), Steward: deref(o.Steward), OnCall: deref(o.OnCall),
			Developer: deref(o.Developer), EscalationPath: orEmpty(o.EscalationPath), Channel: deref(o.Channel)}
	}
	p.Security.PIIFields = []string{}
	if s := d.Security; s != nil {
		p.Security = Security{EncryptionAtRest: s.EncryptionAtRest, PIIFields: orEmpty(s.PIIFields), PIIMasked: s.PIIMasked, AuditLogging: s.AuditLogging}
	}
	return p
}

func qualityOf(e *events.QualityEvent) Quality {
	q := Quality{
		EventID:        e.EventID,
		ProductID:      e.ProductID,
		ProductVersion: e.ProductVersion,
		RunID:          e.RunID,
		ObservedAt:     e.ObservedAt,
		Checks:         make([]QualityCheck, 0, len(e.Checks)),
		Origin:         string(events.OriginReported),
		Port:           deref(e.Port),
	}
	if e.Origin != nil {
		q.Origin = string(*e.Origin)
	}
	if e.DataWatermark != nil {
		q.DataWatermark = *e.DataWatermark
	}
	if e.WindowStart != nil && e.WindowEnd != nil {
		q.WindowStart, q.WindowEnd = *e.WindowStart, *e.WindowEnd
	}
	for _, c := range e.Checks {
		q.Checks = append(q.Checks, QualityCheck{
			Port: q.Port, Name: c.Name, Dimension: string(c.Dimension), Column: deref(c.Column),
			Observed: c.Observed, Operator: c.Operator, Threshold: c.Threshold, Passed: c.Passed,
		})
	}
	return q
}

package registrar

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// Status is where a product is in its life.
type Status string

// Product statuses.
const (
	StatusActive     Status = "ACTIVE"
	StatusDeprecated Status = "DEPRECATED"
	StatusRetired    Status = "RETIRED"
)

// Product is the registrar's view of one product, as GET
// /api/v1/products/{id} answers it: the product as last announced, its
// status and its history.
type Product struct {
	Product events.DataProduct `json:"product"`
	Status  Status             `json:"status"`
	// Deprecation is set while the product is deprecated or retired after a
	// deprecation.
	Deprecation *Deprecation `json:"deprecation,omitempty"`
	// History lists the product's lifecycle events, oldest first.
	History   []HistoryEntry `json:"history"`
	UpdatedAt time.Time      `json:"updated_at"`

	// partition and offset of the last lifecycle record applied, so that a
	// record the follower reads after the handler applied it is not applied
	// twice (all records of one product share a partition: key = id).
	partition int32
	offset    int64
}

// Deprecation says why a product is deprecated and what replaces it.
type Deprecation struct {
	Reason    string     `json:"reason,omitempty"`
	Successor string     `json:"successor,omitempty"`
	SunsetAt  *time.Time `json:"sunset_at,omitempty"`
}

// HistoryEntry is one lifecycle event of a product.
type HistoryEntry struct {
	EventID    string               `json:"event_id"`
	Type       events.LifecycleType `json:"type"`
	Version    string               `json:"version"`
	Actor      string               `json:"actor"`
	OccurredAt time.Time            `json:"occurred_at"`
}

// view is the registrar's current view of every product, folded from the
// lifecycle topic.
type view struct {
	mu       sync.RWMutex
	products map[string]*Product
}

func newView() *view { return &view{products: map[string]*Product{}} }

// get returns a copy of the product's view.
func (v *view) get(id string) (Product, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	p, ok := v.products[id]
	if !ok {
		return Product{}, false
	}
	return p.clone(), true
}

// list returns every product, by id.
func (v *view) list() []Product {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]Product, 0, len(v.products))
	for _, p := range v.products {
		out = append(out, p.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Product.ID < out[j].Product.ID })
	return out
}

// readers returns the ids of the non-retired products, other than id, that
// list id in their inputs.
func (v *view) readers(id string) []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []string
	for pid, p := range v.products {
		if pid != id && p.Status != StatusRetired && slices.Contains(p.Product.Inputs, id) {
			out = append(out, pid)
		}
	}
	sort.Strings(out)
	return out
}

// hasEvent reports whether the lifecycle event eventID of product id is in
// the view.
func (v *view) hasEvent(id, eventID string) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	p, ok := v.products[id]
	return ok && slices.ContainsFunc(p.History, func(h HistoryEntry) bool { return h.EventID == eventID })
}

func (v *view) size() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.products)
}

// apply folds a lifecycle event read at partition/offset into the view. It
// reports false (and changes nothing) for a record of the product at or
// before the last one applied.
func (v *view) apply(ev *events.ProductLifecycleEvent, partition int32, offset int64) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	id := ev.Product.ID
	p, ok := v.products[id]
	if ok && p.partition == partition && offset <= p.offset {
		return false
	}
	if !ok {
		p = &Product{}
		v.products[id] = p
	}
	p.Product = ev.Product
	p.partition, p.offset = partition, offset
	p.UpdatedAt = ev.OccurredAt
	p.History = append(p.History, HistoryEntry{EventID: ev.EventID, Type: ev.Type, Version: ev.Product.Version, Actor: ev.Actor, OccurredAt: ev.OccurredAt})
	switch ev.Type {
	case events.LifecycleDeprecated:
		p.Status = StatusDeprecated
		p.Deprecation = &Deprecation{SunsetAt: ev.SunsetAt}
		if ev.Reason != nil {
			p.Deprecation.Reason = *ev.Reason
		}
		if ev.Successor != nil {
			p.Deprecation.Successor = *ev.Successor
		}
	case events.LifecycleRetired:
		p.Status = StatusRetired
	default:
		p.Status = StatusActive
		p.Deprecation = nil
	}
	return true
}

func (p *Product) clone() Product {
	c := *p
	c.History = slices.Clone(p.History)
	if p.Deprecation != nil {
		d := *p.Deprecation
		c.Deprecation = &d
	}
	c.Product = cloneDataProduct(p.Product)
	return c
}

// cloneDataProduct deep-copies the slices and maps a caller might change.
func cloneDataProduct(d events.DataProduct) events.DataProduct {
	c := d
	c.Tags = slices.Clone(d.Tags)
	c.Inputs = slices.Clone(d.Inputs)
	c.QualitySLOs = slices.Clone(d.QualitySLOs)
	c.OutputPorts = make([]events.OutputPort, len(d.OutputPorts))
	for i, port := range d.OutputPorts {
		port.Fields = slices.Clone(port.Fields)
		if port.SchemaID != nil {
			id := *port.SchemaID
			port.SchemaID = &id
		}
		c.OutputPorts[i] = port
	}
	if d.Labels != nil {
		c.Labels = make(map[string]string, len(d.Labels))
		for k, val := range d.Labels {
			c.Labels[k] = val
		}
	}
	if d.Security != nil {
		s := *d.Security
		s.PIIFields = slices.Clone(d.Security.PIIFields)
		c.Security = &s
	}
	return c
}

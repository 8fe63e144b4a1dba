package searchindex

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// Search limits and defaults.
const (
	DefaultPageSize  = 20
	MaxPageSize      = 100
	MaxResultWindow  = 10000 // (page-1)*size beyond this is refused
	MaxFilterValues  = 20
	MaxFilterLength  = 200
	DefaultTagFacets = 20 // the tag facet lists the most frequent tags only
)

// Facet names, as they appear in Result.Facets and as filters.
const (
	FacetDomain      = "domain"
	FacetTag         = "tag"
	FacetSensitivity = "sensitivity"
	FacetCompliance  = "compliance"
	FacetState       = "state"
)

// Product lifecycle states, the values of the state facet.
const (
	StateActive     = "ACTIVE"
	StateDeprecated = "DEPRECATED"
	StateRetired    = "RETIRED"
)

// States lists the lifecycle states, for validation and facets.
var States = []string{StateActive, StateDeprecated, StateRetired}

// ParamError says which query parameter is wrong and why; the API answers
// it with 400.
type ParamError struct {
	Field   string
	Message string
}

func (e *ParamError) Error() string { return e.Field + ": " + e.Message }

// Params is a search: text, filters (values of one facet are ORed, facets
// are ANDed) and a page.
type Params struct {
	Query       string
	Domain      []string
	Tag         []string
	Sensitivity []string
	Compliance  []string
	State       []string
	Page        int // from 1; 0 means 1
	Size        int // 1..MaxPageSize; 0 means DefaultPageSize
}

// Summary is a product as search lists it.
type Summary struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Domain       string    `json:"domain"`
	Description  string    `json:"description"`
	Tags         []string  `json:"tags"`
	Version      string    `json:"version"`
	Sensitivity  string    `json:"sensitivity"`
	Compliance   string    `json:"compliance"`
	State        string    `json:"state"`
	QualityScore *float64  `json:"quality_score"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// FacetCount is how many matching products have one value of a facet.
type FacetCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Result is one page of a search, with the total and the facet counts over
// every matching product.
type Result struct {
	Total   int                     `json:"total"`
	Page    int                     `json:"page"`
	Size    int                     `json:"size"`
	Results []Summary               `json:"results"`
	Facets  map[string][]FacetCount `json:"facets"`
}

var enumValues = map[string][]string{
	FacetSensitivity: {string(events.SensitivityPublic), string(events.SensitivityInternal), string(events.SensitivityConfidential), string(events.SensitivityRestricted)},
	FacetCompliance:  {string(events.Compliant), string(events.NonCompliant), string(events.Unknown)},
	FacetState:       States,
}

// Clone returns a copy of p that shares no slices with it.
func (p Params) Clone() Params {
	q := p
	q.Domain, q.Tag, q.Sensitivity = slices.Clone(p.Domain), slices.Clone(p.Tag), slices.Clone(p.Sensitivity)
	q.Compliance, q.State = slices.Clone(p.Compliance), slices.Clone(p.State)
	return q
}

// Normalize validates the parameters and fills in defaults; enum filters
// are upper-cased (in place). Errors are *ParamError.
func (p *Params) Normalize() error {
	if p.Size == 0 {
		p.Size = DefaultPageSize
	}
	if p.Page == 0 {
		p.Page = 1
	}
	switch {
	case p.Size < 1 || p.Size > MaxPageSize:
		return &ParamError{Field: "size", Message: fmt.Sprintf("%d is not between 1 and %d", p.Size, MaxPageSize)}
	case p.Page < 1:
		return &ParamError{Field: "page", Message: fmt.Sprintf("%d is not 1 or more", p.Page)}
	case (p.Page-1)*p.Size > MaxResultWindow:
		return &ParamError{Field: "page", Message: fmt.Sprintf("page %d of size %d is beyond the first %d results; narrow the search", p.Page, p.Size, MaxResultWindow)}
	}
	if _, err := FTSQuery(p.Query); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		vals *[]string
	}{{FacetDomain, &p.Domain}, {FacetTag, &p.Tag}, {FacetSensitivity, &p.Sensitivity}, {FacetCompliance, &p.Compliance}, {FacetState, &p.State}} {
		if len(*f.vals) > MaxFilterValues {
			return &ParamError{Field: f.name, Message: fmt.Sprintf("more than %d values", MaxFilterValues)}
		}
		allowed := enumValues[f.name]
		for i, v := range *f.vals {
			if len(v) > MaxFilterLength {
				return &ParamError{Field: f.name, Message: fmt.Sprintf("value longer than %d bytes", MaxFilterLength)}
			}
			if v == "" {
				return &ParamError{Field: f.name, Message: "empty value"}
			}
			if allowed != nil {
				u := strings.ToUpper(v)
				if !slices.Contains(allowed, u) {
					return &ParamError{Field: f.name, Message: fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))}
				}
				(*f.vals)[i] = u
			}
		}
	}
	return nil
}

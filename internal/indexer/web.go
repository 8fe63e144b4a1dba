package indexer

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/pkg/product"
)

//go:embed web
var webFS embed.FS

// web renders the marketplace: server-side templates, a stylesheet and a
// few lines of script, all embedded (no external network).
type web struct {
	ix    *Indexer
	pages map[string]*template.Template
	now   func() time.Time
}

var funcs = template.FuncMap{
	"lower": strings.ToLower,
	"kebab": func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "-")) },
	"human": func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", " ")) },
	"pct": func(f *float64) string {
		if f == nil {
			return "–"
		}
		return strconv.Itoa(int(*f*100+0.5)) + "%"
	},
	"pctClass": func(f *float64) string {
		switch {
		case f == nil:
			return "none"
		case *f >= 0.999:
			return "good"
		case *f >= 0.5:
			return "warn"
		}
		return "bad"
	},
	"date":  func(t any) string { return timeOf(t).Format("2006-01-02 15:04 UTC") },
	"day":   func(t any) string { return timeOf(t).Format("2006-01-02") },
	"f1":    func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"num":   num,
	"deref": func(s *string) string { return derefStr(s) },
	"add":   func(a, b int) int { return a + b },
	"list":  func(s ...string) []string { return s },
}

// humanDuration writes an SLA duration as people write it: "24h", "15m",
// "1h30m" where Go prints 24h0m0s, 15m0s, 1h30m0s. A text that is not a
// duration is left as it is.
func humanDuration(s string) string {
	d, err := product.ParseDuration(s)
	if err != nil || d <= 0 {
		return s
	}
	out := d.String()
	if strings.HasSuffix(out, "m0s") {
		out = strings.TrimSuffix(out, "0s")
	}
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}

// timeOf takes a time.Time or *time.Time (nil is the zero time), so
// templates need not care which a field is.
func timeOf(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t.UTC()
	case *time.Time:
		if t != nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func derefStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func newWeb(ix *Indexer) (*web, error) {
	w := &web{ix: ix, pages: map[string]*template.Template{}, now: time.Now}
	for _, page := range []string{"search", "product", "domains", "error"} {
		t, err := template.New(page).Funcs(funcs).Funcs(template.FuncMap{"ago": func(t any) string { return ago(timeOf(t), w.now()) }}).
			ParseFS(webFS, "web/templates/layout.html", "web/templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("indexer: web template %s: %w", page, err)
		}
		w.pages[page] = t
	}
	return w, nil
}

func (w *web) static() http.Handler {
	sub, _ := fs.Sub(webFS, "web")
	fsrv := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Cache-Control", "public, max-age=300")
		fsrv.ServeHTTP(rw, r)
	})
}

// page is what every template gets.
type page struct {
	Title  string
	Query  string
	Nav    string
	Status Status
	Data   any
}

func (w *web) render(rw http.ResponseWriter, status int, name string, p page) {
	p.Status = w.ix.prog.status()
	var buf bytes.Buffer
	if err := w.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		w.ix.log.Error("render page", zap.String("page", name), zap.Error(err))
		http.Error(rw, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	_, _ = buf.WriteTo(rw)
}

func (w *web) fail(rw http.ResponseWriter, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		w.ix.log.Error("web request failed", zap.Error(err))
	}
	w.render(rw, ae.Status, "error", page{Title: http.StatusText(ae.Status), Data: ae})
}

// facetTitles orders and names the facets in the sidebar.
var facetTitles = []struct{ name, title string }{
	{store.FacetDomain, "Domain"},
	{store.FacetState, "Lifecycle"},
	{store.FacetCompliance, "Compliance"},
	{store.FacetSensitivity, "Sensitivity"},
	{store.FacetTag, "Tags"},
}

type searchView struct {
	Params  store.SearchParams
	Result  *store.SearchResult
	Error   string
	Facets  []facetGroup
	Active  []activeFilter
	From    int
	To      int
	PrevURL string
	NextURL string
	Browse  bool
}

type facetGroup struct {
	Name, Title string
	Values      []facetValue
}

type facetValue struct {
	Value, Label string
	Count        int
	Active       bool
	URL          string
}

type activeFilter struct {
	Facet, Label, URL string
}

// filters maps facet names to the selected values of p.
func filters(p *store.SearchParams) map[string]*[]string {
	return map[string]*[]string{
		store.FacetDomain: &p.Domain, store.FacetTag: &p.Tag, store.FacetSensitivity: &p.Sensitivity,
		store.FacetCompliance: &p.Compliance, store.FacetState: &p.State,
	}
}

// searchURL is the page URL of p (page 1 unless page > 1).
func searchURL(p store.SearchParams) string {
	v := url.Values{}
	if p.Query != "" {
		v.Set("q", p.Query)
	}
	for _, f := range facetTitles {
		for _, val := range *filters(&p)[f.name] {
			v.Add(f.name, val)
		}
	}
	if p.Page > 1 {
		v.Set("page", strconv.Itoa(p.Page))
	}
	if p.Size != 0 && p.Size != store.DefaultPageSize {
		v.Set("size", strconv.Itoa(p.Size))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

// toggled returns p with value of facet added or removed, at page 1.
func toggled(p store.SearchParams, facet, value string) store.SearchParams {
	q := p.Clone()
	q.Page = 0
	vals := filters(&q)[facet]
	if i := slices.Index(*vals, value); i >= 0 {
		*vals = slices.Delete(*vals, i, i+1)
	} else {
		*vals = append(*vals, value)
	}
	return q
}

func facetLabel(facet, v string) string {
	switch facet {
	case store.FacetState, store.FacetCompliance, store.FacetSensitivity:
		return strings.ToLower(strings.ReplaceAll(v, "_", " "))
	}
	return v
}

func (w *web) search(rw http.ResponseWriter, r *http.Request) {
	q := newQuery(r, searchNames...)
	p := searchParams(q)
	view := searchView{Params: p, Browse: strings.TrimSpace(p.Query) == ""}
	status := http.StatusOK
	var res *store.SearchResult
	err := q.err
	if err == nil {
		res, err = w.ix.store.Search(r.Context(), p)
	}
	if err != nil {
		ae := toAPIError(err)
		if ae.Status >= 500 {
			w.fail(rw, err)
			return
		}
		status, view.Error = ae.Status, ae.Message
		res = &store.SearchResult{Facets: map[string][]store.FacetCount{}}
	} else {
		view.Params.Page, view.Params.Size = res.Page, res.Size
		// Normalize upper-cased the enum filters; keep them for links.
		np := p.Clone()
		_ = np.Normalize()
		view.Params.Sensitivity, view.Params.Compliance, view.Params.State = np.Sensitivity, np.Compliance, np.State
	}
	view.Result = res
	vp := view.Params
	for _, f := range facetTitles {
		g := facetGroup{Name: f.name, Title: f.title}
		selected := *filters(&vp)[f.name]
		seen := map[string]bool{}
		for _, c := range res.Facets[f.name] {
			seen[c.Value] = true
			g.Values = append(g.Values, facetValue{Value: c.Value, Label: facetLabel(f.name, c.Value), Count: c.Count,
				Active: slices.Contains(selected, c.Value), URL: searchURL(toggled(vp, f.name, c.Value))})
		}
		for _, s := range selected {
			if !seen[s] { // selected but matching nothing: still removable
				g.Values = append(g.Values, facetValue{Value: s, Label: facetLabel(f.name, s), Active: true, URL: searchURL(toggled(vp, f.name, s))})
			}
			view.Active = append(view.Active, activeFilter{Facet: f.title, Label: facetLabel(f.name, s), URL: searchURL(toggled(vp, f.name, s))})
		}
		view.Facets = append(view.Facets, g)
	}
	if res.Total > 0 && len(res.Results) > 0 {
		view.From = (vp.Page-1)*vp.Size + 1
		view.To = view.From + len(res.Results) - 1
		if vp.Page > 1 {
			prev := vp
			prev.Page--
			view.PrevURL = searchURL(prev)
		}
		if view.To < res.Total && (vp.Page)*vp.Size < store.MaxResultWindow {
			next := vp
			next.Page++
			view.NextURL = searchURL(next)
		}
	}
	title := "Data products"
	if p.Query != "" {
		title = "Search: " + p.Query
	}
	w.render(rw, status, "search", page{Title: title, Query: p.Query, Nav: "products", Data: view})
}

type productView struct {
	*store.Product
	Lineage       lineageView
	Charts        []chartView
	SLAFreshness  string
	SLAAvail      string
	CriticalCount int
	AccessPanel   accessPanel
}

func (w *web) product(rw http.ResponseWriter, r *http.Request) {
	v, err := w.productView(r.Context(), r.PathValue("id"))
	if err != nil {
		w.fail(rw, err)
		return
	}
	v.AccessPanel = w.newAccessPanel(v.Product, r.URL.Query().Get("requested"))
	w.render(rw, http.StatusOK, "product", page{Title: v.Name, Nav: "products", Data: v})
}

// productView reads what the product page shows of product id.
func (w *web) productView(ctx context.Context, id string) (productView, error) {
	p, err := w.ix.store.Product(ctx, id)
	if err != nil {
		return productView{}, err
	}
	// The page shows two hops of lineage; the API's product has one.
	g, err := w.ix.store.Lineage(ctx, id, store.DirectionBoth, 2)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return productView{}, err
	}
	if g == nil {
		g = p.Lineage
	}
	v := productView{Product: p, Lineage: layoutLineage(g)}
	v.Charts = chartsOf(p.Quality.Checks)
	if sla := p.Descriptor.SLA; sla != nil {
		v.SLAFreshness = humanDuration(derefStr(sla.Freshness))
		if sla.Availability != nil {
			v.SLAAvail = strconv.FormatFloat(*sla.Availability, 'f', -1, 64) + "%"
		}
	}
	for _, vi := range p.OpenViolations {
		if vi.Severity == "CRITICAL" {
			v.CriticalCount++
		}
	}
	return v, nil
}

func (w *web) domains(rw http.ResponseWriter, r *http.Request) {
	d, err := w.ix.store.Domains(r.Context())
	if err != nil {
		w.fail(rw, err)
		return
	}
	w.render(rw, http.StatusOK, "domains", page{Title: "Domains", Nav: "domains", Data: d})
}

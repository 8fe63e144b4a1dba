package uitest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// Environment of the browser test.
const (
	EnvChromium  = "MESH_TEST_CHROMIUM" // path of the Chromium binary; the test skips without it
	EnvArtifacts = "MESH_ARTIFACTS"     // where screenshots go; default artifacts/ at the repository root
)

// Products the test adds to the example mesh, to look at how the product
// page shows what people write in their descriptors.
const (
	// Returns has a daily freshness (the registrar turns "1d" into Go's
	// "24h0m0s"), a documentation link longer than its card is wide, and
	// no PII.
	Returns = "support.returns"
	// Loyalty has a freshness of "1h30m0s" and a PII field it does not
	// mask.
	Loyalty = "support.loyalty"
)

// longDocURL has no place to break a line but its slashes and dots.
const longDocURL = "https://wiki.example.com/data-products/support/returns/" +
	"ReturnsAndRefundsRunbookIncludingTheCarrierIntegrationsAndTheWarehouseReconciliationProcedures/" +
	"AppendixWithEveryFieldExplainedAtLength.html"

// polishProducts returns the registration of Returns and Loyalty, and the
// monitor's observed windows of customer-orders.
func polishProducts() []events.Event {
	returns := storetest.Product("support", "returns", storetest.Desc("Returned orders and their refunds."))
	doc := longDocURL
	returns.DocumentationURL = &doc
	day := "24h0m0s"
	returns.SLA.Freshness = &day
	returns.Security.PIIFields, returns.Security.PIIMasked = []string{}, false

	loyalty := storetest.Product("support", "loyalty", storetest.Desc("Loyalty points per customer."))
	hourAndHalf := "1h30m0s"
	loyalty.SLA.Freshness = &hourAndHalf
	loyalty.Security.PIIFields, loyalty.Security.PIIMasked = []string{"email"}, false

	at := storetest.T0.Add(24 * time.Hour)
	return append([]events.Event{
		storetest.Lifecycle("lc-returns", events.LifecycleRegistered, returns, at),
		storetest.Lifecycle("lc-loyalty", events.LifecycleRegistered, loyalty, at.Add(time.Minute)),
	}, storetest.ObservedOrders()...) // the monitor's windows of customer-orders (TestQualityChartInBrowser)
}

// startMesh runs an indexer on a fresh Env (its options edited by edits,
// which may start more on the Env) and folds the example mesh and the
// polish products into it.
func startMesh(t *testing.T, edits ...func(*testkit.Env, *indexer.Options)) string {
	t.Helper()
	env := testkit.New(t)
	t.Logf("browser test on %s", env.Backend)
	ctx := context.Background()
	ss, err := env.RegistryClient().CreateSchema(ctx, env.Prefix+"sales.customer-orders.orders.v1-value", sr.Schema{Schema: storetest.OrdersSchema, Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	opts := indexer.DefaultOptions()
	opts.Kafka = kafka.Config{Brokers: env.Brokers, RegistryURL: env.Registry, TopicPrefix: env.Prefix}
	opts.DB, opts.Listen = filepath.Join(t.TempDir(), "view.db"), "127.0.0.1:0"
	for _, edit := range edits {
		edit(env, &opts)
	}
	ix, err := indexer.New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ix.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("indexer did not stop")
		}
	})
	id := int32(ss.ID)
	wait := env.ProduceEvents(append(storetest.Mesh(&id), polishProducts()...)...)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if !ix.WaitFor(wctx, wait) {
		t.Fatal("indexer did not fold the example mesh within 30s")
	}
	return ix.URL()
}

// artifactDir is $MESH_ARTIFACTS or artifacts/ at the repository root.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(EnvArtifacts)
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		root := wd
		for root != "/" {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			root = filepath.Dir(root)
		}
		dir = filepath.Join(root, "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// setUp skips the test without a browser, or starts the mesh (see
// startMesh for edits) and a browser tab: the indexer's URL, the tab and
// the page errors.
func setUp(t *testing.T, edits ...func(*testkit.Env, *indexer.Options)) (string, context.Context, func() []string) {
	t.Helper()
	bin := os.Getenv(EnvChromium)
	if bin == "" {
		t.Skipf("browser test: set %s to a Chromium binary to run it (scripts/chromium.sh installs one; make test-ui sets it)", EnvChromium)
	}
	base := startMesh(t, edits...)
	ctx, problems := browser(t, bin)
	return base, ctx, problems
}

// browser starts headless Chromium and returns a tab context; page errors
// (uncaught exceptions, console errors) are collected in the returned func.
func browser(t *testing.T, bin string) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { tcancel(); cancel(); acancel() })

	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(tctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "uncaught exception: "+e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				problems = append(problems, "console error")
			}
		}
	}); err != nil {
		t.Fatalf("start Chromium %s: %v", bin, err)
	}
	return tctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot saved: %s (%d bytes)", path, len(png))
}

// TestMarketplaceInBrowser loads the marketplace, searches, narrows by a
// facet, opens a product and checks its lineage graph, its open violation
// and its quality charts, saving screenshots of the search and product
// pages.
func TestMarketplaceInBrowser(t *testing.T) {
	base, ctx, problems := setUp(t)

	// The landing page lists every product with facets.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#results .product-card`)),
		chromedp.WaitVisible(chromedp.CSS(`.facet[data-facet="domain"]`)),
	); err != nil {
		t.Fatalf("load /: %v", err)
	}
	count, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("result-count")))
	if err != nil || !strings.Contains(count, "of 11 products") {
		t.Errorf("landing page count %q (%v), want all 11 products", count, err)
	}

	// Search from the top bar, as a user types it.
	if _, err := chromedp.RunResponse(ctx, chromedp.Steps(
		chromedp.SendKeys(chromedp.ID("q"), "customer orders"),
		chromedp.Submit(chromedp.ID("q")),
	)); err != nil {
		t.Fatalf("search: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`.product-card[data-id="sales.customer-orders"]`))); err != nil {
		t.Fatalf("search results: %v", err)
	}
	first, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#results .product-card`), "data-id"))
	if err != nil || first.Value != storetest.Orders {
		t.Errorf("first result %+v (%v), want %s", first, err, storetest.Orders)
	}

	// Narrow by the sales domain facet.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`.facet[data-facet="domain"] a[data-value="sales"]`))); err != nil {
		t.Fatalf("domain facet: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`.chip`))); err != nil {
		t.Fatalf("active filter chip: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(loc); u.Query().Get("domain") != "sales" || u.Query().Get("q") != "customer orders" {
		t.Errorf("after the facet click the URL is %s, want q and domain=sales", loc)
	}
	screenshot(t, ctx, "marketplace-search.png")

	// Open the product.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`a.product-link[href="/products/sales.customer-orders"]`))); err != nil {
		t.Fatalf("open product: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.ID("lineage-graph")),
		chromedp.WaitVisible(chromedp.CSS(`#violations tr.violation`)),
	); err != nil {
		t.Fatalf("product page: %v", err)
	}
	nodes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#lineage-graph g.node')).map(n => n.dataset.id)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{storetest.Orders, storetest.Campaigns, storetest.Catalog, storetest.Revenue, storetest.Forecast} {
		if !contains(nodes, want) {
			t.Errorf("lineage graph nodes %v lack %s", nodes, want)
		}
	}
	edges, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#lineage-graph path.edge').length`))
	if err != nil || edges < 4 {
		t.Errorf("lineage graph has %d edges (%v), want at least 4", edges, err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("violations")))
	if err != nil || !strings.Contains(violations, "pii-masking") || !strings.Contains(violations, "customer_email") {
		t.Errorf("violations panel %q (%v), want the open pii-masking violation", violations, err)
	}
	badge, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("compliance-badge")))
	if err != nil || !strings.EqualFold(strings.TrimSpace(badge), "non compliant") {
		t.Errorf("compliance badge %q (%v)", badge, err)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#quality figure.chart circle.pt').length`))
	if err != nil || charts != 20 {
		t.Errorf("quality charts show %d points (%v), want 2 reported checks x 6 runs and 2 observed x 4 windows", charts, err)
	}
	// Nothing was loaded from anywhere but the indexer.
	resources, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`performance.getEntriesByType('resource').map(e => e.name)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resources {
		if !strings.HasPrefix(r, base) {
			t.Errorf("the page loaded %s from outside the indexer", r)
		}
	}
	screenshot(t, ctx, "marketplace-product.png")

	// Follow a lineage node to the upstream product.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#lineage-graph g.node[data-id=%q]`, storetest.Campaigns)))); err != nil {
		t.Fatalf("click lineage node: %v", err)
	}
	name, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("product-name")))
	if err != nil || name != "campaigns" {
		t.Errorf("after clicking the campaigns node the page shows %q (%v)", name, err)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("the pages reported errors: %v", p)
	}
}

// productPage is what TestProductPagePolish reads off a product page.
type productPage struct {
	Freshness    string   // the Freshness SLA figure at the top
	SLAFreshness string   // the freshness under Service levels
	Durations    []string // every text on the page that reads like Go's 24h0m0s
	Security     []string // the lines of the Security card, with their ✓ or ✗
	PIIFields    string   // the PII fields line, if any
	ScrollWidth  int      // of the page
	ClientWidth  int      // of the window
	Link         *box     // the documentation link, if any
	Card         *box     // its card
	LinkLines    int      // how many lines the link takes
}

type box struct{ Left, Right, Top, Bottom float64 }

// readProductPage opens the product page of id and reads it.
const readProductPage = `(() => {
  const text = sel => { const e = document.querySelector(sel); return e ? e.textContent.trim() : ""; };
  const rect = e => { const r = e.getBoundingClientRect(); return {Left: r.left, Right: r.right, Top: r.top, Bottom: r.bottom}; };
  const sla = Array.from(document.querySelectorAll(".kv dt")).find(dt => dt.textContent.trim() === "Freshness");
  const security = Array.from(document.querySelectorAll("h3")).find(h => h.textContent.trim() === "Security");
  const card = security ? security.closest(".panel") : null;
  const link = document.querySelector("#documentation a");
  return {
    Freshness: text("#freshness-sla"),
    SLAFreshness: sla ? sla.nextElementSibling.textContent.trim() : "",
    Durations: (document.body.innerText.match(/\b\d+h\d+m\d+s\b|\b\d+m0s\b/g) || []),
    Security: card ? Array.from(card.querySelectorAll(".checks li")).map(li =>
      getComputedStyle(li, "::before").content.replaceAll('"', "") + " " + li.textContent.trim()) : [],
    PIIFields: card ? text(".security-pii") : "",
    ScrollWidth: document.documentElement.scrollWidth,
    ClientWidth: document.documentElement.clientWidth,
    Link: link ? rect(link) : null,
    Card: link ? rect(link.closest(".panel")) : null,
    LinkLines: link ? link.getClientRects().length : 0,
  };
})()`

// TestProductPagePolish looks at product pages at 1400 px as people read
// them: durations as people write them, a long documentation link that
// wraps inside its card instead of widening the page, and "PII masked ✗"
// only on products that declare PII fields.
func TestProductPagePolish(t *testing.T) {
	base, ctx, problems := setUp(t)
	open := func(id string) productPage {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/products/"+id),
			chromedp.WaitVisible(chromedp.ID("product-name")),
		); err != nil {
			t.Fatalf("open %s: %v", id, err)
		}
		p, err := chromedp.Run(ctx, chromedp.Evaluate[productPage](readProductPage))
		if err != nil {
			t.Fatalf("read %s: %v", id, err)
		}
		return p
	}

	returns := open(Returns)
	screenshot(t, ctx, "marketplace-product-returns.png")
	if returns.Freshness != "24h" || returns.SLAFreshness != "24h" {
		t.Errorf("%s freshness reads %q at the top and %q under service levels, want 24h", Returns, returns.Freshness, returns.SLAFreshness)
	}
	if returns.ScrollWidth > returns.ClientWidth {
		t.Errorf("%s page is %d px wide in a %d px window: it scrolls sideways", Returns, returns.ScrollWidth, returns.ClientWidth)
	}
	switch {
	case returns.Link == nil:
		t.Errorf("%s shows no documentation link", Returns)
	case returns.Link.Right > returns.Card.Right || returns.Link.Left < returns.Card.Left:
		t.Errorf("%s documentation link spans %+v, outside its card %+v", Returns, *returns.Link, *returns.Card)
	case returns.LinkLines < 2:
		t.Errorf("%s documentation link takes %d line, want it wrapped", Returns, returns.LinkLines)
	}
	for _, line := range returns.Security {
		if strings.Contains(line, "PII masked") {
			t.Errorf("%s declares no PII fields, yet its security card says %q", Returns, line)
		}
	}
	if !slices.Contains(returns.Security, "– No PII fields declared") || returns.PIIFields != "" {
		t.Errorf("%s security card %q, %q; want it to say no PII fields are declared", Returns, returns.Security, returns.PIIFields)
	}
	if !slices.Contains(returns.Security, "✓ Encrypted at rest") || !slices.Contains(returns.Security, "✓ Audit logging") {
		t.Errorf("%s security card %q, want encryption and audit logging ticked", Returns, returns.Security)
	}

	loyalty := open(Loyalty)
	if loyalty.Freshness != "1h30m" || loyalty.SLAFreshness != "1h30m" {
		t.Errorf("%s freshness reads %q and %q, want 1h30m", Loyalty, loyalty.Freshness, loyalty.SLAFreshness)
	}
	if !slices.Contains(loyalty.Security, "✗ PII masked") || loyalty.PIIFields != "PII fields: email" {
		t.Errorf("%s declares the unmasked PII field email; its security card shows %q and %q", Loyalty, loyalty.Security, loyalty.PIIFields)
	}

	orders := open(storetest.Orders)
	if orders.Freshness != "1h" {
		t.Errorf("%s freshness %q, want 1h", storetest.Orders, orders.Freshness)
	}
	for _, p := range []productPage{returns, loyalty, orders} {
		if len(p.Durations) > 0 {
			t.Errorf("durations written as Go prints them: %q", p.Durations)
		}
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("the pages reported errors: %v", p)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

package registrar_test

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
)

func TestRegisterProvisionsAndAnnounces(t *testing.T) {
	w := newWorld(t)
	d := desc{domain: "sales", name: "customer-orders", version: "1.0.0", retentionDays: 730, partitions: 3, extraPort: true}
	a := w.post(salesToken, d.yaml())
	a.want(t, http.StatusCreated, "")
	if a.str("type") != "REGISTERED" || a.str("id") != "sales.customer-orders" || a.str("event_id") == "" {
		t.Fatalf("answer %s", a.Raw)
	}

	// Topics with the asked partitions and retention.
	parts, retention := w.createdTopic(w.topic("sales.customer-orders.events.v1"))
	if parts != 3 || retention != strconv.Itoa(730*24*3600*1000) {
		t.Fatalf("events topic: %d partitions, retention.ms %q", parts, retention)
	}
	if parts, _ := w.createdTopic(w.topic("sales.customer-orders.daily.v1")); parts != 1 {
		t.Fatalf("daily topic: %d partitions, want the default 1", parts)
	}
	// Schemas registered under <topic>-value.
	ss := w.latestSchema(w.subject("sales.customer-orders.events.v1"))
	if !strings.Contains(ss.Schema.Schema, `"amount"`) {
		t.Fatalf("registered schema %s", ss.Schema.Schema)
	}

	// The lifecycle event, decodable with pkg/events.
	evs, recs := w.lifecycle(1)
	ev := evs[0]
	if ev.Type != events.LifecycleRegistered || ev.Actor != "ada@sales" || ev.EventID != a.str("event_id") || ev.Product.Version != "1.0.0" {
		t.Fatalf("lifecycle event %+v", ev)
	}
	if ce := events.CloudEventOf(recs[0]); ce.Source != "/domains/sales" || ce.Subject != "sales.customer-orders" || ce.Type != "io.meshbone.product.registered.v1" {
		t.Fatalf("cloud event headers %+v", ce)
	}
	port := ev.Product.OutputPorts[0]
	if port.Topic != w.topic("sales.customer-orders.events.v1") || port.SchemaID == nil || int(*port.SchemaID) != ss.ID || port.Partitions != 3 {
		t.Fatalf("port %+v, want schema id %d", port, ss.ID)
	}
	if !slices.Equal(port.Fields, []string{"id", "amount"}) {
		t.Fatalf("port fields %v", port.Fields)
	}

	// The audit event.
	au := w.findAudit(1, func(e *events.AuditEvent) bool { return e.Target == "sales.customer-orders" })
	if au.Outcome != events.Allowed || au.Actor != "ada@sales" || au.Action != registrar.ActionRegister || au.Domain != "sales" || au.Details["event_id"] != ev.EventID {
		t.Fatalf("audit event %+v", au)
	}

	// The view.
	g := w.get("sales.customer-orders")
	g.want(t, http.StatusOK, "")
	if g.str("status") != "ACTIVE" || g.str("product", "version") != "1.0.0" {
		t.Fatalf("view %s", g.Raw)
	}

	// An identical re-post (as JSON with another layout) changes nothing...
	again := w.post(salesToken, d.yaml())
	again.want(t, http.StatusOK, "")
	if again.Body["unchanged"] != true {
		t.Fatalf("re-post answer %s", again.Raw)
	}
	if n := w.records(w.env.Topics.Lifecycle); n != 1 {
		t.Fatalf("lifecycle holds %d records after an identical re-post, want 1", n)
	}
	// ...and a metadata change at the same version is an UPDATE.
	d.description = "Orders of every channel"
	up := w.post(salesToken, d.yaml())
	up.want(t, http.StatusCreated, "")
	if up.str("type") != "UPDATED" {
		t.Fatalf("metadata change answer %s", up.Raw)
	}
	evs, _ = w.lifecycle(2)
	if evs[1].Type != events.LifecycleUpdated || *evs[1].Product.OutputPorts[0].SchemaID != *port.SchemaID {
		t.Fatalf("update event %+v", evs[1])
	}

	// Metrics: registrations by outcome, latency by route.
	resp, err := http.Get(w.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`meshbone_registrar_registrations_total{outcome="registered"} 1`,
		`meshbone_registrar_registrations_total{outcome="unchanged"} 1`,
		`meshbone_registrar_registrations_total{outcome="updated"} 1`,
		`meshbone_registrar_request_duration_seconds_count{code="201",route="POST /api/v1/products"} 2`,
		`meshbone_registrar_products 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestVersions(t *testing.T) {
	w := newWorld(t)
	v1 := desc{domain: "sales", name: "orders", version: "1.0.0"}
	w.post(salesToken, v1.yaml()).want(t, http.StatusCreated, "")
	subject := w.subject("sales.orders.events.v1")

	// A compatible schema (a new optional field) at a new minor version.
	v11 := v1
	v11.version = "1.1.0"
	v11.fields = append(slices.Clone(v1.fields), `{"name": "coupon", "type": ["null", "string"], "default": null}`)
	a := w.post(salesToken, v11.yaml())
	a.want(t, http.StatusCreated, "")
	if a.str("type") != "VERSION_PUBLISHED" {
		t.Fatalf("answer %s", a.Raw)
	}
	if vs := w.versions(subject); len(vs) != 2 {
		t.Fatalf("subject versions %v, want 2", vs)
	}

	// Lower version; same version with another schema.
	w.post(salesToken, v1.yaml()).want(t, http.StatusConflict, registrar.CodeConflict)
	same := v11
	same.fields = append(slices.Clone(v11.fields), `{"name": "note", "type": ["null", "string"], "default": null}`)
	a = w.post(salesToken, same.yaml())
	a.want(t, http.StatusConflict, registrar.CodeConflict)
	if a.str("error", "field") != "spec.version" {
		t.Fatalf("answer %s", a.Raw)
	}
	// Changing partitions within a major version.
	parts := v11
	parts.version, parts.partitions = "1.2.0", 5
	w.post(salesToken, parts.yaml()).want(t, http.StatusConflict, registrar.CodeConflict)

	// A new major version with a breaking schema: a new topic and subject.
	v2 := desc{domain: "sales", name: "orders", version: "2.0.0", fields: []string{`{"name": "id", "type": "long"}`}}
	a = w.post(salesToken, v2.yaml())
	a.want(t, http.StatusCreated, "")
	if parts, _ := w.createdTopic(w.topic("sales.orders.events.v2")); parts != 2 {
		t.Fatalf("v2 topic has %d partitions", parts)
	}
	if vs := w.versions(w.subject("sales.orders.events.v2")); len(vs) != 1 {
		t.Fatalf("v2 subject versions %v", vs)
	}
	if vs := w.versions(subject); len(vs) != 2 {
		t.Fatalf("v1 subject versions %v, want them untouched", vs)
	}
	if n := w.records(w.env.Topics.Lifecycle); n != 3 {
		t.Fatalf("lifecycle holds %d records, want 3", n)
	}
}

func TestIncompatibleSchemaChangesNothing(t *testing.T) {
	w := newWorld(t)
	v1 := desc{domain: "sales", name: "orders", version: "1.0.0"}
	w.post(salesToken, v1.yaml()).want(t, http.StatusCreated, "")
	subject := w.subject("sales.orders.events.v1")
	before := w.latestSchema(subject)

	// A new required field without a default cannot read old data; the new
	// port "daily" must not be created either.
	bad := v1
	bad.version, bad.extraPort = "1.1.0", true
	bad.fields = append(slices.Clone(v1.fields), `{"name": "channel", "type": "string"}`)
	a := w.post(salesToken, bad.yaml())
	a.want(t, http.StatusConflict, registrar.CodeIncompatible)
	if a.str("error", "field") != "spec.outputPorts[0].schema" || !strings.Contains(a.str("error", "message"), "channel") {
		t.Fatalf("answer %s", a.Raw)
	}
	if parts, _ := w.topicInfo(w.topic("sales.orders.daily.v1")); parts != -1 {
		t.Fatalf("the daily topic was created")
	}
	if vs := w.versions(w.subject("sales.orders.daily.v1")); vs != nil {
		t.Fatalf("the daily subject was registered: %v", vs)
	}
	if after := w.latestSchema(subject); after.Version != before.Version {
		t.Fatalf("subject went from version %d to %d", before.Version, after.Version)
	}
	if n := w.records(w.env.Topics.Lifecycle); n != 1 {
		t.Fatalf("lifecycle holds %d records, want 1", n)
	}
	au := w.findAudit(2, func(e *events.AuditEvent) bool { return e.Outcome == events.Denied })
	if au.Details["code"] != registrar.CodeIncompatible || au.Target != "sales.orders" {
		t.Fatalf("audit %+v", au)
	}
	if g := w.get("sales.orders"); g.str("product", "version") != "1.0.0" {
		t.Fatalf("view %s", g.Raw)
	}
}

func TestAuthorization(t *testing.T) {
	w := newWorld(t)
	doc := desc{domain: "sales", name: "orders", version: "1.0.0"}.yaml()

	a := w.post("", doc)
	a.want(t, http.StatusUnauthorized, registrar.CodeUnauthorized)
	if a.str("error", "field") != "Authorization" {
		t.Fatalf("answer %s", a.Raw)
	}
	w.post("not-a-token", doc).want(t, http.StatusUnauthorized, registrar.CodeUnauthorized)
	w.do(http.MethodPost, "/api/v1/products", "", "", []byte(doc)).want(t, http.StatusUnauthorized, registrar.CodeUnauthorized)

	// Marketing may not register a sales product.
	a = w.post(marketingToken, doc)
	a.want(t, http.StatusForbidden, registrar.CodeForbidden)
	// Nor deprecate one.
	w.postJSON("/api/v1/products/sales.orders/deprecate", marketingToken, map[string]string{"reason": "x"}).want(t, http.StatusForbidden, registrar.CodeForbidden)
	// Governance may act on any domain.
	w.post(governanceToken, doc).want(t, http.StatusCreated, "")

	// Audit records are keyed by target, so their order holds per target only.
	var anonymous, marketing []*events.AuditEvent
	for _, au := range w.audits(6) {
		switch {
		case au.Actor == registrar.AnonymousActor:
			anonymous = append(anonymous, au)
		case au.Actor == "bob@marketing":
			marketing = append(marketing, au)
		}
	}
	if len(anonymous) != 3 || len(marketing) != 2 {
		t.Fatalf("%d anonymous and %d marketing audits, want 3 and 2", len(anonymous), len(marketing))
	}
	for _, au := range anonymous {
		if au.Outcome != events.Denied || au.Target != registrar.UnknownTarget || au.Details["code"] != registrar.CodeUnauthorized {
			t.Errorf("401 audit %+v", au)
		}
	}
	for _, au := range marketing {
		if au.Outcome != events.Denied || au.Target != "sales.orders" || au.Domain != "sales" ||
			au.Details["code"] != registrar.CodeForbidden || au.Details["principal_domain"] != "marketing" {
			t.Errorf("403 audit %+v", au)
		}
	}
	if n := w.records(w.env.Topics.Lifecycle); n != 1 {
		t.Fatalf("lifecycle holds %d records, want 1", n)
	}
}

func TestBadRequests(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		name, body string
		status     int
		code       string
		field      string
		message    string
	}{
		{"malformed yaml", "metadata: [unclosed", 400, registrar.CodeInvalidDescriptor, "", "yaml"},
		{"wrong type", `{"apiVersion": "meshbone/v1", "kind": "DataProduct", "metadata": {"domain": "sales", "name": "x", "owner": "t"}, "spec": {"version": "1.0.0", "sensitivity": "internal", "retentionDays": "long", "outputPorts": []}}`,
			400, registrar.CodeInvalidDescriptor, "spec.retentionDays", "spec.retentionDays"},
		{"invalid", strings.Replace(desc{domain: "sales", name: "orders", version: "1.0.0"}.yaml(), "retentionDays: 30", "retentionDays: 0", 1),
			400, registrar.CodeInvalidDescriptor, "spec.retentionDays", "between 1 and"},
		{"empty", "", 400, registrar.CodeInvalidDescriptor, "", "empty"},
		{"oversized", "# " + strings.Repeat("x", registrar.DefaultMaxBodyBytes), 413, registrar.CodeTooLarge, "", "1048576"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := w.post(salesToken, c.body)
			a.want(t, c.status, c.code)
			if a.str("error", "field") != c.field || !strings.Contains(a.str("error", "message"), c.message) {
				t.Fatalf("answer %s, want field %q and a message with %q", a.Raw, c.field, c.message)
			}
		})
	}
	w.postJSON("/api/v1/products/sales.orders/deprecate", salesToken, map[string]any{"reason": 3}).want(t, 400, registrar.CodeBadRequest)
	w.postJSON("/api/v1/products/sales.orders/deprecate", salesToken, map[string]any{"reason": "x", "succesor": "y"}).want(t, 400, registrar.CodeBadRequest)
	w.postJSON("/api/v1/products/Not_An_Id/retire", salesToken, nil).want(t, 400, registrar.CodeBadRequest)
	w.get("sales.nothing").want(t, 404, registrar.CodeNotFound)
	if n := w.records(w.env.Topics.Lifecycle); n != 0 {
		t.Fatalf("lifecycle holds %d records, want 0", n)
	}
}

func TestDeprecateAndRetire(t *testing.T) {
	w := newWorld(t)
	w.post(salesToken, desc{domain: "sales", name: "orders", version: "1.0.0"}.yaml()).want(t, 201, "")
	w.post(salesToken, desc{domain: "sales", name: "orders-v2", version: "1.0.0"}.yaml()).want(t, 201, "")
	w.post(marketingToken, desc{domain: "marketing", name: "campaigns", version: "1.0.0", inputs: []string{"sales.orders"}}.yaml()).want(t, 201, "")

	w.postJSON("/api/v1/products/sales.orders/retire", salesToken, nil).want(t, 409, registrar.CodeConflict)
	w.postJSON("/api/v1/products/sales.nothing/deprecate", salesToken, map[string]string{"reason": "x"}).want(t, 404, registrar.CodeNotFound)
	w.postJSON("/api/v1/products/sales.orders/deprecate", salesToken, map[string]string{"reason": "x", "successor": "sales.nothing"}).want(t, 400, registrar.CodeBadRequest)
	w.postJSON("/api/v1/products/sales.orders/deprecate", salesToken, map[string]string{"reason": "x", "sunset": "2001-01-01"}).want(t, 400, registrar.CodeBadRequest)

	a := w.postJSON("/api/v1/products/sales.orders/deprecate", salesToken,
		registrar.DeprecateRequest{Reason: "replaced by orders-v2", Successor: "sales.orders-v2", Sunset: "2099-01-31"})
	a.want(t, 200, "")
	g := w.get("sales.orders")
	if g.str("status") != "DEPRECATED" || g.str("deprecation", "successor") != "sales.orders-v2" || !strings.HasPrefix(g.str("deprecation", "sunset_at"), "2099-01-31") {
		t.Fatalf("view %s", g.Raw)
	}
	// A deprecated product takes no new version.
	w.post(salesToken, desc{domain: "sales", name: "orders", version: "1.1.0"}.yaml()).want(t, 409, registrar.CodeConflict)

	// Retirement is refused while marketing.campaigns reads it...
	a = w.postJSON("/api/v1/products/sales.orders/retire", salesToken, nil)
	a.want(t, 409, registrar.CodeConflict)
	if !strings.Contains(a.str("error", "message"), "marketing.campaigns") {
		t.Fatalf("answer %s", a.Raw)
	}
	// ...force is for governance only...
	w.do(http.MethodPost, "/api/v1/products/sales.orders/retire?force=true", salesToken, "", nil).want(t, 403, registrar.CodeForbidden)
	// ...which may.
	a = w.postJSON("/api/v1/products/sales.orders/retire", governanceToken, registrar.RetireRequest{Force: true, Reason: "sunset"})
	a.want(t, 200, "")
	if a.str("type") != "RETIRED" {
		t.Fatalf("answer %s", a.Raw)
	}
	if g := w.get("sales.orders"); g.str("status") != "RETIRED" {
		t.Fatalf("view %s", g.Raw)
	}
	w.post(salesToken, desc{domain: "sales", name: "orders", version: "2.0.0"}.yaml()).want(t, 409, registrar.CodeConflict)
	// Lifecycle records are keyed by product id: ordered per product.
	var orders []*events.ProductLifecycleEvent
	evs, _ := w.lifecycle(5)
	for _, ev := range evs {
		if ev.Product.ID == "sales.orders" {
			orders = append(orders, ev)
		}
	}
	if len(orders) != 3 || orders[1].Type != events.LifecycleDeprecated || *orders[1].Successor != "sales.orders-v2" || orders[1].SunsetAt == nil ||
		orders[2].Type != events.LifecycleRetired || orders[2].Actor != "gov-bot" {
		t.Fatalf("events of sales.orders %+v", orders)
	}
}

func TestRestartRecoversTheView(t *testing.T) {
	w := newWorld(t)
	d := desc{domain: "sales", name: "orders", version: "1.0.0"}
	w.post(salesToken, d.yaml()).want(t, 201, "")
	w.postJSON("/api/v1/products/sales.orders/deprecate", salesToken, map[string]string{"reason": "old"}).want(t, 200, "")
	subjects, _ := w.env.RegistryClient().Subjects(t.Context())

	w.restart()
	g := w.get("sales.orders")
	g.want(t, 200, "")
	if g.str("status") != "DEPRECATED" || g.str("product", "version") != "1.0.0" {
		t.Fatalf("view after restart %s", g.Raw)
	}
	// The restarted view knows the schemas: an identical post is a no-op.
	a := w.post(salesToken, d.yaml())
	a.want(t, 200, "")
	if a.Body["unchanged"] != true {
		t.Fatalf("answer %s", a.Raw)
	}
	// Starting again changed no subject and added no mesh schema version.
	after, _ := w.env.RegistryClient().Subjects(t.Context())
	if !slices.Equal(subjects, after) {
		t.Fatalf("subjects %v after restart, %v before", after, subjects)
	}
	for _, topic := range w.env.Topics.Events() {
		if vs := w.versions(events.Subject(topic)); len(vs) != 1 {
			t.Fatalf("mesh subject %s has versions %v after a restart", events.Subject(topic), vs)
		}
	}
	if n := w.records(w.env.Topics.Lifecycle); n != 2 {
		t.Fatalf("lifecycle holds %d records, want 2", n)
	}
}

func TestConcurrentIdenticalPostsRegisterOnce(t *testing.T) {
	w := newWorld(t)
	doc := desc{domain: "sales", name: "orders", version: "1.0.0"}.yaml()
	statuses := make([]int, 8)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() { statuses[i] = w.post(salesToken, doc).Status })
	}
	wg.Wait()
	wantOneRegistered(t, statuses)
	if n := w.records(w.env.Topics.Lifecycle); n != 1 {
		t.Fatalf("lifecycle holds %d records, want 1", n)
	}
}

package registrar_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
)

// Fields of sales.orders' port events in the dry-run world, and changes of
// them.
var (
	ordersFields = []string{`{"name": "id", "type": "string"}`, `{"name": "amount", "type": "double"}`, `{"name": "sku", "type": "string"}`}
	noteAdded    = append(slices.Clone(ordersFields), `{"name": "note", "type": ["null", "string"], "default": null}`)
	amountGone   = []string{ordersFields[0], ordersFields[2]}
	skuInt       = []string{ordersFields[0], ordersFields[1], `{"name": "sku", "type": "int"}`}
)

// dryRunWorldAudits is how many audit records dryRunWorld's writes make.
const dryRunWorldAudits = 7

// dryRunWorld is a registrar with sales.orders (ports events and daily),
// read by marketing.campaigns, itself read by finance.report, and three
// access agreements on sales.orders: two granted on events and daily, one
// revoked on events.
func dryRunWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	w.post(salesToken, desc{domain: "sales", name: "orders", version: "1.0.0", fields: ordersFields, extraPort: true}.yaml()).want(t, http.StatusCreated, "")
	w.post(marketingToken, desc{domain: "marketing", name: "campaigns", version: "1.0.0", inputs: []string{"sales.orders"}}.yaml()).want(t, http.StatusCreated, "")
	w.post(governanceToken, desc{domain: "finance", name: "report", version: "1.0.0", inputs: []string{"marketing.campaigns"}}.yaml()).want(t, http.StatusCreated, "")
	for _, r := range []struct {
		app, port string
		revoke    bool
	}{{"dashboard", "events", false}, {"daily-mail", "daily", false}, {"old-job", "events", true}} {
		req := accessReq()
		req["ports"] = []string{r.port}
		req["consumer"] = map[string]string{"type": "application", "id": r.app}
		req["principal"], req["group_prefix"] = "User:"+r.app, r.app+"-"
		a := w.postJSON(registrar.RouteAccess, marketingToken, req)
		a.want(t, http.StatusCreated, "")
		if r.revoke {
			w.postJSON(registrar.RouteAccess+"/"+a.str("agreement_id")+"/revoke", salesToken, map[string]string{"reason": "done"}).want(t, http.StatusOK, "")
		}
	}
	return w
}

func (w *world) dryRun(token, id, doc string) answer {
	w.t.Helper()
	return w.do(http.MethodPost, "/api/v1/products/"+id+"/dry-run", token, "application/yaml", []byte(doc))
}

// dryRunOK dry-runs doc as sales and decodes the answer.
func (w *world) dryRunOK(doc string) registrar.DryRunResult {
	w.t.Helper()
	a := w.dryRun(salesToken, "sales.orders", doc)
	a.want(w.t, http.StatusOK, "")
	var res registrar.DryRunResult
	if err := json.Unmarshal(a.Raw, &res); err != nil {
		w.t.Fatalf("dry run answer: %v: %s", err, a.Raw)
	}
	return res
}

func port(t *testing.T, res registrar.DryRunResult, name string) registrar.PortImpact {
	t.Helper()
	for _, p := range res.Ports {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no port %s in %+v", name, res.Ports)
	return registrar.PortImpact{}
}

// changes renders a port's changes as "field CHANGE from->to breaks".
func changes(p registrar.PortImpact) []string {
	out := []string{}
	for _, c := range p.Changes {
		out = append(out, fmt.Sprintf("%s %s %s->%s %v", c.Field, c.Change, c.From, c.To, c.Breaks))
	}
	return out
}

func agreementsOf(p registrar.PortImpact) []string {
	out := []string{}
	for _, a := range p.AffectedAgreements {
		out = append(out, a.Principal+" "+string(a.Status))
	}
	return out
}

// meshState is what a dry run must not change: the test's topics and their
// end offsets, and the registry's subjects and versions.
type meshState struct {
	Offsets  map[string]int64
	Subjects map[string][]int
}

// meshState waits until the audit topic holds the audits records that the
// test's writes so far produce (they are sent asynchronously), then reads
// the state.
func (w *world) meshState(audits int64) meshState {
	w.t.Helper()
	w.env.Eventually(func() bool { return w.records(w.env.Topics.Audit) == audits }, fmt.Sprintf("%d audit records", audits))
	ctx := context.Background()
	adm := w.env.Admin()
	td, err := adm.ListTopics(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	var topics []string
	for _, name := range td.Names() {
		if strings.HasPrefix(name, w.env.Prefix) && !strings.HasPrefix(name, "__") {
			topics = append(topics, name)
		}
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		w.t.Fatal(err)
	}
	st := meshState{Offsets: map[string]int64{}, Subjects: map[string][]int{}}
	ends.Each(func(o kadm.ListedOffset) { st.Offsets[o.Topic] += o.Offset })
	subjects, err := w.env.RegistryClient().Subjects(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, s := range subjects {
		if strings.HasPrefix(s, w.env.Prefix) {
			st.Subjects[s] = w.versions(s)
		}
	}
	return st
}

// TestDryRunImpact: per port, a compatible change, a field removed without
// a default (accepted under BACKWARD, but breaking current readers), a type
// change (incompatible), a new major that changes a type and drops a port;
// each names the fields, the open agreements of the affected ports and the
// downstream products, direct and transitive. The dry runs change nothing,
// and apply agrees with them: what they call INCOMPATIBLE is refused, what
// they call BREAKING is accepted.
func TestDryRunImpact(t *testing.T) {
	w := dryRunWorld(t)
	before := w.meshState(dryRunWorldAudits)
	wantDownstream := []registrar.Downstream{
		{ID: "marketing.campaigns", Status: registrar.StatusActive, Depth: 1, Via: "sales.orders"},
		{ID: "finance.report", Status: registrar.StatusActive, Depth: 2, Via: "marketing.campaigns"},
	}
	wantProducts := []string{"marketing.campaigns", "finance.report"}

	same := w.dryRunOK(desc{domain: "sales", name: "orders", version: "1.0.0", fields: ordersFields, extraPort: true}.yaml())
	if !same.Unchanged || same.Type != "" || same.Verdict != registrar.VerdictOK || port(t, same, "events").Status != registrar.PortUnchanged {
		t.Errorf("the registered descriptor: %+v", same)
	}

	compatible := w.dryRunOK(desc{domain: "sales", name: "orders", version: "1.1.0", fields: noteAdded, extraPort: true}.yaml())
	ev := port(t, compatible, "events")
	if compatible.Verdict != registrar.VerdictOK || compatible.Type != events.LifecycleVersionPublished || compatible.Registered != "1.0.0" ||
		ev.Status != registrar.PortCompatible || ev.Level != "BACKWARD" || ev.Compatible == nil || !*ev.Compatible ||
		ev.Against == nil || ev.Against.Version != 1 || ev.Against.Subject != w.subject("sales.orders.events.v1") {
		t.Errorf("an optional field added: %+v", compatible)
	}
	if got, want := changes(ev), []string{"note ADDED ->null|string []"}; !reflect.DeepEqual(got, want) {
		t.Errorf("an optional field added: changes %q, want %q", got, want)
	}
	if len(ev.AffectedAgreements) != 0 || len(ev.AffectedProducts) != 0 || port(t, compatible, "daily").Status != registrar.PortUnchanged {
		t.Errorf("a compatible change affects %+v", compatible.Ports)
	}
	if !reflect.DeepEqual(compatible.Downstream, wantDownstream) {
		t.Errorf("downstream %+v, want %+v", compatible.Downstream, wantDownstream)
	}

	removed := w.dryRunOK(desc{domain: "sales", name: "orders", version: "1.1.0", fields: amountGone, extraPort: true}.yaml())
	ev = port(t, removed, "events")
	if removed.Verdict != registrar.VerdictBreaking || ev.Status != registrar.PortBreaking || ev.Compatible == nil || !*ev.Compatible {
		t.Errorf("a field removed without a default: %+v", removed)
	}
	if got, want := changes(ev), []string{"amount REMOVED double-> [FORWARD]"}; !reflect.DeepEqual(got, want) {
		t.Errorf("a field removed: changes %q, want %q", got, want)
	}
	if got := ev.Changes[0].Reason; got != "removed without a default: readers of the current schema cannot read new records" {
		t.Errorf("a field removed: reason %q", got)
	}
	if got, want := agreementsOf(ev), []string{"User:dashboard GRANTED"}; !reflect.DeepEqual(got, want) || !reflect.DeepEqual(ev.Breaks, []string{"amount"}) {
		t.Errorf("a field removed: agreements %q (want %q), breaks %q", got, want, ev.Breaks)
	}
	if !reflect.DeepEqual(ev.AffectedProducts, wantProducts) {
		t.Errorf("a field removed: products %q, want %q", ev.AffectedProducts, wantProducts)
	}
	if daily := port(t, removed, "daily"); daily.Status != registrar.PortUnchanged || len(daily.AffectedAgreements) != 0 {
		t.Errorf("the unchanged port daily: %+v", daily)
	}

	retyped := w.dryRunOK(desc{domain: "sales", name: "orders", version: "1.1.0", fields: skuInt, extraPort: true}.yaml())
	ev = port(t, retyped, "events")
	if retyped.Verdict != registrar.VerdictIncompatible || ev.Status != registrar.PortIncompatible || ev.Compatible == nil || *ev.Compatible {
		t.Errorf("a type changed: %+v", retyped)
	}
	if got, want := changes(ev), []string{"sku TYPE_CHANGED string->int [BACKWARD FORWARD]"}; !reflect.DeepEqual(got, want) {
		t.Errorf("a type changed: changes %q, want %q", got, want)
	}
	if got, want := ev.Changes[0].Reason, "the new type cannot read string data; readers of string cannot read int data"; got != want {
		t.Errorf("a type changed: reason %q, want %q", got, want)
	}
	if got := agreementsOf(ev); !reflect.DeepEqual(got, []string{"User:dashboard GRANTED"}) || !reflect.DeepEqual(ev.AffectedProducts, wantProducts) {
		t.Errorf("a type changed: agreements %q, products %q", got, ev.AffectedProducts)
	}
	// The registry judges too: the type change is incompatible, the field
	// removed is not (under BACKWARD); srfake judges through srcompat.
	if rc := ev.RegistryCompatible; rc == nil || *rc {
		t.Errorf("the registry's verdict on a type change: %v, want false", rc)
	}
	if rc := port(t, removed, "events").RegistryCompatible; rc == nil || !*rc {
		t.Errorf("the registry's verdict on a field removed under BACKWARD: %v, want true", rc)
	}

	major := w.dryRunOK(desc{domain: "sales", name: "orders", version: "2.0.0", fields: skuInt}.yaml())
	ev = port(t, major, "events")
	if major.Verdict != registrar.VerdictBreaking || ev.Status != registrar.PortNewMajor || ev.Topic != w.topic("sales.orders.events.v2") ||
		ev.Against == nil || ev.Against.Subject != w.subject("sales.orders.events.v1") || ev.Compatible != nil {
		t.Errorf("a new major: %+v", major)
	}
	if got, want := changes(ev), []string{"sku TYPE_CHANGED string->int [BACKWARD FORWARD]"}; !reflect.DeepEqual(got, want) {
		t.Errorf("a new major: changes %q, want %q", got, want)
	}
	daily := port(t, major, "daily")
	if daily.Status != registrar.PortRemoved || !reflect.DeepEqual(agreementsOf(daily), []string{"User:daily-mail GRANTED"}) || !reflect.DeepEqual(daily.AffectedProducts, wantProducts) {
		t.Errorf("a port dropped by a new major: %+v", daily)
	}

	if after := w.meshState(dryRunWorldAudits); !reflect.DeepEqual(after, before) {
		t.Errorf("dry runs changed the mesh:\nbefore %+v\nafter  %+v", before, after)
	}

	// Apply agrees with the dry runs.
	w.post(salesToken, desc{domain: "sales", name: "orders", version: "1.1.0", fields: skuInt, extraPort: true}.yaml()).want(t, http.StatusConflict, registrar.CodeIncompatible)
	w.post(salesToken, desc{domain: "sales", name: "orders", version: "1.1.0", fields: amountGone, extraPort: true}.yaml()).want(t, http.StatusCreated, "")
}

// TestDryRunNewProduct: a product not registered yet has only new ports,
// affects nobody, and its dry run creates nothing.
func TestDryRunNewProduct(t *testing.T) {
	w := newWorld(t)
	before := w.meshState(0)
	a := w.dryRun(salesToken, "sales.fresh", desc{domain: "sales", name: "fresh", version: "1.0.0", extraPort: true}.yaml())
	a.want(t, http.StatusOK, "")
	var res registrar.DryRunResult
	if err := json.Unmarshal(a.Raw, &res); err != nil {
		t.Fatal(err)
	}
	if !res.New || res.Type != events.LifecycleRegistered || res.Verdict != registrar.VerdictOK || len(res.Ports) != 2 || len(res.Downstream) != 0 {
		t.Fatalf("a new product: %s", a.Raw)
	}
	for _, p := range res.Ports {
		if p.Status != registrar.PortNew || p.Against != nil || len(p.Changes) != 0 || p.Topic != w.topic("sales.fresh."+p.Name+".v1") {
			t.Errorf("port of a new product: %+v", p)
		}
	}
	if after := w.meshState(0); !reflect.DeepEqual(after, before) {
		t.Errorf("a dry run changed the mesh:\nbefore %+v\nafter  %+v", before, after)
	}
	if w.get("sales.fresh").Status != http.StatusNotFound {
		t.Error("the dry-run product is registered")
	}
}

// TestDryRunRefusals: another domain, no or an unknown token, a bad id, a
// descriptor of another product, a body over the limit (governance may); a bad descriptor or a state conflict gets exactly the
// answer apply gives. Refused callers are audited (DENIED), nothing else is.
func TestDryRunRefusals(t *testing.T) {
	w := dryRunWorld(t)
	good := desc{domain: "sales", name: "orders", version: "1.1.0", fields: noteAdded, extraPort: true}.yaml()
	for _, c := range []struct {
		name, token, id, doc string
		status               int
		code, msg            string
	}{
		{"another domain", marketingToken, "sales.orders", good, http.StatusForbidden, registrar.CodeForbidden,
			"bob@marketing (domain-owner of domain marketing) may not act on products of domain sales"},
		{"no token", "", "sales.orders", good, http.StatusUnauthorized, registrar.CodeUnauthorized, ""},
		{"unknown token", "not-a-token", "sales.orders", good, http.StatusUnauthorized, registrar.CodeUnauthorized, ""},
		{"too large", salesToken, "sales.orders", good + "# " + strings.Repeat("x", registrar.DefaultMaxBodyBytes) + "\n", http.StatusRequestEntityTooLarge, registrar.CodeTooLarge,
			fmt.Sprintf("request body is larger than the limit of %d bytes", registrar.DefaultMaxBodyBytes)},
		{"governance", governanceToken, "sales.orders", good, http.StatusOK, "", ""},
		{"bad id", salesToken, "Sales_orders", good, http.StatusBadRequest, registrar.CodeBadRequest,
			`"Sales_orders" is not a product id (<domain>.<name>, both lowercase DNS labels)`},
		{"another product", salesToken, "sales.other", good, http.StatusBadRequest, registrar.CodeBadRequest,
			"the descriptor is of product sales.orders, not sales.other as the path says"},
	} {
		a := w.dryRun(c.token, c.id, c.doc)
		a.want(t, c.status, c.code)
		if c.msg != "" && a.str("error", "message") != c.msg {
			t.Errorf("%s: message %q, want %q", c.name, a.str("error", "message"), c.msg)
		}
	}
	// The same answers as apply, and apply refuses them before changing
	// anything either. So far: the world's audits and the three refused
	// callers'; each refused apply adds one.
	audits := int64(dryRunWorldAudits + 3)
	for name, doc := range map[string]string{
		"not YAML":          "{{{",
		"no version":        strings.Replace(good, "  version: 1.1.0\n", "", 1),
		"bad schema":        strings.Replace(good, `"type": "double"`, `"type": "dubble"`, 1),
		"lower version":     desc{domain: "sales", name: "orders", version: "0.9.0", fields: ordersFields, extraPort: true}.yaml(),
		"port removed":      desc{domain: "sales", name: "orders", version: "1.2.0", fields: ordersFields}.yaml(),
		"partitions change": desc{domain: "sales", name: "orders", version: "1.2.0", fields: ordersFields, extraPort: true, partitions: 4}.yaml(),
	} {
		before := w.meshState(audits)
		dry := w.dryRun(salesToken, "sales.orders", doc)
		if dry.Status < 400 || dry.Status >= 500 {
			t.Errorf("%s: dry run answered %d: %s", name, dry.Status, dry.Raw)
			continue
		}
		if after := w.meshState(audits); !reflect.DeepEqual(after, before) {
			t.Errorf("%s: a refused dry run changed the mesh", name)
		}
		apply := w.post(salesToken, doc)
		audits++
		if apply.Status != dry.Status || !reflect.DeepEqual(apply.Body, dry.Body) {
			t.Errorf("%s: dry run answered %d %s, apply %d %s", name, dry.Status, dry.Raw, apply.Status, apply.Raw)
		}
	}
	// The refusals of a caller are audited; the allowed dry runs are not.
	var dry []string
	w.env.Eventually(func() bool {
		dry = nil
		for _, a := range w.audits(int(w.records(w.env.Topics.Audit))) {
			if a.Action == registrar.ActionDryRun {
				dry = append(dry, fmt.Sprintf("%s %s %s %s %s", a.Actor, a.Target, a.Outcome, a.Details["status"], a.Details["code"]))
			}
		}
		return len(dry) >= 3
	}, "the refused dry runs audited")
	want := []string{"bob@marketing sales.orders DENIED 403 forbidden", "anonymous sales.orders DENIED 401 unauthorized", "anonymous sales.orders DENIED 401 unauthorized"}
	if !reflect.DeepEqual(dry, want) {
		t.Errorf("dry-run audits %q, want %q", dry, want)
	}
}

// TestDryRunLevel: the verdict follows the subject's own level. Under
// FULL_TRANSITIVE a field removed without a default (BREAKING under
// BACKWARD) is INCOMPATIBLE, as the registry says too, and apply is
// refused; a field added with a default is still compatible.
func TestDryRunLevel(t *testing.T) {
	w := newWorld(t)
	w.post(salesToken, desc{domain: "sales", name: "orders", version: "1.0.0", fields: ordersFields}.yaml()).want(t, http.StatusCreated, "")
	subject := w.subject("sales.orders.events.v1")
	for _, r := range w.env.RegistryClient().SetCompatibility(context.Background(), sr.SetCompatibility{Level: sr.CompatFullTransitive}, subject) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	removed := w.dryRunOK(desc{domain: "sales", name: "orders", version: "1.1.0", fields: amountGone}.yaml())
	ev := port(t, removed, "events")
	if removed.Verdict != registrar.VerdictIncompatible || ev.Status != registrar.PortIncompatible || ev.Level != "FULL_TRANSITIVE" || ev.Compatible == nil || *ev.Compatible {
		t.Errorf("a field removed without a default under FULL_TRANSITIVE: %+v", removed)
	}
	if ev.RegistryCompatible == nil || *ev.RegistryCompatible {
		t.Errorf("the registry's verdict under FULL_TRANSITIVE: %v, want false", ev.RegistryCompatible)
	}
	added := w.dryRunOK(desc{domain: "sales", name: "orders", version: "1.1.0", fields: noteAdded}.yaml())
	if ev := port(t, added, "events"); added.Verdict != registrar.VerdictOK || ev.Status != registrar.PortCompatible || ev.Level != "FULL_TRANSITIVE" {
		t.Errorf("an optional field added under FULL_TRANSITIVE: %+v", added)
	}
	// The registry refuses the apply the dry run calls INCOMPATIBLE (apply's
	// own local check is BACKWARD only, the mesh's floor).
	w.post(salesToken, desc{domain: "sales", name: "orders", version: "1.1.0", fields: amountGone}.yaml()).want(t, http.StatusConflict, registrar.CodeIncompatible)
}

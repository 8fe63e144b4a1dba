package registrar_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
)

// ownershipYAML is an ownership block to append to a desc's document.
const ownershipYAML = "  ownership:\n    developer: campaign-pipelines\n    escalationPath: [ana@marketing, head@marketing]\n    channel: \"slack:#campaigns\"\n"

// noticeWorld is a registrar with sales.orders (INTERNAL, ports events and
// daily), read by marketing.campaigns (which names its owners' channel),
// and three agreements on sales.orders, approved by rule: on events (with a
// channel), on daily, and one on events that governance revoked.
func noticeWorld(t *testing.T, tweak ...func(*registrar.Options)) (w *world, onEvents, onDaily string) {
	t.Helper()
	w = newWorld(t, tweak...)
	w.post(salesToken, desc{domain: "sales", name: "orders", version: "1.0.0", extraPort: true}.yaml()).want(t, http.StatusCreated, "")
	w.post(marketingToken, desc{domain: "marketing", name: "campaigns", version: "1.0.0", inputs: []string{"sales.orders"}}.yaml()+ownershipYAML).want(t, http.StatusCreated, "")
	onEvents = w.grant("User:dash-events", "events", "mailto:dash@example.com")
	onDaily = w.grant("User:dash-daily", "daily", "")
	revoked := w.grant("User:dash-gone", "events", "")
	w.postJSON(registrar.RouteAccess+"/"+revoked+"/revoke", governanceToken, map[string]string{"reason": "gone"}).want(t, http.StatusOK, "")
	return w, onEvents, onDaily
}

// grant asks, as marketing, for port of sales.orders for principal, and
// checks the agreement was granted by rule.
func (w *world) grant(principal, port, channel string) string {
	w.t.Helper()
	return w.grantOn("sales.orders", principal, port, channel)
}

func (w *world) grantOn(product, principal, port, channel string) string {
	w.t.Helper()
	r := accessReq()
	r["product"], r["principal"], r["ports"] = product, principal, []string{port}
	r["group_prefix"] = strings.TrimPrefix(principal, "User:") + "-"
	if channel != "" {
		r["consumer"].(map[string]string)["channel"] = channel
	}
	a := w.postJSON(registrar.RouteAccess, marketingToken, r)
	a.want(w.t, http.StatusCreated, "")
	if a.str("status") != "GRANTED" {
		w.t.Fatalf("request of %s: %s", principal, a.Raw)
	}
	return a.str("agreement_id")
}

// notANotice is a record the tests put on the notice topic: the
// registrar skips it.
const notANotice = "not a notice"

// notices reads every notice on the notice topic (but notANotice),
// checking each is keyed by its product id and has the id its content
// gives.
func (w *world) notices() []*events.Notice {
	w.t.Helper()
	codec := events.NewCodec(w.env.RegistryClient(), w.env.Topics)
	var ns []*events.Notice
	for _, r := range w.env.ReadN(w.env.Topics.Notices, int(w.records(w.env.Topics.Notices))) {
		if string(r.Value) == notANotice {
			continue
		}
		ev, err := codec.Decode(context.Background(), r)
		if err != nil {
			w.t.Fatalf("decode notice at %d@%d: %v", r.Partition, r.Offset, err)
		}
		n := ev.(*events.Notice)
		if string(r.Key) != n.ProductID {
			w.t.Errorf("notice %s keyed %q, want %q", n.NoticeID, r.Key, n.ProductID)
		}
		ns = append(ns, n)
		if id := events.NoticeID(n); id != n.NoticeID {
			w.t.Errorf("notice id %s, but its content gives %s", n.NoticeID, id)
		}
	}
	return ns
}

// summary renders notices as "TYPE RECIPIENT_TYPE:id[ port]" lines, sorted,
// with the agreement ids replaced by names.
func summary(ns []*events.Notice, names map[string]string) string {
	var lines []string
	for _, n := range ns {
		id := n.Recipient.ID
		if name, ok := names[id]; ok {
			id = name
		}
		line := fmt.Sprintf("%s %s:%s", n.Type, n.Recipient.Type, id)
		if n.Port != nil {
			line += " " + *n.Port
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func ofType(ns []*events.Notice, typ events.NoticeType) []*events.Notice {
	var out []*events.Notice
	for _, n := range ns {
		if n.Type == typ {
			out = append(out, n)
		}
	}
	return out
}

// TestNoticesOnLifecycle: a minor version tells nobody; a new major tells
// each agreement in force of the ports it reads and the downstream product
// of every port; a deprecation tells all of them, in the transaction of
// the lifecycle event, whichever instance took the request; a revoked
// agreement hears nothing; a restarted registrar sends nothing again.
func TestNoticesOnLifecycle(t *testing.T) {
	w, onEvents, onDaily := noticeWorld(t)
	names := map[string]string{onEvents: "events-agreement", onDaily: "daily-agreement"}

	w.post(salesToken, desc{domain: "sales", name: "orders", version: "1.1.0", extraPort: true}.yaml()).want(t, http.StatusCreated, "")
	if n := w.records(w.env.Topics.Notices); n != 0 {
		t.Fatalf("a minor version sent %d notices", n)
	}
	major := w.post(salesToken, desc{domain: "sales", name: "orders", version: "2.0.0", extraPort: true}.yaml())
	major.want(t, http.StatusCreated, "")
	ns := w.notices()
	if got, want := summary(ns, names), strings.Join([]string{
		"MAJOR_VERSION AGREEMENT:daily-agreement daily",
		"MAJOR_VERSION AGREEMENT:events-agreement events",
		"MAJOR_VERSION DOWNSTREAM_PRODUCT:marketing.campaigns daily",
		"MAJOR_VERSION DOWNSTREAM_PRODUCT:marketing.campaigns events",
	}, "\n"); got != want {
		t.Fatalf("notices of a new major:\n%s\nwant\n%s", got, want)
	}
	for _, n := range ns {
		port := *n.Port
		if *n.OldVersion != "1.1.0" || *n.NewVersion != "2.0.0" || n.ProductVersion != "2.0.0" || *n.Topic != w.topic("sales.orders."+port+".v2") ||
			*n.CauseEventID != major.str("event_id") || n.Actor != "ada@sales" {
			t.Errorf("MAJOR_VERSION notice %+v", n)
		}
		if want := fmt.Sprintf("port %s of sales.orders moves to major version 2 (1.1.0 to 2.0.0): read topic %s instead of %s", port, *n.Topic, w.topic("sales.orders."+port+".v1")); n.Message != want {
			t.Errorf("message %q, want %q", n.Message, want)
		}
		switch n.Recipient.ID {
		case onEvents:
			if *n.Recipient.Channel != "mailto:dash@example.com" || *n.Recipient.Principal != "User:dash-events" || *n.Recipient.ConsumerType != events.ConsumerApplication ||
				*n.Recipient.ConsumerID != "campaign-dashboard" || *n.Recipient.Domain != "marketing" {
				t.Errorf("recipient %+v", n.Recipient)
			}
		case onDaily:
			if n.Recipient.Channel != nil {
				t.Errorf("recipient without a channel has %q", *n.Recipient.Channel)
			}
		case "marketing.campaigns": // the channel of the downstream product's owners, from its descriptor
			if n.Recipient.Channel == nil || *n.Recipient.Channel != "slack:#campaigns" || *n.Recipient.Domain != "marketing" {
				t.Errorf("downstream recipient %+v", n.Recipient)
			}
		}
	}

	w.post(salesToken, desc{domain: "sales", name: "orders-next", version: "1.0.0"}.yaml()).want(t, http.StatusCreated, "")
	// Through a second instance, which forwards the write to the writer.
	other := w.spawn("")
	writer := w.url
	w.url = other.url
	dep := w.postJSON("/api/v1/products/sales.orders/deprecate", salesToken,
		registrar.DeprecateRequest{Reason: "one order model", Successor: "sales.orders-next", Sunset: "2099-01-31"})
	dep.want(t, http.StatusOK, "")
	w.url = writer
	deprecated := ofType(w.notices(), events.NoticeDeprecated)
	if got, want := summary(deprecated, names), "DEPRECATED AGREEMENT:daily-agreement\nDEPRECATED AGREEMENT:events-agreement\nDEPRECATED DOWNSTREAM_PRODUCT:marketing.campaigns"; got != want {
		t.Fatalf("notices of a deprecation:\n%s\nwant\n%s", got, want)
	}
	for _, n := range deprecated {
		if *n.Successor != "sales.orders-next" || n.SunsetAt.Format(time.DateOnly) != "2099-01-31" || *n.Reason != "one order model" || *n.CauseEventID != dep.str("event_id") ||
			n.Message != "sales.orders 2.0.0 is deprecated (one order model); it will be retired on 2099-01-31T00:00:00Z; move to its successor sales.orders-next" {
			t.Errorf("DEPRECATED notice %+v", n)
		}
	}
	// The event the notices name as their cause is on the lifecycle topic.
	evs, _ := w.lifecycle(int(w.records(w.env.Topics.Lifecycle)))
	if !slices.ContainsFunc(evs, func(ev *events.ProductLifecycleEvent) bool {
		return ev.EventID == dep.str("event_id") && ev.Type == events.LifecycleDeprecated
	}) {
		t.Errorf("no DEPRECATED event %s on the lifecycle topic", dep.str("event_id"))
	}

	before := w.notices()
	w.restart()
	w.post(salesToken, desc{domain: "sales", name: "stats", version: "1.0.0"}.yaml()).want(t, http.StatusCreated, "") // a write: the writer is up
	if after := w.notices(); len(after) != len(before) {
		t.Errorf("%d notices after a restart, %d before", len(after), len(before))
	}
	// The ownership came back from the lifecycle topic.
	if g := w.get("marketing.campaigns"); g.str("product", "ownership", "developer") != "campaign-pipelines" || g.str("product", "ownership", "channel") != "slack:#campaigns" ||
		fmt.Sprint(g.Body["product"].(map[string]any)["ownership"].(map[string]any)["escalation_path"]) != "[ana@marketing head@marketing]" {
		t.Errorf("ownership after a restart: %s", g.Raw)
	}
	bad := w.post(marketingToken, desc{domain: "marketing", name: "reach", version: "1.0.0"}.yaml()+strings.Replace(ownershipYAML, `"slack:#campaigns"`, `"#campaigns"`, 1))
	bad.want(t, http.StatusBadRequest, "invalid_descriptor")
	if got := bad.str("error", "message"); got != `spec.ownership.channel: must be mailto:<address>, slack:#<channel> or an https URL, got "#campaigns"` || bad.str("error", "field") != "spec.ownership.channel" {
		t.Errorf("a bad channel: %s", bad.Raw)
	}
}

// TestRetireWithAgreements: a product with agreements in force is not
// retired (409 naming them) but by governance with force, which tells
// them; once its agreements are revoked its owner retires it, telling
// nobody.
func TestRetireWithAgreements(t *testing.T) {
	w := newWorld(t)
	for _, name := range []string{"stats", "totals"} {
		w.post(salesToken, desc{domain: "sales", name: name, version: "1.0.0"}.yaml()).want(t, http.StatusCreated, "")
		w.postJSON("/api/v1/products/sales."+name+"/deprecate", salesToken, map[string]string{"reason": "unused"}).want(t, http.StatusOK, "")
	}
	one := w.grantOn("sales.stats", "User:dash-one", "events", "slack:#dash")
	two := w.grantOn("sales.stats", "User:dash-two", "events", "")
	first, second := min(one, two), max(one, two)
	who := map[string]string{one: "one", two: "two"}

	refused := w.postJSON("/api/v1/products/sales.stats/retire", salesToken, nil)
	refused.want(t, http.StatusConflict, registrar.CodeConflict)
	want := fmt.Sprintf("product sales.stats has access agreements in force: %s (application campaign-dashboard, User:dash-%s), %s (application campaign-dashboard, User:dash-%s); "+
		"revoke them first (or the governance role retires it with force=true)", first, who[first], second, who[second])
	if got := refused.str("error", "message"); got != want {
		t.Errorf("refusal:\n got %s\nwant %s", got, want)
	}
	w.do(http.MethodPost, "/api/v1/products/sales.stats/retire?force=true", salesToken, "", nil).want(t, http.StatusForbidden, registrar.CodeForbidden)
	if n := w.records(w.env.Topics.Notices); n != 0 {
		t.Fatalf("refused retirements sent %d notices", n)
	}
	forced := w.postJSON("/api/v1/products/sales.stats/retire", governanceToken, registrar.RetireRequest{Force: true, Reason: "end of support"})
	forced.want(t, http.StatusOK, "")
	if got := fmt.Sprint(forced.Body["active_agreements"]); !strings.Contains(got, one) || !strings.Contains(got, two) {
		t.Errorf("forced retirement lists %s", got)
	}
	retired := w.notices()
	if got := summary(retired, who); got != "RETIRED AGREEMENT:one\nRETIRED AGREEMENT:two" {
		t.Fatalf("notices of a forced retirement:\n%s", got)
	}
	if n := retired[0]; n.Actor != "gov-bot" || *n.Reason != "end of support" || n.Message != "sales.stats 1.0.0 is retired: its topics are no longer written" {
		t.Errorf("RETIRED notice %+v", n)
	}

	three := w.grantOn("sales.totals", "User:dash-three", "events", "")
	w.postJSON(registrar.RouteAccess+"/"+three+"/revoke", salesToken, map[string]string{"reason": "retiring"}).want(t, http.StatusOK, "")
	w.postJSON("/api/v1/products/sales.totals/retire", salesToken, nil).want(t, http.StatusOK, "")
	if n := len(w.notices()); n != len(retired) {
		t.Errorf("retiring a product nobody reads sent %d notices", n-len(retired))
	}
}

// TestSunsetSoonOnce: SUNSET_SOON goes to each recipient once the sunset
// is seven days away on the registrar's clock, once: a restarted registrar
// and another instance that takes over send it only to a recipient that
// had not heard it (a new agreement), in the same pass that would resend
// the others.
func TestSunsetSoonOnce(t *testing.T) {
	var ahead atomic.Int64 // how far the registrars' clock is ahead of the wall clock
	clock := func(o *registrar.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	}
	w, onEvents, onDaily := noticeWorld(t, clock)
	names := map[string]string{onEvents: "events-agreement", onDaily: "daily-agreement"}
	sunset := time.Now().UTC().Add(10 * 24 * time.Hour).Truncate(time.Second)
	w.postJSON("/api/v1/products/sales.orders/deprecate", salesToken,
		registrar.DeprecateRequest{Reason: "one order model", Sunset: sunset.Format(time.RFC3339)}).want(t, http.StatusOK, "")

	soon := func(want int) []*events.Notice {
		t.Helper()
		var ns []*events.Notice
		w.env.Eventually(func() bool { ns = ofType(w.notices(), events.NoticeSunsetSoon); return len(ns) >= want }, fmt.Sprintf("%d SUNSET_SOON notices", want))
		return ns
	}
	// A record on the notice topic that is no notice is skipped, not fatal.
	if err := w.env.Client().ProduceSync(context.Background(), &kgo.Record{Topic: w.env.Topics.Notices, Key: []byte("sales.orders"), Value: []byte(notANotice)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	moved := time.Now()
	ahead.Store(int64(3*24*time.Hour + time.Hour)) // the sunset is now 6 days 23 hours away
	ns := soon(3)
	if got, want := summary(ns, names), "SUNSET_SOON AGREEMENT:daily-agreement\nSUNSET_SOON AGREEMENT:events-agreement\nSUNSET_SOON DOWNSTREAM_PRODUCT:marketing.campaigns"; got != want {
		t.Fatalf("SUNSET_SOON:\n%s\nwant\n%s", got, want)
	}
	for _, n := range ns {
		// Issued on the moved clock: not before it moved.
		if n.IssuedAt.Before(moved.Add(3*24*time.Hour).Truncate(time.Millisecond)) || !n.SunsetAt.Equal(sunset) || n.Actor != registrar.RegistrarActor ||
			n.Message != fmt.Sprintf("sales.orders is retired on %s, in 7 day(s)", sunset.Format(time.RFC3339)) {
			t.Errorf("SUNSET_SOON notice %+v", n)
		}
	}

	w.stop()
	w.start(clock)
	late := w.grant("User:dash-late", "events", "")
	names[late] = "late-agreement"
	ns = soon(4)

	other := w.spawn("", clock)
	w.stop() // the other instance takes over
	w.env.Eventually(func() bool { return other.svc.IsWriter() }, "the other instance writes")
	w.url = other.url
	later := w.grant("User:dash-later", "daily", "")
	names[later] = "later-agreement"
	ns = soon(5)
	// Nothing more to wait for: the pass that sent the last one would have
	// resent the others with it.
	count := map[string]int{}
	for _, n := range ns {
		who := n.Recipient.ID
		if name, ok := names[who]; ok {
			who = name
		}
		count[who]++
	}
	for k, c := range count {
		if c != 1 {
			t.Errorf("%s heard SUNSET_SOON %d times", k, c)
		}
	}
	if len(count) != 5 || !slices.ContainsFunc(ns, func(n *events.Notice) bool { return n.Recipient.ID == later }) {
		t.Errorf("SUNSET_SOON recipients %v", count)
	}
}

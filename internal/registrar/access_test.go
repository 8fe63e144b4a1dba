package registrar_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
)

// accessWorld is a registrar with three products: sales.orders
// (CONFIDENTIAL, ports events and daily), sales.stats (INTERNAL) and
// marketing.campaigns (INTERNAL), and sales.old, retired.
func accessWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	confidential := strings.Replace(desc{domain: "sales", name: "orders", version: "1.0.0", extraPort: true}.yaml(), "sensitivity: internal", "sensitivity: confidential", 1)
	w.post(salesToken, confidential).want(t, http.StatusCreated, "")
	w.post(salesToken, desc{domain: "sales", name: "stats", version: "1.0.0"}.yaml()).want(t, http.StatusCreated, "")
	w.post(marketingToken, desc{domain: "marketing", name: "campaigns", version: "1.0.0"}.yaml()).want(t, http.StatusCreated, "")
	w.post(salesToken, desc{domain: "sales", name: "old", version: "1.0.0"}.yaml()).want(t, http.StatusCreated, "")
	w.postJSON("/api/v1/products/sales.old/deprecate", salesToken, map[string]string{"reason": "replaced"}).want(t, http.StatusOK, "")
	w.postJSON("/api/v1/products/sales.old/retire", salesToken, nil).want(t, http.StatusOK, "")
	return w
}

// accessReq is a valid request of marketing for port events of sales.orders.
func accessReq() map[string]any {
	return map[string]any{
		"product": "sales.orders", "ports": []string{"events"},
		"consumer":  map[string]string{"type": "application", "id": "campaign-dashboard"},
		"principal": "User:campaign-dashboard", "group_prefix": "campaign-dashboard-",
		"purpose": "attribute orders to campaigns", "valid_until": "2099-01-01",
	}
}

func (w *world) accessRecords() int64 {
	w.t.Helper()
	return w.records(w.env.Topics.Access)
}

// TestAccessWorkflow: a request for an INTERNAL product is approved by
// rule, one for a CONFIDENTIAL product waits for its owning domain, which
// approves it; governance revokes it; a restarted registrar knows every
// agreement from the access topic; every decision is audited.
func TestAccessWorkflow(t *testing.T) {
	w := accessWorld(t)

	stats := accessReq()
	stats["product"] = "sales.stats"
	auto := w.postJSON(registrar.RouteAccess, marketingToken, stats)
	auto.want(t, http.StatusCreated, "")
	if auto.str("status") != "GRANTED" || auto.str("decided_by") != "rule:access-approval" || auto.str("requested_by") != "bob@marketing" {
		t.Fatalf("request for an INTERNAL product: %s", auto.Raw)
	}

	pending := w.postJSON(registrar.RouteAccess, marketingToken, accessReq())
	pending.want(t, http.StatusCreated, "")
	id := pending.str("agreement_id")
	if pending.str("status") != "PENDING" || pending.str("reason") != "waits for domain sales: access-approval: sales.orders is CONFIDENTIAL: access needs the approval of domain sales" {
		t.Fatalf("request for a CONFIDENTIAL product: %s", pending.Raw)
	}

	path := registrar.RouteAccess + "/" + id
	// Another domain neither approves nor rejects; the owner approves once.
	denied := w.postJSON(path+"/approve", marketingToken, nil)
	denied.want(t, http.StatusForbidden, registrar.CodeForbidden)
	if got := denied.str("error", "message"); got != "bob@marketing (domain-owner of domain marketing) may not approve access to products of domain sales" {
		t.Errorf("another domain approving: %s", got)
	}
	w.postJSON(path+"/reject", marketingToken, map[string]string{"reason": "no"}).want(t, http.StatusForbidden, registrar.CodeForbidden)
	ok := w.postJSON(path+"/approve", salesToken, nil)
	ok.want(t, http.StatusOK, "")
	if ok.str("status") != "GRANTED" || ok.str("decided_by") != "ada@sales" {
		t.Fatalf("approval: %s", ok.Raw)
	}
	twice := w.postJSON(path+"/approve", salesToken, nil)
	twice.want(t, http.StatusConflict, registrar.CodeConflict)
	if got, want := twice.str("error", "message"), fmt.Sprintf("agreement %s is GRANTED already: only a pending request can be approved", id); got != want {
		t.Errorf("approving twice: %s, want %s", got, want)
	}
	// Governance revokes anything; another domain cannot.
	w.postJSON(path+"/revoke", marketingToken, map[string]string{"reason": "mine now"}).want(t, http.StatusForbidden, registrar.CodeForbidden)
	rev := w.postJSON(path+"/revoke", governanceToken, map[string]string{"reason": "campaign over"})
	rev.want(t, http.StatusOK, "")
	if rev.str("status") != "REVOKED" || rev.str("reason") != "campaign over" {
		t.Fatalf("revocation: %s", rev.Raw)
	}
	again := w.postJSON(path+"/revoke", governanceToken, map[string]string{"reason": "again"})
	again.want(t, http.StatusConflict, registrar.CodeConflict)
	if got, want := again.str("error", "message"), fmt.Sprintf("agreement %s is REVOKED: only an approved agreement can be revoked", id); got != want {
		t.Errorf("revoking twice: %s, want %s", got, want)
	}
	// After a revocation the same consumer may ask again.
	w.postJSON(registrar.RouteAccess, marketingToken, accessReq()).want(t, http.StatusCreated, "")

	// The log: REQUESTED+APPROVED+GRANTED (rule), REQUESTED, APPROVED+GRANTED,
	// REVOKED, REQUESTED.
	evs, recs := decodeAll[*events.AccessEvent](w, w.env.Topics.Access, 8)
	var types []string
	for i, ev := range evs {
		types = append(types, string(ev.Type))
		if string(recs[i].Key) != ev.Agreement.ProductID {
			t.Errorf("event %d keyed %q, want the product id %q", i, recs[i].Key, ev.Agreement.ProductID)
		}
	}
	if got := strings.Join(types, " "); got != "REQUESTED APPROVED GRANTED REQUESTED APPROVED GRANTED REVOKED REQUESTED" {
		t.Errorf("access events %s", got)
	}
	// GRANTED lists the ACLs created, REVOKED the ones deleted: the topic
	// ACLs, not the group one, which the sales.stats agreement of the same
	// principal and prefix still holds.
	granted, revoked := evs[5].Bindings, evs[6].Bindings
	if len(granted) != 3 || fmt.Sprint(granted[:2]) != fmt.Sprint(revoked) {
		t.Errorf("granted %v, revoked %v", granted, revoked)
	}
	for i, want := range []string{"TOPIC LITERAL " + w.topic("sales.orders.events.v1") + " READ", "TOPIC LITERAL " + w.topic("sales.orders.events.v1") + " DESCRIBE", "GROUP PREFIXED campaign-dashboard- READ"} {
		if b := granted[i]; b.Principal != "User:campaign-dashboard" || b.Host != "*" || b.ResourceType+" "+b.PatternType+" "+b.ResourceName+" "+b.Operation != want {
			t.Errorf("binding %d: %+v, want %s", i, b, want)
		}
	}

	// A restarted registrar derives the same agreements from the topic.
	before := w.do(http.MethodGet, registrar.RouteAccess+"?product=sales.orders", "", "", nil)
	w.restart()
	after := w.do(http.MethodGet, registrar.RouteAccess+"?product=sales.orders", "", "", nil)
	if string(before.Raw) != string(after.Raw) {
		t.Errorf("after a restart:\n%s\nbefore:\n%s", after.Raw, before.Raw)
	}
	// It also refuses what the log says is done.
	w.postJSON(path+"/approve", salesToken, nil).want(t, http.StatusConflict, registrar.CodeConflict)

	// Audited: the denied approval and the allowed one.
	var sawDenied, sawAllowed bool
	for _, a := range w.audits(countAudits(w)) {
		if a.Action != registrar.ActionAccessApprove || a.Details["agreement_id"] != id {
			continue
		}
		sawDenied = sawDenied || a.Outcome == events.Denied && a.Actor == "bob@marketing" && a.Details["status"] == "403" && a.Target == "sales.orders"
		sawAllowed = sawAllowed || a.Outcome == events.Allowed && a.Actor == "ada@sales" && a.Domain == "sales"
	}
	if !sawDenied || !sawAllowed {
		t.Errorf("approval audits: denied %v, allowed %v", sawDenied, sawAllowed)
	}
}

func countAudits(w *world) int { return int(w.records(w.env.Topics.Audit)) }

// TestAccessHostileInput: every bad request gets its 4xx with the exact
// text and publishes nothing.
func TestAccessHostileInput(t *testing.T) {
	w := accessWorld(t)
	pending := w.postJSON(registrar.RouteAccess, marketingToken, accessReq())
	pending.want(t, http.StatusCreated, "")
	id := pending.str("agreement_id")
	base := w.accessRecords()
	reserved := w.env.Prefix + "meshbone"

	with := func(k string, v any) map[string]any {
		r := accessReq()
		r["ports"] = []string{"daily"} // not the port of the pending request
		if strings.HasPrefix(k, "consumer.") {
			r["consumer"].(map[string]string)[strings.TrimPrefix(k, "consumer.")] = v.(string)
		} else if v == nil {
			delete(r, k)
		} else {
			r[k] = v
		}
		return r
	}
	tests := []struct {
		name   string
		token  string
		body   any
		status int
		want   string
	}{
		{"unknown product", marketingToken, with("product", "sales.nothing"), 404, "no product sales.nothing"},
		{"not a product id", marketingToken, with("product", "Sales"), 400, `product "Sales" is not a product id (<domain>.<name>, both lowercase DNS labels)`},
		{"retired product", marketingToken, with("product", "sales.old"), 409, "product sales.old is retired: it takes no new consumers"},
		{"unknown port", marketingToken, with("ports", []string{"refunds"}), 400, `product sales.orders has no output port "refunds" (its ports: events, daily)`},
		{"no port", marketingToken, with("ports", []string{}), 400, "ports: name at least one output port of sales.orders"},
		{"a port twice", marketingToken, with("ports", []string{"daily", "daily"}), 400, `port "daily" is named twice`},
		{"User:*", marketingToken, with("principal", "User:*"), 400, `principal "User:*" holds a wildcard: an agreement names one Kafka principal`},
		{"*", marketingToken, with("principal", "*"), 400, `principal "*" holds a wildcard: an agreement names one Kafka principal`},
		{"empty principal", marketingToken, with("principal", ""), 400, `principal is required: the Kafka principal the consumer connects as, e.g. "User:orders-dashboard"`},
		{"no principal type", marketingToken, with("principal", "dashboard"), 400, `principal "dashboard" is not a Kafka user principal: "User:<name>", the name of letters, digits and . _ @ = -`},
		{"a group principal", marketingToken, with("principal", "Group:dash"), 400, `principal "Group:dash" is not a Kafka user principal: "User:<name>", the name of letters, digits and . _ @ = -`},
		{"two principals", marketingToken, with("principal", "User:a,User:b"), 400, `principal "User:a,User:b" is not a Kafka user principal: "User:<name>", the name of letters, digits and . _ @ = -`},
		{"ACL text", marketingToken, with("principal", "User:dash;Allow:Read"), 400, `principal "User:dash;Allow:Read" is not a Kafka user principal: "User:<name>", the name of letters, digits and . _ @ = -`},
		{"anonymous", marketingToken, with("principal", "User:ANONYMOUS"), 400, `principal "User:ANONYMOUS" is Kafka's unauthenticated principal: name the consumer's own`},
		{"group *", marketingToken, with("group_prefix", "*"), 400, `group_prefix "*" holds a wildcard: name the prefix itself, e.g. "orders-dashboard-"`},
		{"group dash*", marketingToken, with("group_prefix", "dash*"), 400, `group_prefix "dash*" holds a wildcard: name the prefix itself, e.g. "orders-dashboard-"`},
		{"empty group", marketingToken, with("group_prefix", ""), 400, "group_prefix is required: the prefix of the consumer groups the consumer will use"},
		{"short group", marketingToken, with("group_prefix", "ab"), 400, `group_prefix "ab" is not 3 to 200 letters, digits and . _ - starting with a letter or digit`},
		{"group with a colon", marketingToken, with("group_prefix", "Group:dash"), 400, `group_prefix "Group:dash" is not 3 to 200 letters, digits and . _ - starting with a letter or digit`},
		{"meshbone's groups", marketingToken, with("group_prefix", reserved+"-governor"), 400,
			fmt.Sprintf(`group_prefix %q would cover the consumer groups of meshbone's own services (%s-...)`, reserved+"-governor", reserved)},
		{"a prefix of meshbone's groups", marketingToken, with("group_prefix", reserved[:len(reserved)-4]), 400,
			fmt.Sprintf(`group_prefix %q would cover the consumer groups of meshbone's own services (%s-...)`, reserved[:len(reserved)-4], reserved)},
		{"channel without a scheme", marketingToken, with("consumer.channel", "#dashboards"), 400, `consumer.channel must be mailto:<address>, slack:#<channel> or an https URL, got "#dashboards"`},
		{"channel of two addresses", marketingToken, with("consumer.channel", "mailto:a@example.com,b@example.com"), 400,
			`consumer.channel must be mailto:<address>, slack:#<channel> or an https URL: "mailto:a@example.com,b@example.com" is not one e-mail address`},
		{"channel over http", marketingToken, with("consumer.channel", "http://hooks.example.com/x"), 400, `consumer.channel must be mailto:<address>, slack:#<channel> or an https URL, got "http://hooks.example.com/x"`},
		{"no purpose", marketingToken, with("purpose", "  "), 400, "purpose is required: say what the data will be used for"},
		{"a purpose too long", marketingToken, with("purpose", strings.Repeat("x", 2001)), 400, "purpose is longer than 2000 bytes"},
		{"User: without a name", marketingToken, with("principal", "User:"), 400, `principal "User:" is not a Kafka user principal: "User:<name>", the name of letters, digits and . _ @ = -`},
		{"not JSON", marketingToken, "principal: User:x", 400, "malformed JSON body: json: cannot unmarshal string into Go value of type registrar.AccessRequest"},
		{"end before start", marketingToken, func() map[string]any {
			r := with("valid_from", "2030-01-02")
			r["valid_until"] = "2030-01-01"
			return r
		}(), 400,
			"valid_until 2030-01-01T00:00:00Z is not after valid_from 2030-01-02T00:00:00Z"},
		{"end at start", marketingToken, func() map[string]any {
			r := with("valid_from", "2030-01-02")
			r["valid_until"] = "2030-01-02"
			return r
		}(), 400,
			"valid_until 2030-01-02T00:00:00Z is not after valid_from 2030-01-02T00:00:00Z"},
		{"end in the past", marketingToken, with("valid_until", "2020-01-01"), 400, "valid_until 2020-01-01T00:00:00Z is in the past"},
		{"bad start", marketingToken, with("valid_from", "tomorrow"), 400, `valid_from "tomorrow" is neither a date (2027-01-31) nor an RFC 3339 time`},
		{"bad consumer type", marketingToken, with("consumer.type", "robot"), 400, `consumer.type "robot" is not team, application or data-product`},
		{"no consumer", marketingToken, with("consumer.id", ""), 400, "consumer.id is required: the team, the application or the data product that will read"},
		{"unknown consumer product", marketingToken, func() map[string]any {
			r := with("consumer.type", "data-product")
			r["consumer"].(map[string]string)["id"] = "marketing.nothing"
			return r
		}(), 400, `consumer.id "marketing.nothing" is not a registered, unretired data product`},
		{"on behalf of another domain's product", marketingToken, func() map[string]any {
			r := with("consumer.type", "data-product")
			r["consumer"].(map[string]string)["id"] = "sales.stats"
			return r
		}(), 403, "bob@marketing (domain-owner of domain marketing) may not ask for access on behalf of products of domain sales"},
		{"same principal and port again", marketingToken, with("ports", []string{"events"}), 409,
			fmt.Sprintf("User:campaign-dashboard already has agreement %s (PENDING) on port events of sales.orders", id)},
		{"unknown field", marketingToken, with("principals", "User:x"), 400, `malformed JSON body: json: unknown field "principals"`},
		{"no token", "", accessReq(), 401, `missing Authorization header: send "Authorization: Bearer <token>"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := w.postJSON(registrar.RouteAccess, tt.token, tt.body)
			if a.Status != tt.status || a.str("error", "message") != tt.want {
				t.Errorf("answer %d %q\nwant   %d %q", a.Status, a.str("error", "message"), tt.status, tt.want)
			}
		})
	}

	decisions := []struct {
		name, path, token string
		body              any
		status            int
		want              string
	}{
		{"not an agreement id", "/api/v1/access/x/approve", salesToken, nil, 400, `"x" is not an agreement id`},
		{"unknown agreement", "/api/v1/access/00000000-0000-4000-8000-000000000000/approve", salesToken, nil, 404, "no access agreement 00000000-0000-4000-8000-000000000000"},
		{"reject without a reason", "/api/v1/access/" + id + "/reject", salesToken, nil, 400, "reason is required: tell the consumer why"},
		{"a reason too long", "/api/v1/access/" + id + "/reject", salesToken, map[string]string{"reason": strings.Repeat("x", 1001)}, 400, "reason is longer than 1000 bytes"},
		{"revoke a pending request", "/api/v1/access/" + id + "/revoke", salesToken, map[string]string{"reason": "x"}, 409, fmt.Sprintf("agreement %s is PENDING: only an approved agreement can be revoked", id)},
		{"another domain rejects", "/api/v1/access/" + id + "/reject", marketingToken, map[string]string{"reason": "x"}, 403, "bob@marketing (domain-owner of domain marketing) may not reject access to products of domain sales"},
		{"unknown field", "/api/v1/access/" + id + "/approve", salesToken, map[string]string{"reasons": "x"}, 400, `malformed JSON body: json: unknown field "reasons"`},
		{"unknown token", "/api/v1/access/" + id + "/approve", "nope", nil, 401, "unknown bearer token"},
	}
	for _, tt := range decisions {
		t.Run(tt.name, func(t *testing.T) {
			a := w.postJSON(tt.path, tt.token, tt.body)
			if a.Status != tt.status || a.str("error", "message") != tt.want {
				t.Errorf("answer %d %q\nwant   %d %q", a.Status, a.str("error", "message"), tt.status, tt.want)
			}
		})
	}
	reads := []struct{ path, want string }{
		{"/api/v1/access?status=open", `status "open" is not PENDING, APPROVED, REJECTED, GRANTED, REVOKED or EXPIRED`},
		{"/api/v1/access?product=Sales", `"Sales" is not a product id (<domain>.<name>, both lowercase DNS labels)`},
		{"/api/v1/access?owner=x", `unknown query parameter "owner" (known: product, principal, status)`},
		{"/api/v1/access/" + id + "/oaas?format=xml", `format "xml" is not yaml or json`},
	}
	for _, r := range reads {
		if a := w.do(http.MethodGet, r.path, "", "", nil); a.Status != 400 || a.str("error", "message") != r.want {
			t.Errorf("GET %s: %d %q, want 400 %q", r.path, a.Status, a.str("error", "message"), r.want)
		}
	}

	if got := w.accessRecords(); got != base {
		t.Errorf("the access topic holds %d records after the refused requests, want %d", got, base)
	}
	if a := w.do(http.MethodGet, "/api/v1/access/"+id, "", "", nil); a.str("status") != "PENDING" {
		t.Errorf("the pending request after the refusals: %s", a.Raw)
	}
}

// TestAccessExpiry: a granted agreement past its end is expired by the
// writer (its ACLs deleted, EXPIRED published, audited), once: a restarted
// registrar, reading the log, does not expire it again.
func TestAccessExpiry(t *testing.T) {
	w := accessWorld(t)
	soon := func() string { return time.Now().UTC().Add(2 * time.Second).Format(time.RFC3339) }
	request := func(principal string) string {
		r := accessReq()
		r["product"], r["principal"], r["valid_until"] = "sales.stats", principal, soon()
		a := w.postJSON(registrar.RouteAccess, marketingToken, r)
		a.want(t, http.StatusCreated, "")
		if a.str("status") != "GRANTED" {
			t.Fatalf("request: %s", a.Raw)
		}
		return a.str("agreement_id")
	}
	expired := func(id string) answer {
		var a answer
		w.env.Eventually(func() bool {
			a = w.do(http.MethodGet, registrar.RouteAccess+"/"+id, "", "", nil)
			return a.str("status") == "EXPIRED"
		}, "agreement "+id+" expired")
		return a
	}
	first := request("User:dash-one")
	a := expired(first)
	if !strings.HasPrefix(a.str("reason"), "valid until ") || len(a.Body["bindings"].([]any)) != 3 {
		t.Errorf("expired agreement: %s", a.Raw)
	}
	w.restart()
	second := request("User:dash-two")
	expired(second)

	evs, _ := decodeAll[*events.AccessEvent](w, w.env.Topics.Access, int(w.accessRecords()))
	count := map[string]int{}
	for _, ev := range evs {
		if ev.Type == events.AccessExpired {
			count[ev.Agreement.AgreementID]++
			if ev.Actor != registrar.RegistrarActor || len(ev.Bindings) != 3 {
				t.Errorf("EXPIRED event %+v", ev)
			}
		}
	}
	if count[first] != 1 || count[second] != 1 || len(count) != 2 {
		t.Errorf("EXPIRED events per agreement %v, want one each for %s and %s", count, first, second)
	}
	a2 := w.findAudit(countAudits(w), func(a *events.AuditEvent) bool {
		return a.Action == "access.expire" && a.Details["agreement_id"] == first
	})
	if a2.Outcome != events.Allowed || a2.Actor != registrar.RegistrarActor || a2.Target != "sales.stats" {
		t.Errorf("expiry audit %+v", a2)
	}
}

// TestAccessThroughAnotherInstance: access writes sent to an instance that
// is not the writer are done by the writer; when the writer stops, the
// other instance takes over knowing every agreement from the log.
func TestAccessThroughAnotherInstance(t *testing.T) {
	w := accessWorld(t)
	other := w.spawn("")
	via := func(url, path, token string, body any) answer {
		t.Helper()
		saved := w.url
		w.url = url
		defer func() { w.url = saved }()
		return w.postJSON(path, token, body)
	}
	pending := via(other.url, registrar.RouteAccess, marketingToken, accessReq())
	pending.want(t, http.StatusCreated, "")
	id := pending.str("agreement_id")
	if pending.str("status") != "PENDING" {
		t.Fatalf("forwarded request: %s", pending.Raw)
	}
	via(other.url, registrar.RouteAccess+"/"+id+"/approve", salesToken, nil).want(t, http.StatusOK, "")

	w.stop() // the writer leaves; the other instance takes over
	w.env.Eventually(func() bool { return other.svc.IsWriter() }, "the other instance writes")
	twice := via(other.url, registrar.RouteAccess+"/"+id+"/approve", salesToken, nil)
	twice.want(t, http.StatusConflict, registrar.CodeConflict)
	evs, _ := decodeAll[*events.AccessEvent](w, w.env.Topics.Access, int(w.accessRecords()))
	var types []string
	for _, ev := range evs {
		types = append(types, string(ev.Type))
	}
	if got := strings.Join(types, " "); got != "REQUESTED APPROVED GRANTED" {
		t.Errorf("access events %s, want REQUESTED APPROVED GRANTED once", got)
	}
}

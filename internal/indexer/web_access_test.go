package indexer_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/internal/registrar/registrartest"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// noRedirect is a client that shows a redirect instead of following it.
var noRedirect = &http.Client{Timeout: client.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// postForm posts the access request form of product to the indexer at base
// and returns the status, the Location and the body with HTML entities
// decoded.
func postForm(t *testing.T, base, product string, form url.Values) (int, string, string) {
	t.Helper()
	resp, err := noRedirect.PostForm(base+"/products/"+product+"/access", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), html.UnescapeString(string(b))
}

// accessForm is a valid request of marketing for the orders port of
// storetest.Orders.
func accessForm(token string) url.Values {
	return url.Values{
		"port": {"orders"}, "consumer_type": {"application"}, "consumer_id": {"campaign-dashboard"},
		"principal": {"User:campaign-dashboard"}, "group_prefix": {"campaign-dashboard-"},
		"purpose": {"attribute orders to campaigns"}, "valid_until": {"2099-01-01"}, "token": {token},
	}
}

// TestAccessRequestForm files access requests through the product page's
// form: the indexer forwards them to the registrar with the form's token,
// shows the registrar's refusals on the page (the form kept as filled in),
// and redirects to the page, which lists the request pending; once the
// owner approves it through the registrar, the consumer is listed.
func TestAccessRequestForm(t *testing.T) {
	env := testkit.New(t)
	regURL, tokens := registrartest.Start(t, env, "sales", "marketing")
	pub := newPublisher(t, env)
	pub.publish(storetest.Mesh(nil)...)
	env.Eventually(func() bool {
		resp, err := http.Get(regURL + "/api/v1/products/" + storetest.Orders)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "the registrar knows "+storetest.Orders)
	ix, _ := start(t, env, dbPath(t), false, func(o *indexer.Options) { o.Registrar = regURL })
	base := ix.URL()
	pub.waitIndexed(base)

	for _, c := range []struct {
		name string
		edit func(url.Values)
		code int
		want string
	}{
		{"no token", func(f url.Values) { f.Del("token") }, 400, "token: the registrar needs your bearer token to file a request (the one meshctl takes as --token)"},
		{"unknown token", func(f url.Values) { f.Set("token", "not-a-token") }, 401, "unknown bearer token"},
		{"wildcard principal", func(f url.Values) { f.Set("principal", "User:*") }, 400, `principal "User:*" holds a wildcard: an agreement names one Kafka principal`},
		{"unknown port", func(f url.Values) { f["port"] = []string{"nope"} }, 400, `product sales.customer-orders has no output port "nope" (its ports: orders)`},
		{"no port", func(f url.Values) { f.Del("port") }, 400, "ports: name at least one output port of sales.customer-orders"},
		{"end in the past", func(f url.Values) { f.Set("valid_until", "2001-01-01") }, 400, "valid_until 2001-01-01T00:00:00Z is in the past"},
	} {
		t.Run(c.name, func(t *testing.T) {
			form := accessForm(tokens["marketing"])
			c.edit(form)
			code, loc, body := postForm(t, base, storetest.Orders, form)
			if code != c.code || loc != "" {
				t.Errorf("HTTP %d, Location %q, want %d", code, loc, c.code)
			}
			errBox := regexp.MustCompile(`(?s)<div class="form-error" id="access-error" role="alert">(.*?)</div>`).FindStringSubmatch(body)
			if errBox == nil || !strings.Contains(errBox[1], c.want) {
				t.Errorf("the page shows error %q, want %q", errBox, c.want)
			}
			if !strings.Contains(body, `name="consumer_id" value="campaign-dashboard"`) || !strings.Contains(body, `name="purpose" rows="2" placeholder="what the data will be used for">attribute orders to campaigns</textarea>`) {
				t.Error("the form lost what was filled in")
			}
			if strings.Contains(body, tokens["marketing"]) {
				t.Error("the page shows the token")
			}
		})
	}
	if acc, err := ix.Store().Access(context.Background(), storetest.Orders); err != nil || len(acc.Agreements()) != 0 {
		t.Fatalf("after refused requests the view holds %v %+v", err, acc)
	}

	code, loc, _ := postForm(t, base, storetest.Orders, accessForm(tokens["marketing"]))
	m := regexp.MustCompile(`^/products/sales\.customer-orders\?requested=([0-9a-f-]{36})#access$`).FindStringSubmatch(loc)
	if code != http.StatusSeeOther || m == nil {
		t.Fatalf("filed: HTTP %d, Location %q", code, loc)
	}
	id := m[1]
	code, page := get(t, base+loc)
	text := html.UnescapeString(string(page))
	if code != 200 || !strings.Contains(text, "Access request <span class=\"mono\">"+id+"</span> filed:\n      it waits for the owning domain to approve it.") ||
		!strings.Contains(text, `<tr class="pending-request" data-agreement="`+id+`">`) {
		t.Errorf("the page after filing (HTTP %d) lacks the flash or the pending request %s", code, id)
	}

	if _, err := (&registrar.Client{URL: regURL, Token: tokens["sales"]}).ApproveAccess(context.Background(), id, ""); err != nil {
		t.Fatal(err)
	}
	env.Eventually(func() bool {
		acc, err := ix.Store().Access(context.Background(), storetest.Orders)
		return err == nil && len(acc.Ports[0].Consumers) == 1 && acc.Ports[0].Consumers[0].AgreementID == id &&
			(acc.Ports[0].Consumers[0].Status == events.AgreementGranted || acc.Ports[0].Consumers[0].Status == events.AgreementApproved)
	}, "the approved agreement listed as a consumer")
	_, page = get(t, base+"/products/"+storetest.Orders)
	if text := string(page); !strings.Contains(text, `<tr class="consumer" data-agreement="`+id+`">`) || strings.Contains(text, `class="pending-request"`) {
		t.Errorf("the page after approval does not list %s as a consumer only", id)
	}
}

// TestAccessRequestFormWithoutRegistrar: without -registrar the page has no
// form and filing one is refused; a retired product offers no way to ask;
// a registrar that does not answer is a 502 that says so.
func TestAccessRequestFormWithoutRegistrar(t *testing.T) {
	env := testkit.New(t)
	pub := newPublisher(t, env)
	pub.publish(storetest.Mesh(nil)...)
	none, _ := start(t, env, dbPath(t), false)
	dead, _ := start(t, env, dbPath(t), false, func(o *indexer.Options) { o.Registrar = "http://127.0.0.1:1" })
	pub.waitIndexed(none.URL())
	pub.waitIndexed(dead.URL())

	_, page := get(t, none.URL()+"/products/"+storetest.Orders)
	if text := string(page); strings.Contains(text, `id="access-form"`) || !strings.Contains(text, "meshctl access request "+storetest.Orders) {
		t.Error("without a registrar the page shows the form, or not the meshctl command")
	}
	code, _, body := postForm(t, none.URL(), storetest.Orders, accessForm("t"))
	if code != 404 || !strings.Contains(body, "this marketplace files no access requests: the indexer runs without -registrar; use meshctl access request") {
		t.Errorf("filing without a registrar: HTTP %d", code)
	}
	_, page = get(t, none.URL()+"/products/"+storetest.OldLeads)
	if text := string(page); !strings.Contains(text, "This product is retired: it takes no new consumers.") || strings.Contains(text, "meshctl access request") {
		t.Error("a retired product's page offers to ask for access")
	}
	code, _, body = postForm(t, dead.URL(), storetest.Orders, accessForm("t"))
	if code != http.StatusBadGateway || !strings.Contains(body, "the registrar does not answer; try again later") {
		t.Errorf("filing with a dead registrar: HTTP %d", code)
	}
	code, _, _ = postForm(t, dead.URL(), "sales.nothing", accessForm("t"))
	if code != 404 {
		t.Errorf("filing for an unknown product: HTTP %d, want 404", code)
	}
}

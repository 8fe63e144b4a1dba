package uitest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/internal/registrar/registrartest"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/internal/testkit"
)

// TestAccessInBrowser asks for access to the customer-orders product
// through the product page's form, as a user types it: a wildcard
// principal gets the registrar's refusal on the page with the form kept;
// a good request is listed pending; once the owning domain approves it
// through the registrar's API, the page lists the consumer; the notices
// the registrar sends when the product and its upstream are deprecated
// show on the page.
func TestAccessInBrowser(t *testing.T) {
	var (
		regURL string
		tokens map[string]string
	)
	base, ctx, problems := setUp(t, func(env *testkit.Env, o *indexer.Options) {
		regURL, tokens = registrartest.Start(t, env, "sales", "marketing", "product")
		o.Registrar = regURL
	})
	testkit.Eventually(t, func() bool {
		resp, err := http.Get(regURL + "/api/v1/products/" + storetest.Orders)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "the registrar knows "+storetest.Orders)

	page := base + "/products/" + storetest.Orders
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("access-form"))); err != nil {
		t.Fatalf("product page: %v", err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#access tr.consumer, #access tr.pending-request').length`)); err != nil || n != 0 {
		t.Fatalf("before any request the page lists %d agreements (%v)", n, err)
	}
	// fill types the request into the form and files it; it returns the
	// status of the page the browser shows then.
	fill := func(principal string) int64 {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx,
			chromedp.Click(chromedp.CSS(`#access-form input[name="port"][value="orders"]`)),
			chromedp.SetValue(chromedp.CSS(`#access-form select[name="consumer_type"]`), "application"),
			chromedp.SendKeys(chromedp.CSS(`#access-form input[name="consumer_id"]`), "campaign-dashboard"),
			chromedp.SendKeys(chromedp.CSS(`#access-form input[name="principal"]`), principal),
			chromedp.SendKeys(chromedp.CSS(`#access-form input[name="group_prefix"]`), "campaign-dashboard-"),
			chromedp.SendKeys(chromedp.CSS(`#access-form textarea[name="purpose"]`), "attribute orders to campaigns"),
			chromedp.SetValue(chromedp.CSS(`#access-form input[name="valid_until"]`), "2099-01-01"),
			chromedp.SendKeys(chromedp.CSS(`#access-form input[name="token"]`), tokens["marketing"]),
			chromedp.Click(chromedp.ID("access-submit")),
		)
		if err != nil {
			t.Fatalf("file the form: %v", err)
		}
		return resp.Status
	}

	// A wildcard principal: the registrar's 400, its message on the page,
	// the form as filled in but for the token.
	if status := fill("User:*"); status != http.StatusBadRequest {
		t.Errorf("a wildcard principal answered HTTP %d, want 400", status)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("access-error")))
	if want := `principal "User:*" holds a wildcard: an agreement names one Kafka principal`; err != nil || msg != want {
		t.Errorf("the page shows %q (%v), want the registrar's %q", msg, err, want)
	}
	kept, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`["consumer_id", "principal", "token"].map(n => document.querySelector('#access-form [name="' + n + '"]').value)`))
	if err != nil || fmt.Sprint(kept) != "[campaign-dashboard User:* ]" {
		t.Errorf("after the refusal the form holds %q (%v), want what was typed but the token", kept, err)
	}
	screenshot(t, ctx, "marketplace-access-refused.png")

	// The same request with a good principal is filed and listed pending.
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("access-form"))); err != nil {
		t.Fatal(err)
	}
	if status := fill("User:campaign-dashboard"); status != http.StatusOK {
		t.Errorf("filing answered HTTP %d, want the product page", status)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("access-flash")))
	if err != nil || !strings.HasSuffix(flash, "filed: it waits for the owning domain to approve it.") {
		t.Fatalf("flash %q (%v)", flash, err)
	}
	id, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#access tr.pending-request`), "data-agreement"))
	if err != nil || !id.Exists || !strings.Contains(flash, id.Value) {
		t.Fatalf("pending request %+v (%v), flash %q", id, err, flash)
	}
	pending, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#access tr.pending-request`)))
	if err != nil || !strings.Contains(pending, "User:campaign-dashboard") || !strings.Contains(pending, "meshctl access approve "+id.Value) {
		t.Errorf("pending request row %q (%v)", pending, err)
	}
	screenshot(t, ctx, "marketplace-access-pending.png")

	// The owning domain approves it through the registrar; the page lists
	// the consumer once the indexer has folded the approval.
	if _, err := (&registrar.Client{URL: regURL, Token: tokens["sales"]}).ApproveAccess(context.Background(), id.Value, ""); err != nil {
		t.Fatal(err)
	}
	consumer := fmt.Sprintf(`#access tr.consumer[data-agreement=%q]`, id.Value)
	testkit.Eventually(t, func() bool {
		if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
			return false
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+consumer+`').length`))
		return err == nil && n == 1
	}, "the approved consumer on the page")
	row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(consumer)))
	if err != nil || !strings.Contains(row, "campaign-dashboard") || !strings.Contains(row, "attribute orders to campaigns") || !strings.Contains(row, "2099-01-01") {
		t.Errorf("consumer row %q (%v)", row, err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#access tr.pending-request').length`)); err != nil || n != 0 {
		t.Errorf("after approval %d requests are still pending (%v)", n, err)
	}
	screenshot(t, ctx, "marketplace-access-consumer.png")

	// Notices: the owners deprecate the product, and the catalog's owners
	// theirs, through the registrar, which notifies the new consumer and
	// the catalog's downstream customer-orders; the page shows both.
	for _, d := range []struct{ domain, id string }{{"sales", storetest.Orders}, {"product", storetest.Catalog}} {
		if _, err := (&registrar.Client{URL: regURL, Token: tokens[d.domain]}).Deprecate(context.Background(), d.id,
			registrar.DeprecateRequest{Reason: "moving to a new stream", Sunset: "2099-06-30"}); err != nil {
			t.Fatalf("deprecate %s: %v", d.id, err)
		}
	}
	sent := fmt.Sprintf(`#notices tr.notice[data-recipient=%q]`, id.Value)
	testkit.Eventually(t, func() bool {
		if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
			return false
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+sent+`, #notices tr.notice-received').length`))
		return err == nil && n == 2
	}, "the notices on the page")
	row, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sent)))
	if err != nil || !strings.Contains(row, "deprecated") || !strings.Contains(row, "campaign-dashboard User:campaign-dashboard") || !strings.Contains(row, "moving to a new stream") {
		t.Errorf("notice row %q (%v)", row, err)
	}
	row, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#notices tr.notice-received`)))
	if err != nil || !strings.Contains(row, "deprecated") || !strings.Contains(row, storetest.Catalog) {
		t.Errorf("received notice row %q (%v)", row, err)
	}
	screenshot(t, ctx, "marketplace-notices.png")
	if p := problems(); len(p) > 0 {
		t.Errorf("the pages reported errors: %v", p)
	}
}

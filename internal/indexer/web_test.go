package indexer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/pkg/events"
)

func TestHumanDuration(t *testing.T) {
	for in, want := range map[string]string{
		"24h0m0s": "24h",
		"1d":      "24h",
		"2d12h":   "60h",
		"15m":     "15m",
		"15m0s":   "15m",
		"1h30m0s": "1h30m",
		"1h0m0s":  "1h",
		"90s":     "1m30s",
		"1h0m30s": "1h0m30s",
		"500ms":   "500ms",
		"10s":     "10s",
		"0s":      "0s",   // not an SLA: left as written
		"soon":    "soon", // not a duration: left as written
		"":        "",
	} {
		if got := humanDuration(in); got != want {
			t.Errorf("humanDuration(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestProductPageOwners: the product page's owners panel shows every
// ownership field of the descriptor, the escalation path in its order, and
// leaves out those not named.
func TestProductPageOwners(t *testing.T) {
	w, err := newWeb(nil)
	if err != nil {
		t.Fatal(err)
	}
	render := func(o *events.Ownership) string {
		t.Helper()
		p := &store.Product{OwnerTeam: "sales-data-team", Descriptor: events.DataProduct{ID: "sales.orders", Ownership: o}}
		p.ID, p.Name, p.Domain = "sales.orders", "orders", "sales"
		var buf bytes.Buffer
		if err := w.pages["product"].ExecuteTemplate(&buf, "layout", page{Title: "orders", Data: productView{Product: p}}); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	s := func(v string) *string { return &v }
	html := render(&events.Ownership{TechnicalOwner: s("alice@sales.example"), OnCall: s("#sales-oncall"),
		Developer: s("dev-team@sales.example"), Channel: s("slack:#sales-orders"), EscalationPath: []string{"alice@sales.example", "head-of-sales@sales.example"}})
	for _, want := range []string{
		"<dt>Team</dt><dd>sales-data-team</dd>",
		"<dt>Technical</dt><dd>alice@sales.example</dd>",
		"<dt>On call</dt><dd>#sales-oncall</dd>",
		"<dt>Developer</dt><dd>dev-team@sales.example</dd>",
		"<dt>Channel</dt><dd>slack:#sales-orders</dd>",
		`<dt>Escalation</dt><dd><ol class="escalation"><li>alice@sales.example</li><li>head-of-sales@sales.example</li></ol></dd>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, absent := range []string{"<dt>Business</dt>", "<dt>Steward</dt>"} {
		if strings.Contains(html, absent) {
			t.Errorf("page shows %s, which the descriptor does not name", absent)
		}
	}
	html = render(nil)
	for _, absent := range []string{"<dt>Developer</dt>", "<dt>Channel</dt>", "<dt>Escalation</dt>"} {
		if strings.Contains(html, absent) {
			t.Errorf("a product without ownership: page shows %s", absent)
		}
	}
}

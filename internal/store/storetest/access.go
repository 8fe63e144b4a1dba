package storetest

import (
	"fmt"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// Agreement returns an agreement of the application app (principal
// User:<app>, groups <app>-) on ports of productID, requested at at and
// valid for a year.
func Agreement(id, productID, app string, at time.Time, ports ...string) events.AccessAgreement {
	until := at.Add(365 * 24 * time.Hour)
	return events.AccessAgreement{
		AgreementID: id, ProductID: productID, Ports: ports,
		Consumer:  events.AccessConsumer{Type: events.ConsumerApplication, ID: app},
		Principal: "User:" + app, GroupPrefix: app + "-", Purpose: "reports of " + app,
		RequestedBy: app + "-owner", RequestedAt: at, ValidFrom: at, ValidUntil: &until,
	}
}

// Access returns the event typ about a, as the registrar publishes it:
// a decision names its decider, a grant lists the ACLs of a's ports (topic
// <product>.<port>.v1).
func Access(id string, typ events.AccessEventType, a events.AccessAgreement, at time.Time) *events.AccessEvent {
	ev := &events.AccessEvent{EventID: id, Type: typ, OccurredAt: at, Actor: a.RequestedBy, Agreement: a, Bindings: []events.AclBinding{}}
	switch typ {
	case events.AccessApproved, events.AccessRejected:
		owner := a.ProductID + "-owner"
		ev.Actor = owner
		ev.Agreement.DecidedBy, ev.Agreement.DecidedAt = &owner, &at
	case events.AccessGranted, events.AccessRevoked, events.AccessExpired:
		ev.Actor = "registrar"
		for _, p := range a.Ports {
			ev.Bindings = append(ev.Bindings, events.AclBinding{Principal: a.Principal, Host: "*", ResourceType: events.ACLTopic,
				ResourceName: a.ProductID + "." + p + ".v1", PatternType: events.ACLLiteral, Operation: events.ACLRead})
		}
	}
	if typ == events.AccessRejected || typ == events.AccessRevoked {
		ev.Reason = ptr("no longer needed")
	}
	return ev
}

// Agreement ids of AccessMesh.
const (
	AgreementDashboard = "ag-dashboard" // granted on Orders' orders port
	AgreementForecast  = "ag-forecast"  // pending on Orders' orders port
	AgreementArchive   = "ag-archive"   // granted on Orders' orders port, then revoked
	AgreementAudit     = "ag-audit"     // rejected on Orders' orders port
	AgreementShop      = "ag-shop"      // granted on Catalog's events port, then expired
	AgreementLedger    = "ag-ledger"    // approved (not granted) on Revenue's events port
	AgreementOldFeed   = "ag-old-feed"  // granted on a port Orders no longer has
)

// AccessMesh returns access events on the example mesh, after Mesh's:
// each agreement goes through the events its comment says, in order.
func AccessMesh() []events.Event {
	t := T0.Add(12 * time.Hour)
	at := func() time.Time { t = t.Add(time.Minute); return t }
	var out []events.Event
	life := func(id, product, app string, ports []string, types ...events.AccessEventType) {
		a := Agreement(id, product, app, at(), ports...)
		for i, typ := range types {
			ev := Access(fmt.Sprintf("%s-%d", id, i), typ, a, at())
			out = append(out, ev)
			a = ev.Agreement // a decision stays in the agreement's later events
		}
	}
	orders := []string{"orders"}
	life(AgreementDashboard, Orders, "orders-dashboard", orders, events.AccessRequested, events.AccessApproved, events.AccessGranted)
	life(AgreementForecast, Orders, "forecast-model", orders, events.AccessRequested)
	life(AgreementArchive, Orders, "archive", orders, events.AccessRequested, events.AccessApproved, events.AccessGranted, events.AccessRevoked)
	life(AgreementAudit, Orders, "audit-tool", orders, events.AccessRequested, events.AccessRejected)
	life(AgreementShop, Catalog, "shop-frontend", []string{"events"}, events.AccessRequested, events.AccessApproved, events.AccessGranted, events.AccessExpired)
	life(AgreementLedger, Revenue, "ledger", []string{"events"}, events.AccessRequested, events.AccessApproved)
	life(AgreementOldFeed, Orders, "old-feed", []string{"pos-feed"}, events.AccessRequested, events.AccessApproved, events.AccessGranted)
	return out
}

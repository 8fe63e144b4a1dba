package storetest

import (
	"strings"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// ToAgreement is the recipient of a notice to the consumer of a.
func ToAgreement(a events.AccessAgreement) events.NoticeRecipient {
	typ, id, principal := a.Consumer.Type, a.Consumer.ID, a.Principal
	return events.NoticeRecipient{Type: events.RecipientAgreement, ID: a.AgreementID, ConsumerType: &typ, ConsumerID: &id, Principal: &principal, Domain: a.Consumer.Domain}
}

// ToDownstream is the recipient of a notice to the downstream product id.
func ToDownstream(id string) events.NoticeRecipient {
	domain, _, _ := strings.Cut(id, ".")
	return events.NoticeRecipient{Type: events.RecipientDownstream, ID: id, ConsumerID: &id, Domain: &domain}
}

// Notice returns a notice of typ about version of productID to to, with its
// deterministic id; a MAJOR_VERSION notice is about port "orders" moving to
// version.
func Notice(typ events.NoticeType, productID, version string, to events.NoticeRecipient, at time.Time) *events.Notice {
	n := &events.Notice{Type: typ, ProductID: productID, ProductVersion: version, IssuedAt: at, Actor: "registrar", Recipient: to,
		Message: productID + " is " + strings.ToLower(strings.ReplaceAll(string(typ), "_", " ")) + "; see its page"}
	if typ == events.NoticeMajorVersion {
		old := "2.2.0"
		topic := productID + ".orders.v3"
		n.Port, n.OldVersion, n.NewVersion, n.Topic = ptr("orders"), &old, &version, &topic
	}
	n.NoticeID = events.NoticeID(n)
	return n
}

// NoticeMesh returns notices on the example mesh and its access events: a
// new major version of Orders to the consumer of AgreementDashboard and to
// Orders' downstream products (the one to the consumer issued twice, the
// second time later), and the deprecation of Catalog to Orders.
func NoticeMesh() []events.Event {
	at := T0.Add(24 * time.Hour)
	dash := Agreement(AgreementDashboard, Orders, "orders-dashboard", T0, "orders")
	major := func(to events.NoticeRecipient, at time.Time) *events.Notice {
		return Notice(events.NoticeMajorVersion, Orders, "3.0.0", to, at)
	}
	return []events.Event{
		major(ToAgreement(dash), at),
		major(ToDownstream(Revenue), at.Add(time.Second)),
		major(ToDownstream(Attribution), at.Add(2*time.Second)),
		Notice(events.NoticeDeprecated, Catalog, "1.0.0", ToDownstream(Orders), at.Add(time.Minute)),
		major(ToAgreement(dash), at.Add(time.Hour)), // the same notice again
	}
}

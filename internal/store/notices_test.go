package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/pkg/events"
)

// noticeIDs lists notices as "type product->recipient" strings.
func noticeIDs(ns []events.Notice) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, string(n.Type)+" "+n.ProductID+"->"+n.Recipient.ID)
	}
	return out
}

// TestNoticesFold folds notices once by their deterministic id (a notice
// issued again is the one held, with its first issue time) and lists them
// newest first, by product and by recipient (consumer id, principal,
// agreement id or downstream product id).
func TestNoticesFold(t *testing.T) {
	ctx := context.Background()
	s := meshStore(t)
	evs := storetest.NoticeMesh()
	st, err := s.Apply(ctx, store.Batch{Records: records(evs)})
	if err != nil {
		t.Fatal(err)
	}
	if st.Folded[events.KindNotice] != 4 || st.Duplicates != 1 {
		t.Errorf("folded %v, duplicates %d; want 4 notices and the one issued again a duplicate", st.Folded, st.Duplicates)
	}
	major := "MAJOR_VERSION " + storetest.Orders + "->"
	for _, c := range []struct {
		name string
		f    store.NoticeFilter
		want []string
	}{
		{"all", store.NoticeFilter{}, []string{"DEPRECATED " + storetest.Catalog + "->" + storetest.Orders, major + storetest.Attribution, major + storetest.Revenue, major + storetest.AgreementDashboard}},
		{"about orders", store.NoticeFilter{Product: storetest.Orders, Limit: 2}, []string{major + storetest.Attribution, major + storetest.Revenue}},
		{"consumer id", store.NoticeFilter{Consumer: "orders-dashboard"}, []string{major + storetest.AgreementDashboard}},
		{"principal", store.NoticeFilter{Consumer: "User:orders-dashboard"}, []string{major + storetest.AgreementDashboard}},
		{"agreement", store.NoticeFilter{Consumer: storetest.AgreementDashboard}, []string{major + storetest.AgreementDashboard}},
		{"downstream", store.NoticeFilter{Consumer: storetest.Revenue}, []string{major + storetest.Revenue}},
		{"downstream of another", store.NoticeFilter{Consumer: storetest.Revenue, Product: storetest.Catalog}, []string{}},
		{"nobody", store.NoticeFilter{Consumer: "User:nobody"}, []string{}},
	} {
		ns, err := s.Notices(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if got := noticeIDs(ns); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	ns, _ := s.Notices(ctx, store.NoticeFilter{Consumer: storetest.AgreementDashboard})
	if first := evs[0].(*events.Notice); len(ns) != 1 || !ns[0].IssuedAt.Equal(first.IssuedAt) || ns[0].NoticeID != first.NoticeID || *ns[0].Topic != storetest.Orders+".orders.v3" {
		t.Errorf("the notice issued twice reads %+v, want the first issue", ns)
	}

	p, err := s.Product(ctx, storetest.Orders)
	if err != nil {
		t.Fatal(err)
	}
	if got := noticeIDs(p.Notices); len(got) != 3 {
		t.Errorf("product notices %q, want the three about it", got)
	}
	if got := noticeIDs(p.NoticesReceived); !reflect.DeepEqual(got, []string{"DEPRECATED " + storetest.Catalog + "->" + storetest.Orders}) {
		t.Errorf("product notices received %q", got)
	}

	for _, limit := range []int{-1, store.MaxNotices + 1} {
		var pe *store.ParamError
		if _, err := s.Notices(ctx, store.NoticeFilter{Limit: limit}); !errors.As(err, &pe) || pe.Field != "limit" {
			t.Errorf("limit %d: %v", limit, err)
		}
	}
}

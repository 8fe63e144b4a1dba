package policy

import "testing"

func TestReadsUpstream(t *testing.T) {
	env, err := Env()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`upstream.all(u, u.known)`, true},
		{`size(upstream) > 0`, true},
		{`event.kind == "upstream"`, false}, // quality-slo tells lifecycle from quality so
		{`event.kind == "upstream" && event.upstream_id != ""`, true},
		{`event.upstream_change == "RETIRED"`, true},
		{`has(event.upstream_id)`, true},
		{`event.type == "DEPRECATED"`, false},
		{`product.security.encryption_at_rest`, false},
		{`size(product.inputs) > 0`, false},
		{`[1].exists(upstream, upstream > 0)`, true}, // a shadowing name still counts: safe side
	} {
		_, got, msg := compileExpr(env, tc.src, true)
		if msg != "" {
			t.Fatalf("%s: %s", tc.src, msg)
		}
		if got != tc.want {
			t.Errorf("readsUpstream(%s) = %v, want %v", tc.src, got, tc.want)
		}
	}
}

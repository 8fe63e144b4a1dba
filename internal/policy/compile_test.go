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
		if got.upstream != tc.want {
			t.Errorf("readsUpstream(%s) = %v, want %v", tc.src, got.upstream, tc.want)
		}
	}
}

func TestReadsRun(t *testing.T) {
	env, err := Env()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`quality.checks.all(c, c.passed)`, true},
		{`quality.origin == "OBSERVED"`, true},
		{`size(observations) == 0`, true},
		{`event.kind == "quality" && event.source_domain == event.product_domain`, false},
		{`now - event.watermark <= duration("1h")`, false},
		{`size(product.quality_slos) > 0`, false},
	} {
		_, got, msg := compileExpr(env, tc.src, true)
		if msg != "" {
			t.Fatalf("%s: %s", tc.src, msg)
		}
		if got.run != tc.want {
			t.Errorf("readsRun(%s) = %v, want %v", tc.src, got.run, tc.want)
		}
	}
}

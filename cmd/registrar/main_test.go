package main

import "testing"

func TestRunRefusesBadConfiguration(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"-h"}, 0},
		{[]string{"-no-such-flag"}, 2},
		{[]string{"-replication-factor", "70000", "-token-file", "x"}, 2},
		{[]string{"-partitions", "3000000000", "-token-file", "x"}, 2},
		{[]string{"-partitions", "three", "-token-file", "x"}, 2},
		{[]string{"-log-level", "loud", "-token-file", "x"}, 2},
		{[]string{}, 1}, // no token file
		{[]string{"-token-file", "x", "-partitions", "0"}, 1},
		{[]string{"-token-file", "x", "-replication-factor", "1", "-min-insync-replicas", "2"}, 1},
		{[]string{"-token-file", "testdata/missing.yaml", "-listen", "127.0.0.1:0"}, 1},
		{[]string{"-token-file", "x", "-kafka-sasl-mechanism", "GSSAPI", "-kafka-sasl-user", "u"}, 1},
		{[]string{"-token-file", "../../internal/registrar/testdata/tokens/good.yaml", "-listen", "127.0.0.1:0", "-policies", "testdata/no-policies"}, 1},
	} {
		if got := run(c.args); got != c.want {
			t.Errorf("run(%q) = %d, want %d", c.args, got, c.want)
		}
	}
}

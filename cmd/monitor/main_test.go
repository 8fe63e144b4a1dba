package main

import "testing"

func TestRunRefusesBadConfiguration(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"-h"}, 0},
		{[]string{"-no-such-flag"}, 2},
		{[]string{"-max-batch", "many"}, 2},
		{[]string{"-log-level", "loud"}, 2},
		{[]string{"-max-batch", "0", "-listen", "127.0.0.1:0"}, 1},
		{[]string{"-allowed-lateness", "-1s", "-listen", "127.0.0.1:0"}, 1},
		{[]string{"-txn-timeout", "10ms", "-listen", "127.0.0.1:0"}, 1},
		{[]string{"-kafka-brokers", "", "-listen", "127.0.0.1:0"}, 1},
		{[]string{"-replication-factor", "70000"}, 2},
		{[]string{"-partitions", "0", "-listen", "127.0.0.1:0"}, 1},
	} {
		if got := run(c.args); got != c.want {
			t.Errorf("run(%q) = %d, want %d", c.args, got, c.want)
		}
	}
}

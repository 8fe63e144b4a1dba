package main

import "testing"

func TestRunRefusesBadConfiguration(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"-h"}, 0},
		{[]string{"-no-such-flag"}, 2},
		{[]string{"-max-wait", "soon"}, 2},
		{[]string{"-log-level", "loud"}, 2},
		{[]string{"-max-batch", "-1"}, 1},
		{[]string{"-discover-interval", "10ms"}, 1},
		{[]string{"-registry-url", ""}, 1},
	} {
		if got := run(c.args); got != c.want {
			t.Errorf("run(%q) = %d, want %d", c.args, got, c.want)
		}
	}
}

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
	} {
		if got := run(c.args); got != c.want {
			t.Errorf("run(%q) = %d, want %d", c.args, got, c.want)
		}
	}
}

func TestSizedInt(t *testing.T) {
	var p16 int16
	var p32 int32
	for _, c := range []struct {
		v    sizedInt[int16]
		in   string
		want string // the error, or "" for none
	}{
		{sizedInt[int16]{&p16}, "32767", ""},
		{sizedInt[int16]{&p16}, "32768", "value out of range"},
		{sizedInt[int16]{&p16}, "-32769", "value out of range"},
		{sizedInt[int16]{&p16}, "1e3", "parse error"},
	} {
		err := c.v.Set(c.in)
		if got := errText(err); got != c.want {
			t.Errorf("Set(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if p16 != 32767 {
		t.Errorf("int16 flag = %d after the failed sets, want the last good value 32767", p16)
	}
	v32 := sizedInt[int32]{&p32}
	if err := v32.Set("2147483647"); err != nil || p32 != 2147483647 || v32.String() != "2147483647" {
		t.Errorf("int32 flag: %v, %d, %q", err, p32, v32.String())
	}
	if err := v32.Set("2147483648"); errText(err) != "value out of range" {
		t.Errorf("int32 flag past its range: %v", err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

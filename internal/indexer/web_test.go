package indexer

import "testing"

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

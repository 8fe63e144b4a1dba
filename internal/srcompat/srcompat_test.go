package srcompat_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/meshbone/meshbone/internal/srcompat"
)

func avroRecord(fields ...string) sr.Schema {
	return sr.Schema{Type: sr.TypeAvro, Schema: fmt.Sprintf(`{"type": "record", "name": "R", "fields": [%s]}`, strings.Join(fields, ", "))}
}

var (
	id       = `{"name": "id", "type": "string"}`
	amount   = `{"name": "amount", "type": "int"}`
	optional = `{"name": "note", "type": ["null", "string"], "default": null}`
)

// TestCheck: srfake with the check answers as a registry does, level by
// level; without it, srfake calls everything compatible.
func TestCheck(t *testing.T) {
	ctx := sr.WithParams(context.Background(), sr.Verbose)
	for _, c := range []struct {
		name     string
		level    sr.CompatibilityLevel
		versions []sr.Schema // registered, oldest first
		version  int         // -1 latest, -2 every version
		next     sr.Schema
		want     bool
		message  string // the first message's prefix
	}{
		{"optional field added", sr.CompatBackward, []sr.Schema{avroRecord(id)}, -1, avroRecord(id, optional), true, ""},
		{"field added without a default", sr.CompatBackward, []sr.Schema{avroRecord(id)}, -1, avroRecord(id, amount), false,
			"BACKWARD against version 1: the new schema cannot read its data: "},
		{"field removed under BACKWARD", sr.CompatBackward, []sr.Schema{avroRecord(id, amount)}, -1, avroRecord(id), true, ""},
		{"field removed under FORWARD", sr.CompatForward, []sr.Schema{avroRecord(id, amount)}, -1, avroRecord(id), false,
			"FORWARD against version 1: it cannot read the new schema's data: "},
		{"field removed under FULL", sr.CompatFull, []sr.Schema{avroRecord(id, amount)}, -1, avroRecord(id), false, "FORWARD against version 1"},
		{"anything under NONE", sr.CompatNone, []sr.Schema{avroRecord(id, amount)}, -1, avroRecord(`{"name": "id", "type": "int"}`), true, ""},
		// v1 {id}, v2 {id, amount with a default}: {id, amount} reads v2's
		// data but not v1's.
		{"transitive, every version", sr.CompatBackwardTransitive, []sr.Schema{avroRecord(id), avroRecord(id, `{"name": "amount", "type": "int", "default": 0}`)}, -2,
			avroRecord(id, amount), false, "BACKWARD against version 1"},
		{"not transitive, the latest", sr.CompatBackward, []sr.Schema{avroRecord(id), avroRecord(id, `{"name": "amount", "type": "int", "default": 0}`)}, -2,
			avroRecord(id, amount), true, ""},
		{"transitive, one version asked", sr.CompatBackwardTransitive, []sr.Schema{avroRecord(id), avroRecord(id, `{"name": "amount", "type": "int", "default": 0}`)}, 2,
			avroRecord(id, amount), true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := srfake.New()
			defer reg.Close()
			srcompat.Install(reg)
			cl, err := sr.NewClient(sr.URLs(reg.URL()))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.versions {
				if _, err := cl.CreateSchema(ctx, "s-value", s); err != nil {
					t.Fatal(err)
				}
			}
			if r := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: c.level}, "s-value"); r[0].Err != nil {
				t.Fatal(r[0].Err)
			}
			res, err := cl.CheckCompatibility(ctx, "s-value", c.version, c.next)
			if err != nil {
				t.Fatal(err)
			}
			if res.Is != c.want {
				t.Fatalf("is_compatible %v, want %v (%q)", res.Is, c.want, res.Messages)
			}
			if c.message == "" && len(res.Messages) != 0 || c.message != "" && (len(res.Messages) == 0 || !strings.HasPrefix(res.Messages[0], c.message)) {
				t.Errorf("messages %q, want one starting %q", res.Messages, c.message)
			}
			// Without verbose, no reasons.
			plain, err := cl.CheckCompatibility(context.Background(), "s-value", c.version, c.next)
			if err != nil || plain.Is != c.want || len(plain.Messages) != 0 {
				t.Errorf("without verbose: %+v, %v", plain, err)
			}
		})
	}
}

// TestLeftToSrfake: a subject without versions, a version that does not
// exist and an invalid schema are srfake's to answer, as before; srfake
// alone calls an incompatible schema compatible.
func TestLeftToSrfake(t *testing.T) {
	bare := srfake.New()
	defer bare.Close()
	bcl, err := sr.NewClient(sr.URLs(bare.URL()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bcl.CreateSchema(context.Background(), "s-value", avroRecord(id)); err != nil {
		t.Fatal(err)
	}
	if res, err := bcl.CheckCompatibility(context.Background(), "s-value", -1, avroRecord(id, amount)); err != nil || !res.Is {
		t.Errorf("srfake alone: %+v, %v; if it checks now, srcompat may go", res, err)
	}

	reg := srfake.New()
	defer reg.Close()
	srcompat.Install(reg)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if res, err := cl.CheckCompatibility(ctx, "none-value", -1, avroRecord(id)); err != nil || !res.Is {
		t.Errorf("a subject without versions: %+v, %v", res, err)
	}
	if _, err := cl.CreateSchema(ctx, "s-value", avroRecord(id)); err != nil {
		t.Fatal(err)
	}
	if res, err := cl.CheckCompatibility(ctx, "s-value", 7, avroRecord(id, amount)); err != nil || !res.Is {
		t.Errorf("a version that does not exist: %+v, %v (srfake's stub says compatible)", res, err)
	}
	if _, err := cl.CheckCompatibility(ctx, "s-value", -1, sr.Schema{Type: sr.TypeAvro, Schema: `{"type": "record"`}); err == nil {
		t.Error("an invalid schema passed the check")
	}
}

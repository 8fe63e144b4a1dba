package events

import (
	"bytes"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/meshbone/meshbone/schemas"
)

// Each kind's body encoder, hand-written (from handEncoders) or hamba's,
// writes what hamba/avro writes for the kind's contract (a hand-written one
// with array and map blocks as a plain count, see
// TestQualityEncoderMatchesHamba): the table gives each kind the encoder of
// its own contract. (Each hand-written encoder is checked on varied events
// by its own test.)
func TestHandEncodersTable(t *testing.T) {
	plainBlocks := avro.Config{DisableBlockSizeHeader: true}.Freeze()
	hand := 0
	for _, ev := range sampleEvents() {
		k := ev.Kind()
		s := schemas.MustParse(k.schemaName())
		hamba := avro.DefaultConfig
		if handEncoders[k] != nil {
			hamba = plainBlocks
			hand++
		}
		want, err := hamba.Marshal(s, ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := bodyEncoder(k, s)([]byte("prefix"), ev)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want) {
			t.Errorf("%s: body encoder wrote % x, want % x after the prefix", k, got, want)
		}
	}
	if hand != 3 {
		t.Errorf("%d of the sample events went through a hand-written encoder, want 3 (quality, violation, compliance)", hand)
	}
}

package events

import (
	"encoding/binary"
	"sync"

	"github.com/hamba/avro/v2"
)

// An event's Avro body is written by hamba/avro, by reflection over the
// contract, unless its kind has an encoder of its own in handEncoders: the
// kinds published most (quality runs by every domain pipeline, the
// governor's violations and compliance), written field by field in
// quality_encode.go and violation_encode.go. Each hand-written encoder is
// checked byte for byte against hamba by its own test, and
// TestHandEncodersTable checks that the table gives each kind the encoder
// of its contract.

// handEncoders maps each kind that has a hand-written encoder to it.
var handEncoders = [KindNotice + 1]func([]byte, Event) ([]byte, error){
	KindQuality:    func(b []byte, ev Event) ([]byte, error) { return appendQuality(b, ev.(*QualityEvent)) },
	KindViolation:  func(b []byte, ev Event) ([]byte, error) { return appendViolation(b, ev.(*PolicyViolation)) },
	KindCompliance: func(b []byte, ev Event) ([]byte, error) { return appendCompliance(b, ev.(*ComplianceStatus)) },
}

// bodyEncoder returns what appends the Avro body of an event of kind k: its
// hand-written encoder, or hamba/avro with the contract s.
func bodyEncoder(k Kind, s avro.Schema) func([]byte, Event) ([]byte, error) {
	if enc := handEncoders[k]; enc != nil {
		return enc
	}
	return func(b []byte, ev Event) ([]byte, error) { return appendAvro(b, s, ev) }
}

// writers pools Avro writers so encoding appends straight into the record
// value without an intermediate copy.
var writers = sync.Pool{New: func() any { return avro.NewWriter(nil, 512) }}

// appendAvro appends the Avro encoding of v with schema s, by hamba/avro.
func appendAvro(b []byte, s avro.Schema, v any) ([]byte, error) {
	w := writers.Get().(*avro.Writer)
	defer writers.Put(w)
	w.Reset(nil)
	w.Error = nil
	w.WriteVal(s, v)
	if w.Error != nil {
		return nil, w.Error
	}
	return append(b, w.Buffer()...), nil
}

// The Avro primitives the hand-written encoders share.

// appendLong appends an Avro int or long: zig-zag, then a varint.
func appendLong(b []byte, v int64) []byte {
	return binary.AppendUvarint(b, uint64((v<<1)^(v>>63)))
}

// appendString appends an Avro string: its length as a long, then the bytes.
func appendString(b []byte, s string) []byte {
	return append(appendLong(b, int64(len(s))), s...)
}

// appendEnum appends the position of v among symbols.
func appendEnum(b []byte, v string, symbols []string) ([]byte, bool) {
	for i, s := range symbols {
		if s == v {
			return appendLong(b, int64(i)), true
		}
	}
	return b, false
}

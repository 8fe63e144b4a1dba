package events

import (
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// CloudEvents Kafka binary-mode header keys, set on every mesh record.
const (
	HeaderSpecVersion = "ce_specversion"
	HeaderID          = "ce_id"
	HeaderSource      = "ce_source"
	HeaderType        = "ce_type"
	HeaderTime        = "ce_time"
	HeaderSubject     = "ce_subject"
	HeaderContentType = "content-type"
)

// Dead-letter header keys, set on records the DLQ receives.
const (
	HeaderDLQError     = "dlq_error"       // the error text
	HeaderDLQClass     = "dlq_error_class" // one of the ErrorClass values
	HeaderDLQTopic     = "dlq_topic"       // original topic
	HeaderDLQPartition = "dlq_partition"   // original partition
	HeaderDLQOffset    = "dlq_offset"      // original offset
	HeaderDLQGroup     = "dlq_group"       // consumer group that gave up
	HeaderDLQTime      = "dlq_time"        // when it gave up, RFC 3339
)

// Values of the constant CloudEvents headers.
const (
	SpecVersion     = "1.0"
	ContentTypeAvro = "application/avro"
)

// SetHeader sets key to value on r, replacing any earlier value of key.
func SetHeader(r *kgo.Record, key, value string) {
	for i := range r.Headers {
		if r.Headers[i].Key == key {
			r.Headers[i].Value = []byte(value)
			return
		}
	}
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: key, Value: []byte(value)})
}

// GetHeader returns the value of key on r and whether it was there.
func GetHeader(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// CloudEvent is the CloudEvents context of a record, read from its headers.
type CloudEvent struct {
	SpecVersion string
	ID          string
	Source      string
	Type        string
	Time        time.Time // zero when absent or unparsable
	Subject     string
	ContentType string
}

// CloudEventOf reads the CloudEvents headers of r.
func CloudEventOf(r *kgo.Record) CloudEvent {
	var ce CloudEvent
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderSpecVersion:
			ce.SpecVersion = constant(h.Value, SpecVersion)
		case HeaderID:
			ce.ID = string(h.Value)
		case HeaderSource:
			ce.Source = string(h.Value)
		case HeaderType:
			ce.Type = string(h.Value)
		case HeaderTime:
			ce.Time, _ = time.Parse(time.RFC3339Nano, string(h.Value))
		case HeaderSubject:
			ce.Subject = string(h.Value)
		case HeaderContentType:
			ce.ContentType = constant(h.Value, ContentTypeAvro)
		}
	}
	return ce
}

// constant returns c when v spells it (no string made), else v as a string.
func constant(v []byte, c string) string {
	if string(v) == c {
		return c
	}
	return string(v)
}

// domainSourcePrefix starts the CloudEvents source of a domain's events.
const domainSourcePrefix = "/domains/"

// DomainSource is the CloudEvents source of events a domain emits.
func DomainSource(domain string) string { return domainSourcePrefix + domain }

// SourceDomain returns the domain of a "/domains/<domain>" source.
func SourceDomain(source string) (string, bool) {
	d, ok := strings.CutPrefix(source, domainSourcePrefix)
	if !ok || d == "" || strings.Contains(d, "/") {
		return "", false
	}
	return d, true
}

// Header values shared by every record (never modified).
var (
	specVersionValue = []byte(SpecVersion)
	contentTypeValue = []byte(ContentTypeAvro)
)

// recordBuf is what encoding an event builds: the record, its CloudEvents
// headers, and one buffer holding the key, the per-event header values and
// the value. The Publisher reuses them (its slots); Codec.Encode hands a
// fresh one to its caller.
type recordBuf struct {
	r   kgo.Record
	h   [7]kgo.RecordHeader
	buf []byte
}

// fill builds the record of ev into rb, reusing rb's buffer: topic, key =
// ev.Key(), CloudEvents headers (source "/domains/<domain of ev>" when source
// is empty), and the value that enc appends. Every field of the record is
// reset, so a record franz-go has already stamped can be filled again.
func (rb *recordBuf) fill(ev Event, topic, source string, enc *encoder) error {
	ceType, key := ev.CEType(), ev.Key()
	if rb.buf == nil {
		rb.buf = make([]byte, 0, 3*len(key)+len(source)+len(ceType)+2*len(time.RFC3339Nano)+int(enc.sizeHint.Load()))
	}
	buf := rb.buf[:0]
	// Offsets, not slices, until the buffer stops growing.
	var at [7]int
	buf = append(buf, key...)
	at[0] = len(buf)
	if a, ok := ev.(interface{ appendID([]byte) []byte }); ok {
		buf = a.appendID(buf)
	} else {
		buf = append(buf, ev.ID()...)
	}
	at[1] = len(buf)
	if source == "" {
		buf = append(buf, domainSourcePrefix...) // DomainSource, without a string per event
		buf = append(buf, domainOf(ev)...)
	} else {
		buf = append(buf, source...)
	}
	at[2] = len(buf)
	buf = append(buf, ceType...)
	at[3] = len(buf)
	buf = appendTime(buf, ev.Time())
	at[4] = len(buf)
	buf = append(buf, key...)
	at[5] = len(buf)
	buf, err := enc.append(buf, ev)
	if err != nil {
		return err
	}
	at[6] = len(buf)
	rb.buf = buf
	if n := int64(at[6] - at[5]); n > enc.sizeHint.Load() {
		enc.sizeHint.Store(n + n/4) // room to grow without reallocating next time
	}
	cut := func(i int) []byte {
		from := 0
		if i > 0 {
			from = at[i-1]
		}
		return buf[from:at[i]:at[i]]
	}
	rb.h = [7]kgo.RecordHeader{
		{Key: HeaderSpecVersion, Value: specVersionValue},
		{Key: HeaderID, Value: cut(1)},
		{Key: HeaderSource, Value: cut(2)},
		{Key: HeaderType, Value: cut(3)},
		{Key: HeaderTime, Value: cut(4)},
		{Key: HeaderSubject, Value: cut(5)},
		{Key: HeaderContentType, Value: contentTypeValue},
	}
	rb.r = kgo.Record{Topic: topic, Key: cut(0), Value: cut(6), Headers: rb.h[:]}
	return nil
}

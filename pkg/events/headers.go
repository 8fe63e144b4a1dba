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
		v := string(h.Value)
		switch h.Key {
		case HeaderSpecVersion:
			ce.SpecVersion = v
		case HeaderID:
			ce.ID = v
		case HeaderSource:
			ce.Source = v
		case HeaderType:
			ce.Type = v
		case HeaderTime:
			ce.Time, _ = time.Parse(time.RFC3339Nano, v)
		case HeaderSubject:
			ce.Subject = v
		case HeaderContentType:
			ce.ContentType = v
		}
	}
	return ce
}

// DomainSource is the CloudEvents source of events a domain emits.
func DomainSource(domain string) string { return "/domains/" + domain }

// SourceDomain returns the domain of a "/domains/<domain>" source.
func SourceDomain(source string) (string, bool) {
	d, ok := strings.CutPrefix(source, "/domains/")
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

// newRecord builds the record of ev: key, CloudEvents headers and the value
// that encode appends. It runs for every published event, so the record and
// its headers share one allocation, and the key, the per-event header values
// and the value share another.
func newRecord(ev Event, topic, source string, valueHint int, encode func([]byte) ([]byte, error)) (*kgo.Record, error) {
	id, ceType, key := ev.ID(), ev.CEType(), ev.Key()
	buf := make([]byte, 0, 2*len(key)+len(id)+len(source)+len(ceType)+len(time.RFC3339Nano)+valueHint)
	cut := func(from int) []byte { return buf[from:len(buf):len(buf)] }
	buf = append(buf, key...)
	keyv := cut(0)
	n := len(buf)
	buf = append(buf, id...)
	idv := cut(n)
	n = len(buf)
	buf = append(buf, source...)
	srcv := cut(n)
	n = len(buf)
	buf = append(buf, ceType...)
	typev := cut(n)
	n = len(buf)
	buf = appendTime(buf, ev.Time())
	timev := cut(n)
	n = len(buf)
	buf = append(buf, key...)
	subjv := cut(n)
	n = len(buf)
	buf, err := encode(buf)
	if err != nil {
		return nil, err
	}
	rh := &struct {
		r kgo.Record
		h [7]kgo.RecordHeader
	}{}
	rh.h = [7]kgo.RecordHeader{
		{Key: HeaderSpecVersion, Value: specVersionValue},
		{Key: HeaderID, Value: idv},
		{Key: HeaderSource, Value: srcv},
		{Key: HeaderType, Value: typev},
		{Key: HeaderTime, Value: timev},
		{Key: HeaderSubject, Value: subjv},
		{Key: HeaderContentType, Value: contentTypeValue},
	}
	rh.r = kgo.Record{Topic: topic, Key: keyv, Value: buf[n:len(buf):len(buf)], Headers: rh.h[:]}
	return &rh.r, nil
}

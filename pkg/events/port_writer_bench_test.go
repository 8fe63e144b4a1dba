package events

import (
	"strconv"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
)

type benchPortOrder struct {
	OrderID    string    `avro:"order_id"`
	CustomerID string    `avro:"customer_id"`
	Amount     float64   `avro:"amount"`
	Currency   string    `avro:"currency"`
	PlacedAt   time.Time `avro:"placed_at"`
	Coupon     *string   `avro:"coupon"`
}

// BenchmarkPortRecord compares what a PortWriter does to build a record
// (encode, two rules, headers) with what a program without the SDK does to
// build the same bytes (hamba's Marshal, a record and its headers per send).
func BenchmarkPortRecord(b *testing.B) {
	schema := avro.MustParse(`{"type": "record", "name": "Order", "fields": [
	  {"name": "order_id", "type": "string"}, {"name": "customer_id", "type": "string"},
	  {"name": "amount", "type": "double"}, {"name": "currency", "type": "string"},
	  {"name": "placed_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
	  {"name": "coupon", "type": ["null", "string"], "default": null}]}`)
	env, err := NewRuleEnv(schema)
	if err != nil {
		b.Fatal(err)
	}
	w := &PortWriter{topic: "t", dlqTopic: "t.dlq", schema: schema, source: []byte("/domains/bench"), subject: []byte("bench.orders"),
		run: []byte("bench"), idPrefix: []byte("0123456789abcdef-"), log: nopLogger{}}
	for _, r := range []ContractRule{{Name: "a", Rule: "amount > 0", OnFailure: RuleReject}, {Name: "c", Rule: "currency.size() == 3", OnFailure: RuleDLQ}} {
		cr, err := env.Compile(r.Rule)
		if err != nil {
			b.Fatal(err)
		}
		w.rules = append(w.rules, portRule{ContractRule: r, rule: cr})
	}
	at := time.Now()
	b.Run("writer", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			o := benchPortOrder{OrderID: "o-" + strconv.Itoa(i), CustomerID: "c-1", Amount: 12.5, Currency: "EUR", PlacedAt: at}
			var err error
			if sinkRecord, err = w.record(o.OrderID, &o, time.Time{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		var header [5]byte
		for b.Loop() {
			i++
			o := benchPortOrder{OrderID: "o-" + strconv.Itoa(i), CustomerID: "c-1", Amount: 12.5, Currency: "EUR", PlacedAt: at}
			body, err := avro.Marshal(schema, &o)
			if err != nil {
				b.Fatal(err)
			}
			r := &kgo.Record{Topic: "t", Key: []byte(o.OrderID), Value: append(header[:5:5], body...), Headers: []kgo.RecordHeader{
				{Key: HeaderSpecVersion, Value: specVersionValue},
				{Key: HeaderID, Value: strconv.AppendUint([]byte("0123456789abcdef-"), uint64(i), 10)},
				{Key: HeaderSource, Value: w.source},
				{Key: HeaderType, Value: portRecordTypeValue},
				{Key: HeaderTime, Value: time.Now().UTC().AppendFormat(nil, time.RFC3339Nano)},
				{Key: HeaderSubject, Value: w.subject},
				{Key: HeaderContentType, Value: contentTypeValue},
				{Key: HeaderRun, Value: w.run},
			}}
			sinkRecord = r
		}
	})
}

var sinkRecord *kgo.Record

package events_test

import (
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/meshbone/meshbone/pkg/events"
)

// BenchmarkRuleEval measures one rule over a typed and a generic record.
func BenchmarkRuleEval(b *testing.B) {
	env, err := events.NewRuleEnv(avro.MustParse(ruleSchema))
	if err != nil {
		b.Fatal(err)
	}
	r, err := env.Compile("amount > 0")
	if err != nil {
		b.Fatal(err)
	}
	typed := &ruleOrder{OrderID: "o-1", Amount: 12.5, Currency: "EUR"}
	generic := map[string]any{"order_id": "o-1", "amount": 12.5, "currency": "EUR"}
	for name, rec := range map[string]any{"typed": typed, "generic": generic} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := r.Eval(rec); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

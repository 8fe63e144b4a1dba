package events_test

import (
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/meshbone/meshbone/pkg/events"
)

const ruleSchema = `{"type": "record", "name": "Order", "fields": [
	{"name": "order_id", "type": "string"},
	{"name": "amount", "type": "double"},
	{"name": "currency", "type": "string"},
	{"name": "coupon", "type": ["null", "string"], "default": null},
	{"name": "items", "type": {"type": "array", "items": "string"}},
	{"name": "placed_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
	{"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}}
]}`

type ruleOrder struct {
	OrderID  string    `avro:"order_id"`
	Amount   float64   `avro:"amount"`
	Currency string    `avro:"currency"`
	Coupon   *string   `avro:"coupon"`
	Items    []string  `avro:"items"`
	PlacedAt time.Time `avro:"placed_at"`
	Price    *big.Rat  `avro:"price"`
}

func TestRuleEval(t *testing.T) {
	env, err := events.NewRuleEnv(avro.MustParse(ruleSchema))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	coupon := "SPRING"
	typed := ruleOrder{OrderID: "o-1", Amount: 12.5, Currency: "EUR", Coupon: &coupon, Items: []string{"a", "b"}, PlacedAt: at, Price: big.NewRat(1999, 100)}
	generic := map[string]any{"order_id": "o-1", "amount": 12.5, "currency": "EUR", "coupon": "SPRING", "items": []any{"a", "b"}, "placed_at": at, "price": big.NewRat(1999, 100)}
	noCoupon := map[string]any{"order_id": "o-2", "amount": -1.0, "currency": "EURO", "items": []any{}, "placed_at": at, "price": big.NewRat(0, 1)}
	cases := []struct {
		rule   string
		record any
		want   bool
		err    bool
	}{
		{"amount >= 0 && currency.size() == 3", typed, true, false},
		{"amount >= 0 && currency.size() == 3", &typed, true, false},
		{"amount >= 0 && currency.size() == 3", generic, true, false},
		{"amount >= 0 && currency.size() == 3", noCoupon, false, false},
		{"coupon != null && coupon.startsWith('SP')", typed, true, false},
		{"coupon != null && coupon.startsWith('SP')", generic, true, false},
		{"coupon == null", noCoupon, true, false},    // left out of the map: null
		{"coupon == null", ruleOrder{}, true, false}, // a nil pointer: null
		{"coupon.size() > 0", noCoupon, false, true}, // a null where a value is needed
		{"size(items) == 2 && 'b' in items", typed, true, false},
		{"size(items) == 2 && 'b' in items", generic, true, false},
		{"placed_at < timestamp('2027-01-01T00:00:00Z')", typed, true, false},
		{"placed_at < timestamp('2027-01-01T00:00:00Z')", generic, true, false},
		{"price > 19.0 && price < 20.0", typed, true, false},
		{"price > 19.0 && price < 20.0", generic, true, false},
		{"amount > 0", 42, false, true}, // not a record
	}
	for _, tc := range cases {
		r, err := env.Compile(tc.rule)
		if err != nil {
			t.Fatalf("%s: %v", tc.rule, err)
		}
		got, err := r.Eval(tc.record)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s on %T: got %v, %v; want %v, error %v", tc.rule, tc.record, got, err, tc.want, tc.err)
		}
	}
}

// An order with its money in an embedded pointer, to read a promoted field
// through a nil pointer.
type money struct {
	Amount   float64 `avro:"amount"`
	Currency string  `avro:"currency"`
}

type embeddedOrder struct {
	OrderID string `avro:"order_id"`
	*money
}

func TestRuleEvalEmbedded(t *testing.T) {
	env, err := events.NewRuleEnv(avro.MustParse(ruleSchema))
	if err != nil {
		t.Fatal(err)
	}
	r, err := env.Compile("amount > 0 && currency == 'EUR'")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Eval(embeddedOrder{OrderID: "o", money: &money{Amount: 1, Currency: "EUR"}}); !ok || err != nil {
		t.Errorf("on promoted fields: %v, %v", ok, err)
	}
	// Through a nil embedded pointer: no panic; the fields read as null, so
	// the rule does not hold (null == 'EUR' is false, so no error either).
	if ok, err := r.Eval(&embeddedOrder{OrderID: "o"}); ok {
		t.Errorf("without the embedded struct: %v, %v", ok, err)
	}
}

func TestRuleCompileErrors(t *testing.T) {
	env, err := events.NewRuleEnv(avro.MustParse(ruleSchema))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"amout > 0":                      "1:1: undeclared reference to 'amout' (did you mean 'amount'?)",
		"amount +":                       "1:9: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}",
		"amount * 2.0":                   "1:1: must be a bool expression, this one is double",
		"currency.size() == '3'":         "1:17: found no matching overload for '_==_' applied to '(int, string)'",
		"true &&\n  order_id.size() > x": "2:21: undeclared reference to 'x'",
		"  ":                             "1:1: empty rule",
	}
	for rule, want := range cases {
		_, err := env.Compile(rule)
		var ce *events.RuleCompileError
		if !errors.As(err, &ce) {
			t.Fatalf("%q: error %v is not a *RuleCompileError", rule, err)
		}
		if err.Error() != want {
			t.Errorf("%q:\n got %s\nwant %s", rule, err, want)
		}
	}
	if _, err := events.NewRuleEnv(avro.MustParse(`"string"`)); err == nil {
		t.Error("a rule environment for a schema that is not a record")
	}
}

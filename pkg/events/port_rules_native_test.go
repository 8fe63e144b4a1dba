package events

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hamba/avro/v2"
)

type nativeRec struct {
	ID     string   `avro:"id"`
	Amount float64  `avro:"amount"`
	Qty    int64    `avro:"qty"`
	Code   string   `avro:"code"`
	Note   *string  `avro:"note"`
	Ok     bool     `avro:"ok"`
	Score  *float64 `avro:"score"`
}

// TestNativeRulesAgreeWithCEL evaluates rules of the shapes the native
// evaluator covers on random records, typed and generic, and checks that
// whenever it answers, CEL's interpreter gives the same verdict without an
// error; and that it does answer on ordinary records.
func TestNativeRulesAgreeWithCEL(t *testing.T) {
	env, err := NewRuleEnv(avro.MustParse(`{"type": "record", "name": "R", "fields": [
		{"name": "id", "type": "string"}, {"name": "amount", "type": "double"}, {"name": "qty", "type": "long"},
		{"name": "code", "type": "string"}, {"name": "note", "type": ["null", "string"], "default": null},
		{"name": "ok", "type": "boolean"}, {"name": "score", "type": ["null", "double"], "default": null}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rules := []string{
		"amount > 0", "amount >= 0.0 && code.size() == 3", "qty < 10 || amount <= -1.5", "!(qty == 3)",
		"amount == 3.0", "qty != 2", "code in ['EUR', 'USD', 'GBP']", "qty in [1, 2, 3]", "amount > qty", "code < 'M'", "id >= code",
		"note == null", "note != null && note.startsWith('a')", "note.size() > 1", "code.endsWith('R') || code.contains('S')",
		"ok", "!ok && amount > -qty", "score > 0.5", "score == null || score < 0.5", "ok == true", "note == 'ab'",
		"-amount < 3", "qty > 9007199254740993", "amount != amount",
	}
	codes := []string{"EUR", "USD", "GBP", "E", "", "SEK", "ÉUR", "Mx"}
	notes := []*string{nil, ptrTo("a"), ptrTo("ab"), ptrTo(""), ptrTo("xyz")}
	scores := []*float64{nil, ptrTo(0.1), ptrTo(0.9), ptrTo(math.NaN())}
	amounts := []float64{0, -0.0, 1, -1.5, 3, 2.5, math.Inf(1), math.NaN(), 9007199254740993}
	qtys := []int64{0, 1, 2, 3, -3, 10, 1 << 60}
	rng := rand.New(rand.NewPCG(1, 2))
	answered := 0
	for _, src := range rules {
		r, err := env.Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if r.native == nil {
			t.Fatalf("%s: not compiled natively", src)
		}
		for range 300 {
			rec := nativeRec{
				ID: codes[rng.IntN(len(codes))], Amount: amounts[rng.IntN(len(amounts))], Qty: qtys[rng.IntN(len(qtys))],
				Code: codes[rng.IntN(len(codes))], Note: notes[rng.IntN(len(notes))], Ok: rng.IntN(2) == 0, Score: scores[rng.IntN(len(scores))],
			}
			generic := map[string]any{"id": rec.ID, "amount": rec.Amount, "qty": rec.Qty, "code": rec.Code, "ok": rec.Ok}
			if rec.Note != nil {
				generic["note"] = *rec.Note
			}
			if rec.Score != nil {
				generic["score"] = *rec.Score
			} else if rng.IntN(2) == 0 {
				generic["score"] = nil
			}
			for _, in := range []any{rec, &rec, generic} {
				got, ok := r.native.evalRecord(in)
				if !ok {
					continue
				}
				answered++
				want, err := r.evalCEL(in)
				if err != nil || got != want {
					t.Fatalf("%s on %+v (%T): native %v, CEL %v, %v", src, rec, in, got, want, err)
				}
			}
		}
	}
	if answered < len(rules)*300*3/2 {
		t.Errorf("the native evaluator answered %d times of %d", answered, len(rules)*300*3)
	}
	// Shapes it leaves to CEL.
	for _, src := range []string{"code + 'x' == 'EURx'", "size([1, 2]) == 2", "amount + 1.0 > 2.0", "code.matches('^E')", "qty > 0 ? ok : !ok"} {
		r, err := env.Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if r.native != nil {
			t.Errorf("%s: compiled natively", src)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

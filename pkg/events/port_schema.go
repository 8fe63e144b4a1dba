package events

import (
	"context"

	"github.com/hamba/avro/v2"
)

// Schema returns the Avro schema registered under id, from the decoder's
// cache or, the first time, from the registry (then cached). Readers that
// compile rules over a port's records (NewRuleEnv) use it to get the port's
// schema. Errors are *DecodeError.
func (d *PortDecoder) Schema(ctx context.Context, id int) (avro.Schema, error) {
	d.mu.RLock()
	s, ok := d.schemas[id]
	d.mu.RUnlock()
	if ok {
		return s, nil
	}
	s, err := fetchSchema(ctx, d.reg, id)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.schemas[id] = s
	d.mu.Unlock()
	return s, nil
}

package registrar

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// schemaCache keeps the registry's schema texts by id (ids are immutable),
// so that comparing a re-posted descriptor with the view costs no registry
// call after the first.
type schemaCache struct {
	mu   sync.RWMutex
	byID map[int]string
}

// schemaText returns the text of the schema with the given id.
func (s *Service) schemaText(ctx context.Context, id int) (string, error) {
	s.schemas.mu.RLock()
	text, ok := s.schemas.byID[id]
	s.schemas.mu.RUnlock()
	if ok {
		return text, nil
	}
	ss, err := s.reg.SchemaByID(ctx, id)
	if err != nil {
		return "", unavailable(err, "schema registry: look up schema id %d", id)
	}
	s.rememberSchema(id, ss.Schema)
	return ss.Schema, nil
}

func (s *Service) rememberSchema(id int, text string) {
	s.schemas.mu.Lock()
	s.schemas.byID[id] = text
	s.schemas.mu.Unlock()
}

// canonicalSchema rewrites JSON text compactly with sorted object keys, so
// that two layouts of one schema compare equal. Text that is not JSON is
// returned trimmed.
func canonicalSchema(text string) string {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return strings.TrimSpace(text)
	}
	out, err := json.Marshal(v) // encoding/json sorts map keys
	if err != nil {
		return strings.TrimSpace(text)
	}
	return string(out)
}

// parseSchema parses Avro text with a cache of its own, so that named types
// of one product never leak into another's.
func parseSchema(text string) (avro.Schema, error) {
	return avro.ParseWithCache(text, "", &avro.SchemaCache{})
}

// notFound reports whether a registry error says the subject or version does
// not exist.
func notFound(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// registryStatus returns the HTTP status of a registry error, or 0.
func registryStatus(err error) int {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

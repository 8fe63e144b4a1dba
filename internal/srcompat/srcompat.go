// Package srcompat gives the in-process schema registry (franz-go's srfake)
// the compatibility check it lacks: srfake answers every POST
// /compatibility/subjects/{subject}/versions[/{version}] with
// is_compatible=true. Intercept answers it as a Confluent registry does,
// for Avro, with hamba/avro: under the subject's compatibility level (its
// own, else the global one), against the version asked, or for the versions
// route against the latest version (every version under a transitive
// level); with verbose=true the answer carries the reasons. A subject that
// does not exist, a version that does not, or a schema that is not Avro is
// left to srfake.
//
// meshctl dev and the hermetic tests (internal/testkit) install it, so that
// the registrar's compatibility checks mean on srfake what they mean on a
// real registry.
package srcompat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// Install adds the compatibility check to reg.
func Install(reg *srfake.Registry) { reg.Intercept(Intercept(reg)) }

// Intercept returns the interceptor that answers reg's compatibility
// checks.
func Intercept(reg *srfake.Registry) srfake.Interceptor {
	return func(w http.ResponseWriter, r *http.Request) bool {
		rest, ok := strings.CutPrefix(r.URL.Path, "/compatibility/subjects/")
		if r.Method != http.MethodPost || !ok {
			return false
		}
		subject, version, ok := strings.Cut(rest, "/versions")
		if !ok || (version != "" && !strings.HasPrefix(version, "/")) {
			return false
		}
		version = strings.TrimPrefix(version, "/")
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(data)) // for srfake, should it answer
		var body struct {
			Schema     string `json:"schema"`
			SchemaType string `json:"schemaType"`
		}
		if err != nil || json.Unmarshal(data, &body) != nil {
			return false
		}
		if body.SchemaType != "" && !strings.EqualFold(body.SchemaType, sr.TypeAvro.String()) {
			return false
		}
		versions, level, ok := against(reg, subject, version)
		if !ok {
			return false
		}
		next, err := avro.ParseWithCache(body.Schema, "", &avro.SchemaCache{})
		if err != nil {
			answer(w, http.StatusUnprocessableEntity, map[string]any{"error_code": 42201, "message": "invalid schema: " + err.Error()})
			return true
		}
		var messages []string
		for _, v := range versions {
			messages = append(messages, check(reg, subject, v, level, next)...)
		}
		res := map[string]any{"is_compatible": len(messages) == 0}
		if r.URL.Query().Get("verbose") == "true" {
			res["messages"] = messages
		}
		answer(w, http.StatusOK, res)
		return true
	}
}

// against returns the versions to check a schema against and the subject's
// level; false when srfake should answer.
func against(reg *srfake.Registry, subject, version string) ([]int, sr.CompatibilityLevel, bool) {
	var all []int
	if !get(reg, "/subjects/"+url.PathEscape(subject)+"/versions", &all) || len(all) == 0 {
		return nil, 0, false
	}
	var cfg struct {
		Level sr.CompatibilityLevel `json:"compatibilityLevel"`
	}
	if !get(reg, "/config/"+url.PathEscape(subject)+"?defaultToGlobal=true", &cfg) {
		return nil, 0, false
	}
	latest := all[len(all)-1]
	switch {
	case version == "" && strings.HasSuffix(cfg.Level.String(), "_TRANSITIVE"):
		return all, cfg.Level, true
	case version == "" || version == "latest" || version == "-1":
		return []int{latest}, cfg.Level, true
	}
	v, err := strconv.Atoi(version)
	if _, ok := reg.GetSchema(subject, v); err != nil || !ok {
		return nil, 0, false
	}
	return []int{v}, cfg.Level, true
}

// check returns why next is not compatible with version v of subject under
// level, or nothing.
func check(reg *srfake.Registry, subject string, v int, level sr.CompatibilityLevel, next avro.Schema) []string {
	ss, ok := reg.GetSchema(subject, v)
	if !ok {
		return nil
	}
	cur, err := avro.ParseWithCache(ss.Schema.Schema, "", &avro.SchemaCache{})
	if err != nil {
		return []string{fmt.Sprintf("version %d does not parse: %v", v, err)}
	}
	var out []string
	compat := avro.NewSchemaCompatibility()
	l := level.String()
	if strings.HasPrefix(l, "BACKWARD") || strings.HasPrefix(l, "FULL") {
		if err := compat.Compatible(next, cur); err != nil {
			out = append(out, fmt.Sprintf("BACKWARD against version %d: the new schema cannot read its data: %v", v, err))
		}
	}
	if strings.HasPrefix(l, "FORWARD") || strings.HasPrefix(l, "FULL") {
		if err := compat.Compatible(cur, next); err != nil {
			out = append(out, fmt.Sprintf("FORWARD against version %d: it cannot read the new schema's data: %v", v, err))
		}
	}
	return out
}

// get asks reg's own API, without the network.
func get(reg *srfake.Registry, path string, into any) bool {
	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), into) == nil
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

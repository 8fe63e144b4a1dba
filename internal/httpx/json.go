package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// WriteJSON answers status with v as JSON (HTML characters left as they
// are), never to be cached. A v that cannot be encoded is answered 500 with
// an internal error instead, since nothing was written yet.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		status = http.StatusInternalServerError
		fmt.Fprintf(&buf, "{\"error\":{\"code\":%q,\"message\":\"encode the answer\"}}\n", CodeInternal)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

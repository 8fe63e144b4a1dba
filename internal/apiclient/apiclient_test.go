package apiclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/internal/httpx"
)

func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			if got := r.Header.Get("Authorization"); got != "Bearer s3cret" {
				http.Error(w, "no token: "+got, http.StatusUnauthorized)
				return
			}
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"method":"`+r.Method+`","type":"`+r.Header.Get("Content-Type")+`","body":`+string(body)+`}`)
		case "/denied":
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"error":{"code":"forbidden","message":"sales may not touch marketing.leads","field":"metadata.domain"}}`)
		case "/written":
			httpx.WriteError(w, &httpx.Error{Status: http.StatusNotFound, Code: httpx.CodeNotFound, Message: "no product sales.x", Field: "id"})
		case "/plain":
			http.Error(w, "upstream down", http.StatusBadGateway)
		case "/garbled":
			io.WriteString(w, `{"method":`)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := &Client{Token: "s3cret"}

	var out struct {
		Method, Type string
		Body         map[string]int
	}
	if err := c.Do(ctx, http.MethodPost, srv.URL+"/echo", []byte(`{"n":7}`), "application/json", &out); err != nil {
		t.Fatal(err)
	}
	if out.Method != "POST" || out.Type != "application/json" || out.Body["n"] != 7 {
		t.Fatalf("echo = %+v", out)
	}

	err := c.Do(ctx, http.MethodGet, srv.URL+"/denied", nil, "", nil)
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Code != "forbidden" || ae.Field != "metadata.domain" {
		t.Fatalf("denied: %#v", err)
	}
	if want := "forbidden (HTTP 403): sales may not touch marketing.leads [field metadata.domain]"; err.Error() != want {
		t.Fatalf("denied: %q, want %q", err, want)
	}

	// What a server writes with httpx comes back as it was written.
	err = c.Do(ctx, http.MethodGet, srv.URL+"/written", nil, "", nil)
	if !errors.As(err, &ae) || *ae != (Error{Status: 404, Code: "not_found", Message: "no product sales.x", Field: "id"}) {
		t.Fatalf("written: %#v", err)
	}

	err = c.Do(ctx, http.MethodGet, srv.URL+"/plain", nil, "", nil)
	if want := "Bad Gateway (HTTP 502): upstream down"; err == nil || err.Error() != want {
		t.Fatalf("plain: %v, want %q", err, want)
	}

	err = (&Client{}).Do(ctx, http.MethodGet, srv.URL+"/echo", nil, "", nil)
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("without a token: %v", err)
	}

	err = c.Do(ctx, http.MethodGet, srv.URL+"/garbled", nil, "", &out)
	if err == nil || !strings.Contains(err.Error(), "/garbled: decode answer") {
		t.Fatalf("garbled: %v", err)
	}
}

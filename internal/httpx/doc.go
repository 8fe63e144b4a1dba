// Package httpx is the HTTP plumbing meshbone's two APIs (the registrar's
// and the indexer's) share: the one error answer, {"error": {"code",
// "message", "field"}}, that both servers write and internal/apiclient
// decodes; writing a JSON answer; and instrumenting a handler with its
// status and duration. Each service keeps its own routes, metrics and the
// mapping of its errors to answers.
package httpx

// Package ops holds what every meshbone service needs to be operated: the
// HTTP server for /healthz, /readyz and /metrics (and the service's own
// routes), the zap logger and its adapter to the SDK's Logger, and flag
// defaults from MESHBONE_* environment variables.
package ops
